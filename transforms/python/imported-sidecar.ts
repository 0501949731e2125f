// Concern: a health sidecar class imported from another file of the repository
// (`self.health = HealthSidecar(self.health_check_port, self.health_status)` then `.start()`), a
// whole HTTP server on the health port the base binds too. When that class provably serves
// nothing but GET /health, answered from the callable it is given, the sidecar is the base's
// health endpoint under another name: the construction and its start()/stop() go, and the
// callable's fields reach the base's health hook. Anything less certain is left alone (the port
// plan then refuses the agent, naming the sidecar's file and line).
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransformContext } from '../../src/lang/python/transform-context.js';
import type { StatementProposal } from '../../src/analysis/removal-plan.js';
import { CALL_NODES, walkAgentCode } from '../../src/analysis/agent-model.js';
import { normPort, serverSubclasses } from '../../src/analysis/ports.js';
import { portHandoffs } from '../../src/analysis/port-handoff.js';
import { selfMembers } from '../../src/analysis/infra.js';
import { baseName, type PyClass } from '../../src/lang/python/module-model.js';
import { callee, selfAttribute, stringValue, walk } from '../../src/lang/python/syntax.js';
import { foreignSendIn, selfAliases, SENDS } from '../../src/analysis/registry-send.js';
import { HTTP_HANDLER_BASE } from './health-patterns.js';
import { importedCallee } from './port-plan.js';
import { extraRoutesAnswerAll, modulePathTables } from './health-extra-routes.js';
import { payloadScope } from './remove-health.js';

export interface ImportedSidecar {
  /** The callee as the agent's file spells it (`HealthSidecar`, `kit.HealthSidecar`). */
  callee: string;
  attr: string;
  proposals: StatementProposal[];
}

/** Methods of a sidecar the agent may call on it (lifecycle only: they start and stop its server). */
const LIFECYCLE = new Set(['start', 'stop', 'shutdown', 'close']);

export function importedHealthSidecars(ctx: PythonTransformContext, healthPorts: Set<string>): ImportedSidecar[] {
  const out: ImportedSidecar[] = [];
  for (const a of ctx.agent.assignments) {
    if (a.stmt.type !== 'expression_statement' || a.value?.type !== 'call') continue;
    // HealthSidecar(...) or HealthSidecar(...).start() where start() returns the sidecar.
    let call = a.value;
    let chained: string | null = null;
    const fn0 = call.childForFieldName('function')!;
    if (fn0.type === 'attribute' && fn0.childForFieldName('object')?.type === 'call') {
      chained = fn0.childForFieldName('attribute')!.text;
      if ((call.childForFieldName('arguments')?.namedChildCount ?? 0) > 0) continue;
      call = fn0.childForFieldName('object')!;
    }
    // A sidecar class of the agent's own file (not another agent), or one imported from the repository.
    const fnNode = call.childForFieldName('function');
    const own = fnNode?.type === 'identifier' && fnNode.text !== ctx.agent.cls.name && !ctx.otherClasses.has(fnNode.text) ? ctx.module.classes.find((c) => c.name === fnNode.text) : undefined;
    const target = own ? { module: ctx.module, file: ctx.file, name: own.name } : importedCallee(ctx, fnNode);
    const cls = target?.module.classes.find((c) => c.name === target.name);
    if (!target || !cls) continue;
    if (chained && !(LIFECYCLE.has(chained) && returnsSelf(cls, chained))) continue;
    if (ctx.agent.assignments.filter((x) => x.attr === a.attr).length !== 1 || ctx.external(a.attr).length) continue;
    // The port it binds is the health port the base binds.
    const handoffs = portHandoffs(call, target.module, serverSubclasses(target.module.root), [], undefined, cls.name);
    if (handoffs.length !== 1 || !healthPorts.has(normPort(handoffs[0]!.arg.text) + (handoffs[0]!.param.off ? `+${handoffs[0]!.param.off}` : ''))) continue;
    // Its own heartbeat to the registry (a method posting the base's record to the base's /register) is
    // the base's registration: those methods are not routes; any other send keeps the sidecar.
    const beats = registryBeats(ctx, cls);
    const tablesRead = new Set<string>();
    if (!beats || !servesOnlyHealth(cls, target.module, beats.methods, tablesRead)) continue;
    // The one other argument is the status callable the class calls for its answer (besides, with a
    // heartbeat, the agent's name and ports its record is built from).
    const args = call.childForFieldName('arguments')?.namedChildren ?? [];
    const status = statusArgument(beats.methods.length ? args.filter((x) => !identityArgument(ctx, x, healthPorts)) : args, handoffs[0]!.arg);
    if (!status) continue;
    const { arg, given } = status;
    const param = paramFor(cls, args, arg);
    if (!param || !callsParam([cls.node], param)) continue;
    const payload = payloadOf(ctx, given, a.method);
    if (!payload) continue;
    // Thread.start() runs the sidecar's own run(): its server.
    const thread = cls.bases.some((b) => /^(threading\.)?Thread$/.test(baseName(b) ?? ''));
    const uses = lifecycleUses(ctx, a.attr, a.stmt, (member) => LIFECYCLE.has(member) && (cls.methods.has(member) || (thread && member === 'start')));
    if (!uses) continue;
    // Paths of a module path table besides /health (/ready, /live) go only when every one moves onto the
    // base's route hook, read with the class's names for the callable standing for what the agent gave.
    let payloadRegion: StatementProposal['payloadRegion'];
    if (tablesRead.size) {
      // (the one request handler, not the class: the sidecar's own self.port is not the agent's)
      const handlers = handlersOf(cls.node, target.module, beats.methods, new Set());
      const scope = { ...payloadScope(ctx), params: new Map(paramAliases(cls, param).map((n) => [n, given] as [string, SyntaxNode])) };
      if (handlers?.length !== 1 || !extraRoutesAnswerAll(ctx, handlers[0]!, scope)) continue;
      payloadRegion = { node: handlers[0]!, scope };
    }
    const name = call.childForFieldName('function')!.text.replace(/\s+/g, '');
    const proposals: StatementProposal[] = [{
      node: a.stmt,
      symbol: a.attr,
      finding: 'health',
      reason: `${name} (${target.file}) serves only GET /health from ${given.text.replace(/\s+/g, ' ')} on the health port the base serves: the base's health hook reports it now`,
      // Only with the member: kept (still used), its construction stays with its start()/stop().
      requires: [a.attr],
      ...(payloadRegion ? { payloadRegion } : {}),
      ...(payload.method ? { payloadMethods: [payload.method] } : { payloadCalls: [{ call: payload.call!, members: payload.members }] }),
    }];
    if (beats.methods.length) proposals[0]!.reason += `, and its heartbeat (${beats.methods.map((m) => `${cls.name}.${m.childForFieldName('name')!.text}()`).join(', ')}) posts the record the base registers to the base's registry`;
    for (const u of uses) proposals.push({ node: u, symbol: a.attr, finding: 'health', reason: `starts or stops the ${name} health sidecar, which goes`, requires: [a.attr] });
    // A class of the agent's own file goes with its last construction (the plan keeps it while anything else builds it).
    if (own) ctx.plan.proposeMember({ name: own.name, kind: 'module-class', finding: 'health', reason: `health sidecar class (HTTP /health${beats.methods.length ? ' and registry heartbeat' : ''}) the base replaces`, safeToKeep: true });
    out.push({ callee: name, attr: a.attr, proposals });
  }
  return out;
}

/** What the agent may call on the server such a helper returns: its shutdown. */
const SERVER_LIFECYCLE = new Set(['shutdown', 'server_close']);

/**
 * A module function of the agent's file (or imported from another file of the repository) that the agent
 * calls with the health port the base binds and a status callable, and that does nothing but build an HTTP
 * server on that port whose request handlers serve only GET /health from the callable, start its thread and
 * return it (`self.health_server = start_health_thread(self.health_status, self.health_check_port)`): that
 * call is the base's health endpoint under another name. The call and the returned server's shutdown go,
 * the callable's fields reach the base's health hook; the function and its handler stay for their other
 * users (a mock server, a package re-export), since nothing proposes them.
 */
export function healthHelperCalls(ctx: PythonTransformContext, healthPorts: Set<string>): ImportedSidecar[] {
  const out: ImportedSidecar[] = [];
  for (const [method, m] of ctx.agent.methods) {
    walkAgentCode(m, (call) => {
      if (call.type !== 'call') return;
      const fnNode = call.childForFieldName('function');
      const local = fnNode?.type === 'identifier' ? ctx.module.functions.get(fnNode.text) : undefined;
      const target = local ? null : importedCallee(ctx, fnNode);
      const fn = local ?? target?.module.functions.get(target.name);
      if (!fn || fn.isAsync || fn.decorators.length) return;
      const module = local ? ctx.module : target!.module;
      const name = local ? fn.name : fnNode!.text.replace(/\s+/g, '');
      // The call is a statement of its own, or the one value of `self.<attr> = ...`.
      const assigned = ctx.agent.assignments.find((a) => a.value?.id === call.id && a.stmt.type === 'expression_statement');
      const stmt = assigned ? assigned.stmt : call.parent?.type === 'expression_statement' ? call.parent : null;
      if (!stmt) return;
      const servers = serverSubclasses(module.root);
      const handoffs = portHandoffs(call, module, servers, [], undefined, local ? undefined : target!.name);
      if (handoffs.length !== 1 || !healthPorts.has(normPort(handoffs[0]!.arg.text) + (handoffs[0]!.param.off ? `+${handoffs[0]!.param.off}` : ''))) return;
      const shape = onlyServes(fn.body, servers);
      if (!shape || (assigned && !shape.returnsServer)) return;
      const handlers = handlersOf(fn.node, module);
      if (!handlers) return;
      const args = call.childForFieldName('arguments')?.namedChildren ?? [];
      const status = statusArgument(args, handoffs[0]!.arg);
      if (!status) return;
      const { arg, given } = status;
      const param = arg.type === 'keyword_argument'
        ? fn.params.find((p) => p.name === arg.childForFieldName('name')!.text)?.name
        : fn.params[args.filter((x) => x.type !== 'keyword_argument').findIndex((x) => x.id === arg.id)]?.name;
      if (!param || !callsParam([fn.node, ...handlers], param)) return;
      const payload = payloadOf(ctx, given, method);
      if (!payload) return;
      let uses: SyntaxNode[] = [];
      if (assigned) {
        if (ctx.agent.assignments.filter((x) => x.attr === assigned.attr).length !== 1 || ctx.external(assigned.attr).length) return;
        const found = lifecycleUses(ctx, assigned.attr, assigned.stmt, (member) => SERVER_LIFECYCLE.has(member));
        if (!found) return;
        uses = found;
      }
      const where = local ? `line ${fn.line}` : `${target!.file}:${fn.line}`;
      const symbol = assigned?.attr ?? `${name}()`;
      const proposals: StatementProposal[] = [{
        node: stmt,
        symbol,
        finding: 'health',
        reason: `${name}() (${where}) serves only GET /health from ${given.text.replace(/\s+/g, ' ')} on the health port the base serves: the base's health hook reports it now (${name}() stays for its other callers)`,
        ...(payload.method ? { payloadMethods: [payload.method] } : { payloadCalls: [{ call: payload.call!, members: payload.members }] }),
      }];
      for (const u of uses) proposals.push({ node: u, symbol, finding: 'health', reason: `shuts down the server ${name}() started, which goes`, requires: [symbol] });
      out.push({ callee: name, attr: symbol, proposals });
    }, CALL_NODES);
  }
  return out;
}

/**
 * A function body that only builds a request handler (`type(...)` or a nested class), builds one HTTP server,
 * runs its serve_forever in a thread and returns it (or nothing); logging aside. Null for anything else.
 */
function onlyServes(body: SyntaxNode, servers: ReturnType<typeof serverSubclasses>): { returnsServer: boolean } | null {
  let server: string | null = null;
  let thread: string | null = null;
  let served = false;
  let returnsServer = false;
  for (const st of body.namedChildren) {
    if (st.type === 'comment') continue;
    if (st.type === 'class_definition') continue; // a nested handler (handlersOf proves it serves only health)
    if (st.type === 'expression_statement' && st.namedChildCount === 1 && st.namedChild(0)!.type === 'string') continue;
    const t = st.text.replace(/\s+/g, '');
    const built = /^(\w+)=([\w.]+)\(\(/.exec(t);
    if (/^\w+=type\(/.test(t)) continue;
    if (built && !server && (servers.has(built[2]!.split('.').pop()!) || /(HTTPServer|TCPServer)$/.test(built[2]!))) {
      server = built[1]!;
      continue;
    }
    const serves = server ? new RegExp(`^(threading\\.)?Thread\\(target=${server}\\.serve_forever[,)]`) : null;
    if (serves && serves.test(t) && /\.start\(\)$/.test(t)) {
      served = true;
      continue;
    }
    const held = /^(\w+)=(.*)$/.exec(t);
    if (serves && held && !thread && serves.test(held[2]!)) {
      thread = held[1]!;
      continue;
    }
    if (thread && (t === `${thread}.start()` || new RegExp(`^${thread}\\.daemon=(True|False)$`).test(t))) {
      if (t === `${thread}.start()`) served = true;
      continue;
    }
    if (/^(_?logger|_?log|logging)\.\w+\(.*\)$/.test(t)) continue;
    if (server && t === `return${server}`) {
      returnsServer = true;
      continue;
    }
    return null;
  }
  return server && served ? { returnsServer } : null;
}

/** The one argument besides the port: the status callable (the argument, and its value when by keyword). */
function statusArgument(args: SyntaxNode[], port: SyntaxNode): { arg: SyntaxNode; given: SyntaxNode } | null {
  const others = args.filter((x) => x.id !== port.id && (x.type !== 'keyword_argument' || x.childForFieldName('value')?.id !== port.id));
  if (others.length !== 1) return null;
  const arg = others[0]!;
  return { arg, given: arg.type === 'keyword_argument' ? arg.childForFieldName('value')! : arg };
}

/** `def start(self): ...; return self` (every return gives the instance back). */
function returnsSelf(cls: PyClass, method: string): boolean {
  const fn = cls.methods.get(method);
  if (!fn) return false;
  let returns = 0;
  let other = false;
  walk(fn.body, (n) => {
    if (n.type === 'function_definition' || n.type === 'class_definition' || n.type === 'lambda') return false;
    if (n.type !== 'return_statement') return;
    returns++;
    if (n.namedChild(0)?.text !== 'self') other = true;
  });
  return returns > 0 && !other;
}

/**
 * The class answers HTTP GET on /health and nothing else: its request handlers (nested in it, or
 * module classes it names) define no request method but GET/HEAD, the only path it names is /health,
 * and it reads no module-level value or function that could route elsewhere.
 */
function servesOnlyHealth(cls: PyClass, module: HelperModule, beats: SyntaxNode[] = [], tablesRead?: Set<string>): boolean {
  if (cls.bases.some((b) => !/^(object|(threading\.)?Thread)$/.test(baseName(b) ?? ''))) return false;
  return handlersOf(cls.node, module, beats, tablesRead) !== null;
}

/**
 * The methods of the sidecar class that send HTTP requests, when every such request is the base's
 * registration (see foreignSendIn: the base's registry URL, its /register path, the base's record
 * fields); null when one sends anything else.
 */
function registryBeats(ctx: PythonTransformContext, cls: PyClass): { methods: SyntaxNode[] } | null {
  const methods: SyntaxNode[] = [];
  for (const m of cls.methods.values()) {
    let sends = false;
    walk(m.body, (n) => {
      if (n.type === 'class_definition') return false;
      if (n.type === 'call' && SENDS.test(callee(n) ?? '')) sends = true;
    });
    if (!sends) continue;
    const aliases = selfAliases(m);
    const assigned = (attr: string) => [...cls.methods.values()].flatMap((x) => {
      const out: Array<{ value: SyntaxNode | null }> = [];
      walk(x.body, (n) => {
        if (n.type === 'assignment' && n.childForFieldName('left')?.text === `self.${attr}`) out.push({ value: n.childForFieldName('right') });
      });
      return out;
    });
    if (foreignSendIn(ctx, m.body, aliases, assigned)) return null;
    methods.push(m.node);
  }
  return { methods };
}

/** The agent's name (its class name, self.name) or one of its ports (the base's port or health port): what a registry record is built from. */
function identityArgument(ctx: PythonTransformContext, arg: SyntaxNode, healthPorts: Set<string>): boolean {
  const v = arg.type === 'keyword_argument' ? arg.childForFieldName('value')! : arg;
  if (stringValue(v) === ctx.agent.cls.name || /^self\.(agent_)?name$/.test(v.text)) return true;
  const port = normPort(v.text);
  const names = Object.values(ctx.py.super_call.pass_through ?? {}).flat();
  return healthPorts.has(port) || names.includes(port);
}

type HelperModule = { classes: PyClass[]; functions: Map<string, unknown>; root: SyntaxNode };

/**
 * The request handlers of a sidecar (a class, or a module function building the server), when they
 * and the sidecar serve only GET /health; null when anything else may be served.
 */
function handlersOf(owner: SyntaxNode, module: HelperModule, beats: SyntaxNode[] = [], tablesRead?: Set<string>): SyntaxNode[] | null {
  const moduleClasses = module.classes;
  // Module-level values and functions the code could route through (`ROUTES = {"/stats": ...}`): not proven.
  const moduleNames = new Set<string>(module.functions.keys());
  for (const st of module.root.namedChildren) {
    const e = st.type === 'expression_statement' ? st.namedChild(0) : null;
    if (e?.type === 'assignment') walk(e.childForFieldName('left')!, (x) => {
      if (x.type === 'identifier') moduleNames.add(x.text);
    });
  }
  const handlers: SyntaxNode[] = [];
  const isHandler = (def: SyntaxNode) => (def.childForFieldName('superclasses')?.namedChildren ?? []).some((b) => HTTP_HANDLER_BASE.test(baseName(b) ?? ''));
  walk(owner, (n) => {
    if (n.type === 'class_definition' && n.id !== owner.id && isHandler(n)) handlers.push(n);
  });
  walk(owner, (n) => {
    if (n.type !== 'identifier') return;
    const other = moduleClasses.find((c) => c.name === n.text && c.node.id !== owner.id);
    if (other && isHandler(other.node) && !handlers.some((h) => h.id === other.node.id)) handlers.push(other.node);
  });
  if (!handlers.length) return null;
  let ok = true;
  for (const h of [owner, ...handlers]) {
    walk(h, (n) => {
      if (beats.some((b) => b.id === n.id)) return false;
      if (n.type === 'function_definition' && /^do_/.test(n.childForFieldName('name')!.text) && !/^do_(GET|HEAD)$/.test(n.childForFieldName('name')!.text)) ok = false;
      if (n.type === 'string_content' && /^\//.test(n.text) && n.text.replace(/\/+$/, '') !== '/health' && !pathTrim(n)) ok = false;
    });
  }
  // (in the request handlers: the sidecar's own methods may log through a module logger). A caller that will
  // have health-extra-routes answer the other paths accepts a module path table, said in tablesRead.
  const tables = tablesRead ? modulePathTables(module.root) : new Map<string, string[]>();
  for (const h of handlers) {
    walk(h, (n) => {
      if (n.type !== 'identifier' || !moduleNames.has(n.text) || (n.parent?.type === 'attribute' && n.parent.childForFieldName('attribute')?.id === n.id)) return;
      if (tables.has(n.text)) tablesRead!.add(n.text);
      else ok = false;
    });
  }
  return ok ? handlers : null;
}

/** A "/" given to a method trimming or splitting the path (`self.path.rstrip("/")`), not a route. */
function pathTrim(content: SyntaxNode): boolean {
  const str = content.parent;
  const call = str?.parent?.type === 'argument_list' ? str.parent.parent : null;
  const fn = call?.type === 'call' ? call.childForFieldName('function') : null;
  return content.text === '/' && fn?.type === 'attribute' && /^(r|l)?strip$|^r?split$|^(starts|ends)with$/.test(fn.childForFieldName('attribute')!.text);
}

/** The constructor parameter an argument binds (by keyword, or by position after self). */
function paramFor(cls: PyClass, args: SyntaxNode[], arg: SyntaxNode): string | null {
  const init = cls.methods.get('__init__');
  if (!init) return null;
  if (arg.type === 'keyword_argument') {
    const name = arg.childForFieldName('name')!.text;
    return init.params.some((p) => p.name === name) ? name : null;
  }
  const index = args.filter((x) => x.type !== 'keyword_argument').findIndex((x) => x.id === arg.id);
  return init.params.filter((p) => p.name !== 'self')[index]?.name ?? null;
}

/**
 * The names the class's code holds a constructor parameter under: the parameter, and a local bound to the
 * attribute __init__ stores it in (`self.status_fn = status_fn`, then `status_fn = self.status_fn` before a
 * nested handler class closes over it).
 */
function paramAliases(cls: PyClass, param: string): string[] {
  const attrs = new Set<string>();
  const init = cls.methods.get('__init__');
  if (init) walk(init.body, (n) => {
    if (n.type === 'assignment' && n.childForFieldName('right')?.text === param) {
      const a = selfAttribute(n.childForFieldName('left')!);
      if (a) attrs.add(a);
    }
  });
  const out = new Set([param]);
  walk(cls.node, (n) => {
    if (n.type !== 'assignment' || n.childForFieldName('left')?.type !== 'identifier') return;
    const a = selfAttribute(n.childForFieldName('right')!);
    if (a && attrs.has(a)) out.add(n.childForFieldName('left')!.text);
  });
  return [...out];
}

/**
 * Does the code call what the parameter holds (`status_fn()`, `self.status_fn()`, a local bound to either,
 * the attribute through a local standing for the instance (`outer = self` in __init__, the nested
 * handler calling `outer.status_fn()`), or a handler class built with it as a class attribute:
 * `type("H", (Handler,), {"source": staticmethod(status_fn)})` then `self.source()` in Handler)?
 */
function callsParam(nodes: SyntaxNode[], param: string): boolean {
  const names = new Set([param]);
  // (a name every assignment of which in the code binds self)
  const selves = new Set<string>();
  const rebound = new Set<string>();
  for (const root of nodes) walk(root, (n) => {
    if (n.type !== 'assignment' || n.childForFieldName('left')?.type !== 'identifier') return;
    (n.childForFieldName('right')?.text === 'self' ? selves : rebound).add(n.childForFieldName('left')!.text);
  });
  for (const r of rebound) selves.delete(r);
  for (let i = 0; i < 3; i++) {
    for (const root of nodes) walk(root, (n) => {
      if (n.type === 'call' && n.childForFieldName('function')?.text === 'type') {
        const dict = n.childForFieldName('arguments')?.namedChildren[2];
        for (const pair of dict?.type === 'dictionary' ? dict.namedChildren : []) {
          const key = pair.type === 'pair' ? stringValue(pair.childForFieldName('key')!) : null;
          const value = pair.childForFieldName('value')?.text.replace(/\s+/g, '') ?? '';
          if (key && /^\w+$/.test(key) && [...names].some((x) => value === x || value === `staticmethod(${x})`)) names.add(`self.${key}`);
        }
      }
      if (n.type !== 'assignment') return;
      const right = n.childForFieldName('right')?.text.replace(/\s+/g, '') ?? '';
      const left = n.childForFieldName('left')?.text.replace(/\s+/g, '') ?? '';
      if (names.has(right) && /^(self\.)?\w+$/.test(left)) {
        names.add(left);
        if (left.startsWith('self.')) for (const alias of selves) names.add(`${alias}.${left.slice(5)}`);
      }
    });
  }
  let called = false;
  for (const root of nodes) walk(root, (n) => {
    if (n.type === 'call' && names.has(n.childForFieldName('function')!.text.replace(/\s+/g, '')) && (n.childForFieldName('arguments')?.namedChildCount ?? 0) === 0) called = true;
  });
  return called;
}

/**
 * What the hook calls for the callable: an agent method (`self.health_status`), a member's method
 * (`self.monitor.snapshot`), or a lambda's dict read on the agent (`lambda: {"queued": len(self.q)}`).
 */
function payloadOf(ctx: PythonTransformContext, given: SyntaxNode, method: string): { method?: string; call?: string; members: string[] } | null {
  const text = given.text.replace(/\s+/g, '');
  const own = /^self\.(\w+)$/.exec(text)?.[1];
  if (own) {
    const fn = ctx.agent.methods.get(own);
    if (!fn || fn.isAsync || fn.decorators.length || fn.params.some((p) => p.name !== 'self' && p.kind === 'plain')) return null;
    return { method: own, members: [...selfMembers(fn.body)] };
  }
  const held = /^self\.(\w+)\.(\w+)$/.exec(text);
  if (held) return ctx.agent.attributes.has(held[1]!) && !ctx.agent.methods.has(held[1]!) ? { call: `${text}()`, members: [held[1]!] } : null;
  if (given.type !== 'lambda' || given.childForFieldName('parameters') || given.childForFieldName('body')?.type !== 'dictionary') return null;
  const body = given.childForFieldName('body')!;
  // Free names other than self must not be locals of the method that built it (the hook cannot see them).
  const fn = ctx.agent.methods.get(method);
  const locals = new Set<string>(fn?.params.map((p) => p.name) ?? []);
  if (fn) walk(fn.body, (n) => {
    if (n.type === 'assignment' && n.childForFieldName('left')?.type === 'identifier') locals.add(n.childForFieldName('left')!.text);
  });
  locals.delete('self');
  let free = false;
  walk(body, (n) => {
    if (n.type === 'attribute') {
      walk(n.childForFieldName('object')!, (o) => {
        if (o.type === 'identifier' && locals.has(o.text)) free = true;
      });
      return false;
    }
    if (n.type === 'identifier' && locals.has(n.text)) free = true;
  });
  if (free) return null;
  const members = new Set<string>();
  walk(body, (n) => {
    const m = selfAttribute(n);
    if (m) members.add(m);
  });
  return { call: body.text, members: [...members] };
}

/**
 * Every other mention of self.<attr> in the agent is a statement `self.<attr>.start()` / `.stop()` of the
 * sidecar's lifecycle: those statements, or null when the agent does anything else with it.
 */
function lifecycleUses(ctx: PythonTransformContext, attr: string, assignment: SyntaxNode, defines: (member: string) => boolean): SyntaxNode[] | null {
  const out: SyntaxNode[] = [];
  let ok = true;
  for (const m of ctx.agent.methods.values()) {
    walkAgentCode(m, (n) => {
      if (!ok) return false;
      if (n.id === assignment.id) return false;
      if (selfAttribute(n) !== attr) return;
      const member = n.parent?.type === 'attribute' && n.parent.childForFieldName('object')?.id === n.id ? n.parent : null;
      const name = member?.childForFieldName('attribute')!.text ?? '';
      const call = member?.parent?.type === 'call' ? member.parent : null;
      const stmt = call?.parent?.type === 'expression_statement' ? call.parent : null;
      if (!stmt || !defines(name) || (call!.childForFieldName('arguments')?.namedChildCount ?? 0) > 0) ok = false;
      else out.push(stmt);
      return false;
    });
  }
  return ok ? out : null;
}
