// A closure-factory service (`function createFanout(opts) { let server; let timer; ...
// async function start() {...} async function stop() {...} return { start, stop, ... }; }`)
// moved onto the base: a class extending the base is declared inside the closure, so its hooks
// read the closure's state as the legacy code did. Its healthStatus() answers what the legacy
// /health answered, its runOnce() is the interval's callback, its onStop() the business part of
// stop(); the factory's start()/stop() call the agent's, so the object it returns keeps its shape
// for its callers. The health server, registration, deregistration, timer and SIGTERM handler
// go (the base does them); a hand-made metrics push becomes reportMetric() calls.
//
// Only one shape is converted, statement by statement: every statement of start() and stop()
// must be recognised as infrastructure or kept as business in a place that runs at the same
// moment. Anything else returns a refusal that says which statement, and the file stays the
// named skip it was.
import { Node, SyntaxKind, VariableDeclarationKind, type ArrowFunction, type Block, type FunctionDeclaration, type FunctionExpression, type MethodDeclaration, type ObjectLiteralExpression, type SourceFile, type Statement } from 'ts-morph';
import { factoryFunction } from '../../src/lang/typescript/closure-factory.js';
import { EditBuffer, indentAt, indentUnit, reindent } from '../../src/lang/typescript/edits.js';
import { healthPayload, isServerCreation, isSetInterval, pushKind, routesIn, signalStatements } from '../../src/lang/typescript/patterns.js';
import { descendantsOfKind } from '../../src/lang/typescript/syntax.js';
import { BASE_SENDS, registrationExtraFields } from './remove-registry-push.js';
import { moduleConstant, recordFields } from './registration-record.js';

/**
 * A function the factory declares in its body: `async function start() {}` or, in the arrow
 * style, `const start = async () => {}` (the statement is what goes when it is removed).
 */
interface InnerFunction {
  name: string;
  fn: FunctionDeclaration | ArrowFunction | FunctionExpression | MethodDeclaration;
  stmt: Statement;
  nameNode: Node;
  /** Where the function is written (its statement, or the object's member): its body is indented from there. */
  at: Node;
}

export type FactoryConversion = { text: string; className: string; removed: string[]; warnings: string[] } | { refuse: string };

interface Plan {
  edits: EditBuffer;
  removed: string[];
}

/**
 * Convert the block-bodied factory `name` (a function declaration) of `sf`; `baseClass` is the
 * base's class name and `importLine` the statement that brings it into the file.
 */
export function closureFactoryToAgent(sf: SourceFile, name: string, baseClass: string, importLine: string, recordHook: string | null = null): FactoryConversion {
  // In TypeScript the class's hooks are written as the base declares them (protected, with their
  // return types), so the class compiles under strict settings and noImplicitOverride.
  const typed = /\.[cm]?tsx?$/.test(sf.getFilePath());
  const hook = (sig: string, js: string) => (typed ? `protected override ${sig}` : js);
  const fn = factoryFunction(sf, name);
  const body = fn?.getBody();
  if (!fn || !body || !Node.isBlock(body)) return { refuse: `${name} is not a function with a block body (only that form is converted)` };
  const text = sf.getFullText();
  const plan: Plan = { edits: new EditBuffer(text), removed: [] };
  const stmts = body.getStatements();
  const returnedExpr = stmts.find(Node.isReturnStatement)?.getExpression();
  const inner = innerFunctions(stmts);
  let ret: ObjectLiteralExpression;
  let start: InnerFunction;
  let stop: InnerFunction;
  if (returnedExpr && Node.isIdentifier(returnedExpr)) {
    // `const agent = { start: async () => {...}, stop: ... }; return agent;`: the object stays what the
    // factory returns (its callers keep every member), its own start and stop delegate to the agent.
    const held = heldObjectMembers(sf, stmts, returnedExpr);
    if ('refuse' in held) return { refuse: `${name} returns ${returnedExpr.getText()} (line ${returnedExpr.getStartLineNumber()}), ${held.refuse}` };
    ({ object: ret, start, stop } = held);
  } else {
    if (!returnedExpr || !Node.isObjectLiteralExpression(returnedExpr)) return { refuse: `${name} does not return an object literal` };
    ret = returnedExpr;
    const returned = (re: RegExp) => ret.getProperties().find((p) => Node.isShorthandPropertyAssignment(p) && re.test(p.getName()) && inner.has(p.getName()));
    if (!returned(/^start$/) || !returned(/^stop$/)) return { refuse: `${name} does not return start and stop as functions it declares` };
    start = inner.get('start')!;
    stop = inner.get('stop')!;
  }
  if (!start.fn.isAsync() || !stop.fn.isAsync()) return { refuse: 'start() and stop() are not both async (the base\'s are awaited)' };
  if (!Node.isBlock(start.fn.getBody()) || !Node.isBlock(stop.fn.getBody())) return { refuse: 'start() and stop() do not both have a block body' };

  // --- start(): health server, its listen, registration, the interval; the rest stays around agent.start().
  let server: string | null = null;
  let health: string | null = null;
  let port: string | null = null;
  let timer: string | null = null;
  let tick: { body: string; ms: string } | null = null;
  const infra: Statement[] = [];
  const registrations = new Set<InnerFunction>();
  const registrationTexts: string[] = [];
  // The name a registration sent as a string literal: the agent's name on the base (the registry's record keeps it).
  const registeredNames: string[] = [];
  // Fields a registration sent beyond the base's record, which the base's record hook now adds.
  const recordProps: string[] = [];
  const recordable = (registration: Node, where: string) => {
    const extra = unsentRegistration(registration, where, recordHook ? fn! : null);
    if (extra && 'props' in extra) recordProps.push(...extra.props);
    return extra && 'refuse' in extra ? extra : null;
  };
  const startStmts = start.fn.getBody()!.asKindOrThrow(SyntaxKind.Block).getStatements();
  for (let i = 0; i < startStmts.length; i++) {
    const st = startStmts[i]!;
    const assigned = assignment(st);
    if (assigned && Node.isCallExpression(assigned.right) && isServerCreation(assigned.right)) {
      const handler = assigned.right.getArguments()[0];
      const payload = healthPayload(handler);
      const routes = handler ? [...routesIn(handler)] : [];
      if (!payload || !Node.isObjectLiteralExpression(payload) || routes.some((r) => r !== '/health') || !/writeHead\(\s*200\b/.test(handler!.getText()) || /\b5\d\d\b/.test(handler!.getText())) {
        return { refuse: `the server of start() (line ${st.getStartLineNumber()}) serves more than a /health that always answers 200` };
      }
      const own = descendantsOfKind(payload, SyntaxKind.Identifier).find((id) => {
        const d = id.getSymbol()?.getDeclarations()[0];
        return !!d && (Node.isParameterDeclaration(d) || Node.isVariableDeclaration(d) || Node.isBindingElement(d)) && handler!.containsRange(d.getPos(), d.getEnd());
      });
      if (own) return { refuse: `the /health answer reads ${own.getText()}, the handler's own (line ${own.getStartLineNumber()})` };
      server = assigned.left;
      health = payload.getProperties().map((p) => p.getText()).join(', ');
      infra.push(st);
      plan.removed.push(`health server (line ${st.getStartLineNumber()})`);
      continue;
    }
    // `server!.listen(...)`: TypeScript's non-null assertion on the `let server: Server | null`.
    if (server && new RegExp(`\\b${escape(server)}!?\\.listen\\(`).test(st.getText())) {
      const listen = descendantsOfKind(st, SyntaxKind.CallExpression).find((c) => c.getExpression().getText().replace('!.', '.') === `${server}.listen`);
      const arg = listen?.getArguments()[0];
      if (!arg || !Node.isIdentifier(arg)) return { refuse: `the health server listens on something other than a variable (line ${st.getStartLineNumber()})` };
      port = arg.getText();
      infra.push(st);
      continue;
    }
    const called = calledInner(st, inner);
    if (called && pushKind(called.fn.getBody()!) === 'registry' && /\/register\b/.test(called.fn.getText()) && !/deregister/.test(called.fn.getText())) {
      if (Node.isVariableStatement(called.stmt) && called.stmt.getDeclarations().length !== 1) return { refuse: `${called.name} is declared with other variables (line ${called.stmt.getStartLineNumber()})` };
      const extra = recordable(called.fn, `${called.name}(), line ${called.stmt.getStartLineNumber()}`);
      if (extra) return extra;
      registrations.add(called);
      registrationTexts.push(called.fn.getText());
      registeredNames.push(...sentName(called.fn));
      infra.push(st);
      plan.removed.push(`registration (${called.name}(), line ${called.stmt.getStartLineNumber()})`);
      continue;
    }
    const inline = registryGuard(st, startStmts[i - 1], '/register') ?? (registryFetch(st, '/register') ? st : null);
    if (inline) {
      const extra = recordable(st, `line ${st.getStartLineNumber()}`);
      if (extra) return extra;
      if (inline !== st) infra.push(inline);
      registrationTexts.push(st.getText());
      registeredNames.push(...sentName(st));
      infra.push(st);
      plan.removed.push(`registration (line ${st.getStartLineNumber()})`);
      continue;
    }
    if (assigned && Node.isCallExpression(assigned.right) && isSetInterval(assigned.right)) {
      const [cb, ms] = assigned.right.getArguments();
      // `setInterval(check, ms)`: a function of the factory, called as the callback would be (without arguments).
      const named = cb && Node.isIdentifier(cb) ? inner.get(cb.getText()) : undefined;
      const fnCb = named?.fn ?? cb;
      if (!fnCb || !ms || !(Node.isArrowFunction(fnCb) || Node.isFunctionExpression(fnCb) || Node.isFunctionDeclaration(fnCb)) || fnCb.getParameters().length > 0 || fnCb.isAsync()) {
        return { refuse: `the interval at line ${st.getStartLineNumber()} is not a plain callback and period` };
      }
      const cbBody = fnCb.getBody()!;
      tick = { body: named ? `${cb!.getText()}();` : Node.isBlock(cbBody) ? blockInner(text, cbBody) : `${cbBody.getText()};`, ms: ms.getText() };
      timer = assigned.left;
      infra.push(st);
      plan.removed.push(`interval loop (line ${st.getStartLineNumber()})`);
      continue;
    }
  }
  if (!server || !health || !port) return { refuse: 'start() does not serve its health from a server it creates' };
  const first = startStmts.indexOf(infra[0]!);
  const last = startStmts.indexOf(infra[infra.length - 1]!);
  const interleaved = startStmts.slice(first, last + 1).find((s) => !infra.includes(s));
  if (interleaved) return { refuse: `start() does business work between its infrastructure (line ${interleaved.getStartLineNumber()}): where it would run on the base is not provable` };

  // --- stop(): clearInterval, deregistration, closing the server; the rest becomes onStop().
  const stopStmts = stop.fn.getBody()!.asKindOrThrow(SyntaxKind.Block).getStatements();
  const stopInfra = new Set<Statement>();
  for (let i = 0; i < stopStmts.length; i++) {
    const st = stopStmts[i]!;
    // `if (timer) clearInterval(timer)`: the guard strict null checks ask for around a nullable timer.
    const t = st.getText().replace(/;$/, '').replace(new RegExp(`^if \\(${escape(timer ?? '')}\\) `), '');
    if (timer && (t === `clearInterval(${timer})` || t === `clearTimeout(${timer})`)) stopInfra.add(st);
    else if (closesOnly(st, server)) stopInfra.add(st);
    else {
      const guard = registryGuard(st, stopStmts[i - 1], '/deregister');
      if (guard) {
        stopInfra.add(guard);
        stopInfra.add(st);
        plan.removed.push(`deregistration (line ${st.getStartLineNumber()})`);
      }
    }
  }
  const onStop = stopStmts.filter((s) => !stopInfra.has(s));
  if (onStop.some((s) => descendantsOfKind(s, SyntaxKind.ReturnStatement).length > 0 || Node.isReturnStatement(s))) return { refuse: 'stop() returns early: its business part cannot become onStop()' };

  // --- what else reads the removed pieces: the server and timer variables, the registration functions.
  const removedNodes: Node[] = [...infra, ...stopInfra, ...[...registrations].map((f) => f.stmt)];
  const inRemoved = (n: Node) => removedNodes.some((r) => r.getStart() <= n.getStart() && n.getEnd() <= r.getEnd());
  for (const v of [server, timer].filter((x): x is string => !!x)) {
    const decl = body.getVariableDeclaration(v);
    if (!decl) return { refuse: `${v} is not a variable of ${name}'s closure` };
    const refs = descendantsOfKind(sf, SyntaxKind.Identifier).filter((id) => id.getText() === v && id !== decl.getNameNode() && id.getSymbol() === decl.getSymbol());
    const live = refs.find((r) => !inRemoved(r));
    if (live) return { refuse: `${v} is read at line ${live.getStartLineNumber()} besides the infrastructure the base replaces` };
    const vs = decl.getVariableStatement()!;
    if (vs.getDeclarations().length !== 1) return { refuse: `${v} is declared with other variables (line ${vs.getStartLineNumber()})` };
    removedNodes.push(vs);
  }
  for (const f of registrations) {
    const refs = descendantsOfKind(sf, SyntaxKind.Identifier).filter((id) => id.getText() === f.name && id !== f.nameNode);
    const live = refs.find((r) => !inRemoved(r));
    if (live) return { refuse: `${f.name}() is called at line ${live.getStartLineNumber()} besides start()` };
  }

  // --- the metrics push, as samples recorded for the base (which pushes them to its own job).
  const pushes = [...inner.values()].filter((f) => f !== start && f !== stop && !registrations.has(f) && pushKind(f.fn.getBody()!) === 'metrics');
  const agentVar = unique(sf, 'agent');
  const q = /'/.test(text.slice(0, 4000)) || !/"/.test(text.slice(0, 4000)) ? "'" : '"';
  const unit = indentUnit(text);
  const bodyIndent = indentAt(text, stmts[0]!.getStart());
  for (const f of pushes) {
    const fb = f.fn.getBody()!;
    const samples = Node.isBlock(fb) ? pushedSamples(fb) : null;
    if (!samples) return { refuse: `the metrics push of ${f.name}() (line ${f.stmt.getStartLineNumber()}) is not a list of samples the base can record` };
    const totals = samples.filter((s) => s.name.endsWith('_total'));
    const gauges = samples.filter((s) => !s.name.endsWith('_total'));
    const map = unique(sf, 'pushedTotals');
    const ind = bodyIndent + unit;
    const lines = [`${ind}// Recorded for the base, which pushes them to the agent's own job.`];
    if (totals.length > 0) {
      const pairs = `[${totals.map((s) => `[${q}${s.name}${q}, ${s.value}]`).join(', ')}]`;
      lines.push(`${ind}for (const [metric, value] of ${typed ? `${pairs} as Array<[string, number]>` : pairs}) {`);
      // reportMetric() adds what it is given to a _total counter: give it what grew since the last call.
      lines.push(`${ind}${unit}${agentVar}.reportMetric(metric, value - (${map}.get(metric) ?? 0));`);
      lines.push(`${ind}${unit}${map}.set(metric, value);`);
      lines.push(`${ind}}`);
    }
    for (const g of gauges) lines.push(`${ind}${agentVar}.reportMetric(${q}${g.name}${q}, ${g.value});`);
    if (totals.length > 0) plan.edits.insert(lineStart(text, f.stmt.getStart()), `${bodyIndent}const ${map} = new Map${typed ? '<string, number>' : ''}(); // what each _total counter was at the last push\n`);
    plan.edits.replace(fb.getStart(), fb.getEnd(), `{\n${lines.join('\n')}\n${bodyIndent}}`);
    plan.removed.push(`metrics push (${f.name}(), line ${f.stmt.getStartLineNumber()}): its samples recorded with reportMetric()`);
  }

  // --- SIGTERM/SIGINT handlers that only stop the factory's service and exit 0: the base does that.
  const signals = signalStatements(sf);
  for (const s of signals) {
    if (!stopsAndExits(s, name)) return { refuse: `the signal handler at line ${s.getStartLineNumber()} does more than stop the service and exit` };
    removedNodes.push(s);
    plan.removed.push(`signal handler (line ${s.getStartLineNumber()})`);
  }

  // --- the class, declared right before start(), after the closure state its options read.
  const service = pascal(name.replace(/^(create|make|build|new)(?=[A-Z])/, ''));
  const className = unique(sf, /Agent$/.test(service) ? service : `${service}Agent`);
  for (const id of [port, tick?.ms].filter((x): x is string => !!x)) {
    const d = body.getVariableDeclaration(id);
    if (d && d.getStart() > start.stmt.getStart()) return { refuse: `${id} is declared after start()` };
  }
  const ind = indentAt(text, start.stmt.getStart());
  const members: string[] = [
    `${ind}${unit}${hook('healthStatus(): Record<string, unknown>', 'healthStatus()')} {\n${ind}${unit}${unit}return { ...super.healthStatus(), ${health} };\n${ind}${unit}}`,
  ];
  if (tick) members.push(`${ind}${unit}${hook('runOnce(): void', 'runOnce()')} {\n${reindent(tick.body, indentOfBlock(tick.body), ind + unit + unit)}\n${ind}${unit}}`);
  if (onStop.length > 0) {
    const kept = text.slice(lineStart(text, onStop[0]!.getStart()), withTrailingComment(text, onStop[onStop.length - 1]!.getEnd()));
    members.push(`${ind}${unit}${hook('async onStop(): Promise<void>', 'async onStop()')} {\n${reindent(kept, indentAt(text, onStop[0]!.getStart()), ind + unit + unit)}\n${ind}${unit}}`);
  }
  if (recordProps.length > 0) members.push(`${ind}${unit}${hook(`${recordHook}(): Record<string, unknown>`, `${recordHook}()`)} {\n${ind}${unit}${unit}return { ...super.${recordHook}(), ${recordProps.join(', ')} };\n${ind}${unit}}`);
  const options = [`name`, `healthCheckPort: ${port}`, ...(tick ? [`intervalMs: ${tick.ms}`] : [])];
  if (!body.getVariableDeclaration('name') && !fn.getParameters().some((p) => p.getName() === 'name')) options[0] = `name: ${registeredNames.length === 1 ? registeredNames[0] : `${q}${name}${q}`}`;
  // The legacy registered its health port as its port. The base registers AGENT_PORT as `port` and
  // binds nothing there: callers found through the registry would reach nothing, so AGENT_PORT is
  // the port the base serves health on (as registered-health-port.ts does for classes).
  // `{ name, port }`: the shorthand sends the health port when that variable is named port.
  const registeredHealth = registrationTexts.some((t) => new RegExp(`(^|[^\\w$])port:\\s*${escape(port)}\\b`).test(t) || (port === 'port' && /[{,]\s*port\s*[,}]/.test(t)));
  const declared = [
    ...(registeredHealth
      ? [
          `${ind}// The legacy registration sent the health port as the agent's port; the base registers AGENT_PORT there and binds nothing on it.`,
          `${ind}process.env.AGENT_PORT = process.env.HEALTH_CHECK_PORT?.trim() || String(${port});`,
        ]
      : []),
    `${ind}// The service on ${baseClass}, declared in the closure so that its hooks read the closure's state.`,
    `${ind}class ${className} extends ${baseClass} {`,
    members.join('\n\n'),
    `${ind}}`,
    `${ind}const ${agentVar} = new ${className}({ ${options.join(', ')} });`,
    '',
    '',
  ].join('\n');
  plan.edits.insert(lineStart(text, start.stmt.getStart()), declared);
  const sb = start.fn.getBody() as Block;
  const inStart = (s: Statement[]) => s.map((x) => text.slice(lineStart(text, x.getStart()), withTrailingComment(text, x.getEnd()))).join('\n');
  const before = startStmts.slice(0, first);
  const after = startStmts.slice(last + 1);
  const startInd = indentAt(text, start.at.getStart());
  plan.edits.replace(sb.getStart(), sb.getEnd(), `{\n${[before.length ? inStart(before) : null, `${startInd + unit}await ${agentVar}.start();`, after.length ? inStart(after) : null].filter(Boolean).join('\n')}\n${startInd}}`);
  const tb = stop.fn.getBody() as Block;
  const stopInd = indentAt(text, stop.at.getStart());
  plan.edits.replace(tb.getStart(), tb.getEnd(), `{\n${stopInd + unit}await ${agentVar}.stop();\n${stopInd}}`);
  for (const n of removedNodes) if (!infra.includes(n as Statement) && !stopInfra.has(n as Statement)) plan.edits.removeNode(n);

  // --- the base's import, after the file's last import or require.
  const imports = sf.getStatements().filter((s) => Node.isImportDeclaration(s) || (Node.isVariableStatement(s) && /\brequire\(/.test(s.getText())));
  const anchor = imports[imports.length - 1];
  if (anchor) plan.edits.insert(anchor.getEnd(), `\n${importLine}`);
  else plan.edits.insert(0, `${importLine}\n`);

  // Imports only the removed code used (`http` for the server) go too.
  let out = plan.edits.apply();
  out = dropUnusedHttp(out);
  return {
    text: out,
    className,
    removed: plan.removed,
    warnings: [`${name}() was a closure factory: its service is now class ${className} extends ${baseClass}, declared inside it; ${name}() keeps returning { ${ret.getProperties().map((p) => (Node.isShorthandPropertyAssignment(p) || Node.isPropertyAssignment(p) || Node.isMethodDeclaration(p) ? p.getName() : '…')).join(', ')} }, its start()/stop() starting and stopping the agent`],
  };
}

/**
 * A registration sending fields the base's does not (capabilities, a version, tags): removing it
 * would take them out of the registry's record, keeping it would race the base's registration
 * (whichever lands last is the record). With a base whose record hook can add them (`factory` given)
 * and each field read from what is set before the service starts (module constants, the factory's
 * parameters and consts), they are returned as `props` for the class's override of the hook; else the
 * refusal names the fields, and a person decides.
 */
function unsentRegistration(registration: Node, where: string, factory: FactoryFunction | null): { refuse: string } | { props: string[] } | null {
  const extra = registrationExtraFields(registration);
  if (!extra) return null;
  const props = factory ? recordFields(registration, extra, 'name', (id) => moduleConstant(id) || closureConstant(factory, id), () => false) : null;
  if (props) return { props };
  return {
    refuse:
      `its registration (${where}) sends ${extra.fields.map((f) => `'${f}'`).join(', ')} (line ${extra.line}), which the base's registration does not send (it sends ${BASE_SENDS.join(', ')}): ` +
      `removed, the registry's record would lose them; kept beside the base's, the two would race for the record (a person decides whether the registry's readers need them)`,
  };
}

type FactoryFunction = NonNullable<ReturnType<typeof factoryFunction>>;

/** A parameter of the factory nothing assigns, or a `const` of its own body: set before its service starts. */
function closureConstant(factory: FactoryFunction, id: Node): boolean {
  const decl = id.getSymbol()?.getDeclarations()[0];
  if (!decl) return false;
  if (Node.isParameterDeclaration(decl)) {
    if (decl.getParent() !== factory) return false;
    const symbol = decl.getSymbol();
    return !descendantsOfKind(factory, SyntaxKind.BinaryExpression).some((b) => {
      const k = b.getOperatorToken().getKind();
      return k >= SyntaxKind.FirstAssignment && k <= SyntaxKind.LastAssignment && Node.isIdentifier(b.getLeft()) && b.getLeft().getSymbol() === symbol;
    });
  }
  if (!Node.isVariableDeclaration(decl)) return false;
  const stmt = decl.getVariableStatement();
  return !!stmt && stmt.getDeclarationKind() === VariableDeclarationKind.Const && stmt.getParent() === factory.getBody();
}

/** The functions declared directly in the factory's body, by name. */
function innerFunctions(stmts: Statement[]): Map<string, InnerFunction> {
  const out = new Map<string, InnerFunction>();
  for (const st of stmts) {
    if (Node.isFunctionDeclaration(st) && st.getName()) out.set(st.getName()!, { name: st.getName()!, fn: st, stmt: st, nameNode: st.getNameNode()!, at: st });
    if (!Node.isVariableStatement(st)) continue;
    for (const d of st.getDeclarations()) {
      const init = d.getInitializer();
      if (Node.isIdentifier(d.getNameNode()) && init && (Node.isArrowFunction(init) || Node.isFunctionExpression(init))) out.set(d.getName(), { name: d.getName(), fn: init, stmt: st, nameNode: d.getNameNode(), at: st });
    }
  }
  return out;
}

/**
 * `const agent = { start: async () => {...}, stop: async () => {...}, ... }` held by the returned
 * identifier: its start and stop members, when the rewrite can replace their bodies and leave the
 * object (every other member included) as the factory's callers know it. Not when a spread after
 * them may replace them, when they read `this` (moved into the class it would be the agent, not the
 * object), or when code reassigns the object or its start/stop.
 */
function heldObjectMembers(sf: SourceFile, stmts: Statement[], id: Node): { object: ObjectLiteralExpression; start: InnerFunction; stop: InnerFunction } | { refuse: string } {
  const decl = stmts.filter(Node.isVariableStatement).flatMap((st) => st.getDeclarations().map((d) => ({ st, d }))).find(({ d }) => d.getName() === id.getText());
  const object = decl?.d.getInitializer();
  if (!decl || !object || !Node.isObjectLiteralExpression(object)) return { refuse: 'which is not a const holding an object literal (only that form is converted)' };
  if (decl.st.getDeclarationKind() !== VariableDeclarationKind.Const || decl.st.getDeclarations().length !== 1) return { refuse: `declared with let/var or beside other variables (line ${decl.st.getStartLineNumber()}): what it holds when stopped is not provable` };
  const props = object.getProperties();
  const member = (key: string): InnerFunction | null => {
    const p = props.find((x): x is import('ts-morph').PropertyAssignment | MethodDeclaration => (Node.isPropertyAssignment(x) || Node.isMethodDeclaration(x)) && x.getName() === key);
    const fn = p && Node.isPropertyAssignment(p) ? p.getInitializer() : p;
    if (!p || !fn || !(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn) || Node.isMethodDeclaration(fn))) return null;
    return { name: key, fn, stmt: decl.st, nameNode: p.getNameNode(), at: p };
  };
  const start = member('start');
  const stop = member('stop');
  if (!start || !stop) return { refuse: 'an object whose start and stop are not both functions written in it (only that form is converted)' };
  const last = Math.max(props.indexOf(start.at as never), props.indexOf(stop.at as never));
  const spread = props.slice(last + 1).find(Node.isSpreadAssignment);
  if (spread) return { refuse: `whose spread ${spread.getText()} (line ${spread.getStartLineNumber()}) comes after its start and stop and may replace them` };
  const self = [start, stop].flatMap((f) => descendantsOfKind(f.fn, SyntaxKind.ThisKeyword))[0];
  if (self) return { refuse: `whose start or stop reads this (line ${self.getStartLineNumber()}): moved into the class it would be the agent, not the object` };
  const symbol = decl.d.getSymbol();
  const written = descendantsOfKind(sf, SyntaxKind.BinaryExpression).find((b) => {
    const k = b.getOperatorToken().getKind();
    if (k < SyntaxKind.FirstAssignment || k > SyntaxKind.LastAssignment) return false;
    const left = b.getLeft();
    const target = Node.isPropertyAccessExpression(left) && /^(start|stop)$/.test(left.getName()) ? left.getExpression() : left;
    return Node.isIdentifier(target) && target.getSymbol() === symbol;
  });
  if (written) return { refuse: `whose start or stop is assigned at line ${written.getStartLineNumber()}: what runs on start and stop is not provable` };
  // `restart: async () => { await agent.stop(); await agent.start(); }`: the legacy object starts again
  // after a stop; the base's start() and stop() each run once, so a restart would leave it stopped.
  const own = (e: Node) => (Node.isIdentifier(e) && e.getSymbol() === symbol) || (Node.isThisExpression(e) && object.containsRange(e.getPos(), e.getEnd()));
  const restart = descendantsOfKind(stmts[0]!.getParentOrThrow(), SyntaxKind.PropertyAccessExpression).find((a) => a.getName() === 'start' && own(a.getExpression()));
  if (restart) return { refuse: `whose start() is called by the factory's own code at line ${restart.getStartLineNumber()}: the base's agent starts once, a start after a stop would leave it stopped` };
  return { object, start, stop };
}

/**
 * `await fetch(`${REGISTRY_URL}/register`, {...}).catch((err) => log(...));`: one call of the
 * registry (and a failure only logged), nothing else.
 */
function registryFetch(st: Statement, route: string): boolean {
  if (!Node.isExpressionStatement(st) || pushKind(st) !== 'registry') return false;
  let e: Node = st.getExpression();
  if (Node.isAwaitExpression(e)) e = e.getExpression();
  if (Node.isCallExpression(e) && Node.isPropertyAccessExpression(e.getExpression()) && e.getExpression().asKindOrThrow(SyntaxKind.PropertyAccessExpression).getName() === 'catch') {
    e = e.getExpression().asKindOrThrow(SyntaxKind.PropertyAccessExpression).getExpression();
  }
  if (!Node.isCallExpression(e) || e.getExpression().getText() !== 'fetch') return false;
  const url = e.getArguments()[0];
  if (!url || !new RegExp(`\\}${route}\\b`).test(url.getText()) || /deregister/.test(url.getText())) return false;
  return descendantsOfKind(e, SyntaxKind.CallExpression).every((c) => c.getExpression().getText() === 'JSON.stringify');
}

/** The `name: '...'` string a registration sends ([] when it sends none, or not as a literal). */
function sentName(registration: Node): string[] {
  return descendantsOfKind(registration, SyntaxKind.PropertyAssignment)
    .filter((p) => p.getName() === 'name' && Node.isStringLiteral(p.getInitializer()))
    .map((p) => p.getInitializer()!.getText());
}

/** `x = <expr>;` */
function assignment(st: Statement): { left: string; right: Node } | null {
  if (!Node.isExpressionStatement(st)) return null;
  const e = st.getExpression();
  if (!Node.isBinaryExpression(e) || e.getOperatorToken().getKind() !== SyntaxKind.EqualsToken || !Node.isIdentifier(e.getLeft())) return null;
  return { left: e.getLeft().getText(), right: e.getRight() };
}

/** `await f();` / `f();` calling a function the factory declares. */
function calledInner(st: Statement, inner: Map<string, InnerFunction>): InnerFunction | null {
  if (!Node.isExpressionStatement(st)) return null;
  let e: Node = st.getExpression();
  if (Node.isAwaitExpression(e)) e = e.getExpression();
  if (!Node.isCallExpression(e) || e.getArguments().length > 0 || !Node.isIdentifier(e.getExpression())) return null;
  return inner.get(e.getExpression().getText()) ?? null;
}

/**
 * `const url = process.env.REGISTRY_URL; if (url) { await fetch(`${url}/register`, ...)... }`:
 * the if statement (and the local before it, returned) when it only calls the registry.
 */
function registryGuard(st: Statement, prev: Statement | undefined, route: string): Statement | null {
  if (!Node.isIfStatement(st) || st.getElseStatement()) return null;
  const cond = st.getExpression();
  if (!Node.isIdentifier(cond) || !prev || !Node.isVariableStatement(prev)) return null;
  const d = prev.getDeclarations();
  if (d.length !== 1 || d[0]!.getName() !== cond.getText() || d[0]!.getInitializer()?.getText() !== 'process.env.REGISTRY_URL') return null;
  const then = st.getThenStatement();
  const calls = descendantsOfKind(then, SyntaxKind.CallExpression).map((c) => c.getExpression().getText());
  if (!new RegExp(`\\$\\{${cond.getText()}\\}${route}\\b`).test(then.getText())) return null;
  if (!calls.every((c) => /^(fetch|JSON\.stringify|console\.(warn|error|log))$/.test(c) || /\.catch$/.test(c))) return null;
  // The local is read nowhere else after (the if is its only reader).
  return prev;
}

/**
 * `server.close()`, `server?.close()`, `await new Promise((resolve) => (server ? server.close(resolve) : resolve()))`:
 * nothing called but the server's close and the promise's own resolve.
 */
function closesOnly(st: Statement, server: string): boolean {
  const calls = descendantsOfKind(st, SyntaxKind.CallExpression);
  const closes = calls.filter((c) => c.getExpression().getText().replace('?.', '.') === `${server}.close`);
  if (closes.length === 0) return false;
  return calls.every((c) => {
    if (closes.includes(c)) return true;
    const callee = c.getExpression();
    const decl = Node.isIdentifier(callee) ? callee.getSymbol()?.getDeclarations()[0] : undefined;
    return !!decl && Node.isParameterDeclaration(decl) && st.containsRange(decl.getPos(), decl.getEnd());
  });
}

/** `process.on('SIGTERM', async () => { await x.stop(); process.exit(0); })` and its `.then` form. */
function stopsAndExits(s: Node, factory: string): boolean {
  const call = descendantsOfKind(s, SyntaxKind.CallExpression).find((c) => /^process\.(on|once)$/.test(c.getExpression().getText()));
  const cb = call?.getArguments()[1];
  if (!cb || !(Node.isArrowFunction(cb) || Node.isFunctionExpression(cb))) return false;
  const t = cb.getBody().getText().replace(/\s+/g, ' ');
  const m = /^\{ (?:await ([\w$]+)\.stop\(\); process\.exit\(0\);|(?:void )?([\w$]+)\.stop\(\)\.then\(\(\) => process\.exit\(0\)\);) \}$/.exec(t);
  if (!m) return false;
  // What it stops is the factory's service: a variable holding what the factory returned.
  const target = descendantsOfKind(cb, SyntaxKind.Identifier).find((i) => i.getText() === (m[1] ?? m[2]));
  const decl = target?.getSymbol()?.getDeclarations()[0];
  const init = decl && Node.isVariableDeclaration(decl) ? decl.getInitializer() : undefined;
  return !!init && Node.isCallExpression(init) && init.getExpression().getText() === factory;
}

/**
 * The samples a push sends: `name{agent="${x}"} ${value}` lines of a template (or a `+` chain of
 * templates), a label local (`const l = `{agent="${name}"}``) inlined. The agent label goes (the
 * base labels every sample with its name); any other label, or another shape, is null.
 */
function pushedSamples(fb: Block): Array<{ name: string; value: string }> | null {
  const locals = new Map<string, Node>();
  for (const s of fb.getStatements()) if (Node.isVariableStatement(s)) for (const d of s.getDeclarations()) if (d.getInitializer()) locals.set(d.getName(), d.getInitializer()!);
  const body = locals.get('body');
  if (!body) return null;
  const pieces: Array<string | Node> = [];
  const flatten = (e: Node): boolean => {
    while (Node.isParenthesizedExpression(e)) e = e.getExpression();
    if (Node.isBinaryExpression(e) && e.getOperatorToken().getKind() === SyntaxKind.PlusToken) return flatten(e.getLeft()) && flatten(e.getRight());
    if (Node.isNoSubstitutionTemplateLiteral(e) || Node.isStringLiteral(e)) return pieces.push(e.getLiteralText()), true;
    if (Node.isTemplateExpression(e)) {
      pieces.push(e.getHead().getLiteralText());
      for (const span of e.getTemplateSpans()) {
        const x = span.getExpression();
        const local = Node.isIdentifier(x) ? locals.get(x.getText()) : undefined;
        if (local && (Node.isTemplateExpression(local) || Node.isNoSubstitutionTemplateLiteral(local))) {
          if (!flatten(local)) return false;
        } else pieces.push(x);
        pieces.push(span.getLiteral().getLiteralText());
      }
      return true;
    }
    return false;
  };
  if (!flatten(body)) return null;
  let line = '';
  const values: Node[] = [];
  const out: Array<{ name: string; value: string }> = [];
  const end = (): boolean => {
    const t = line.trim();
    if (t !== '' && !t.startsWith('#')) {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{agent="(?:\u0000|[^"\\]*)"\})?\s+\u0000$/.exec(t);
      if (!m) return false;
      out.push({ name: m[1]!, value: values[values.length - 1]!.getText() });
    }
    line = '';
    values.length = 0;
    return true;
  };
  for (const p of pieces) {
    if (typeof p !== 'string') {
      line += '\u0000';
      values.push(p);
      continue;
    }
    const parts = p.split('\n');
    line += parts[0];
    for (const rest of parts.slice(1)) {
      if (!end()) return null;
      line = rest;
    }
  }
  if (!end()) return null;
  return out.length > 0 ? out : null;
}

function blockInner(text: string, b: Block): string {
  const stmts = b.getStatements();
  if (stmts.length === 0) return '';
  return text.slice(lineStart(text, stmts[0]!.getStart()), withTrailingComment(text, stmts[stmts.length - 1]!.getEnd()));
}

function indentOfBlock(block: string): string {
  return /^[ \t]*/.exec(block)![0];
}

/** A statement's end with the comment that closes its line (`await sweep(); // last round`): moved text keeps it. */
function withTrailingComment(text: string, end: number): number {
  return end + /^[ \t]*(\/\/[^\r\n]*)?/.exec(text.slice(end))![0].replace(/[ \t]+$/, '').length;
}

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf('\n', pos - 1) + 1;
}

function pascal(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function escape(s: string): string {
  return s.replace(/[$]/g, '\\$');
}

/** `base`, or base2, base3... when the file already uses the name. */
function unique(sf: SourceFile, base: string): string {
  const used = new Set(sf.getDescendantsOfKind(SyntaxKind.Identifier).map((i) => i.getText()));
  let n = base;
  for (let i = 2; used.has(n); i++) n = `${base}${i}`;
  return n;
}

/** `import http from 'node:http'` / `const http = require('node:http')` once nothing reads `http.` any more. */
function dropUnusedHttp(text: string): string {
  const decl = /^(?:import (\w+) from ['"](?:node:)?http['"];|const (\w+) = require\(['"](?:node:)?http['"]\);)[ \t]*\r?\n/m.exec(text);
  if (!decl) return text;
  const id = decl[1] ?? decl[2]!;
  const rest = text.slice(0, decl.index) + text.slice(decl.index + decl[0].length);
  return new RegExp(`\\b${id}\\b`).test(rest) ? text : rest;
}
