// Concern `registry`: registration through a helper of another module of the repository
// (`import { registerWithRegistry, deregisterFromRegistry } from '../lib/registry.js'`, called in
// start() with the agent's name and port, and its deregistration in stop()). Kept, the agent
// registered twice (the helper's entry and the base's) and deregistered twice. When the helper's
// body provably does nothing but POST <registry>/register (or /deregister) with what it is
// handed, and the calls hand it the agent's name (known before super()), the base's ports and
// the base's registry URL, the calls go and the base registers under that name; the helper file
// is never edited. Anything short of that proof stays a review item naming the helper and why
// (injected-infra-clients.ts flagImportedRegistration()).
import path from 'node:path';
import { Node, SyntaxKind, type CallExpression, type SourceFile } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { calleeText, descendantsOfKind, envName, isLogCall, moduleFunctions, relativeNamedImports, requestsIn, statementCall } from '../../src/lang/typescript/syntax.js';
import { parseTs } from '../../src/lang/typescript/rewrite.js';
import { importedText } from '../../src/lang/typescript/imported-file.js';
import { logsOnly, startsAgent } from './inline-registration.js';
import { readsRegistry } from './stop-deregistration.js';
import { BASE_SENT_KEYS, registryNameKeys } from './remove-registry-push.js';
import { carryRegistryEnv } from './registry-env.js';
import { registeredHealthPort } from './registered-health-port.js';
import { registeredBusinessPort } from './registered-business-port.js';
import { registeredFieldPort } from './registered-field-port.js';

/** What an imported helper sends: the action, the parameter (or env) its URL reads, and its payload by parameter. */
interface HelperRequest {
  action: 'register' | 'deregister';
  url: { param: number } | { env: string };
  /** JSON.stringify(<parameter>) or JSON.stringify({ key: <parameter>, ... }). */
  payload: { param: number } | { fields: Array<[string, number]> };
  /** It throws once its retries are spent. */
  throws: boolean;
}

/** A helper call: the statement it is on its own (null when its result is used), the call, and the helper it calls. */
interface HelperCall {
  stmt: Node | null;
  call: CallExpression;
  local: string;
  method: string;
}

export function dropImportedRegistration(ctx: TsRewriteContext): void {
  // The class's own registration names the agent: the helper's, if any, stays flagged.
  if (ctx.hints.registryName || !ctx.registryEnv) return;
  const helpers = importedHelpers(ctx);
  if (helpers.size === 0) return;
  const found = helperCalls(ctx, helpers);
  if (found.length === 0) return;
  const why = (reason: string) => ((ctx.hints.importedRegistrationLeft = reason), undefined);
  // Every call of a helper the class imports must be provably the base's: else none goes.
  for (const c of found) {
    const h = helpers.get(c.local)!;
    if (!h.request) return why(`${h.name}() in ${h.spec} does more than POST <registry>/register or /deregister with what it is handed (${h.unproven})`);
    if (!c.stmt) return why(`the call at line ${c.call.getStartLineNumber()} is not a statement of its own (its result is used)`);
  }
  const calls = found.filter((c): c is HelperCall & { stmt: Node } => c.stmt !== null);
  const registers = calls.filter((c) => helpers.get(c.local)!.request!.action === 'register');
  if (registers.length === 0) return;
  if (registers.length !== 1) return why(`${registers.length} registration calls (lines ${registers.map((c) => c.call.getStartLineNumber()).join(', ')})`);
  const reg = registers[0]!;
  if (!startsAgent(ctx, reg.method)) return why(`it registers in ${reg.method}(), not in the method that starts the agent`);
  const fields = payloadOf(reg.call, helpers.get(reg.local)!.request!);
  if (!fields) return why(`the record handed to ${reg.local}() (line ${reg.call.getStartLineNumber()}) is not a literal the rewrite can read`);
  const keys = registryNameKeys(ctx);
  const nameKey = keys.find((k) => fields.has(k));
  const nameNode = nameKey ? fields.get(nameKey)! : undefined;
  const name = nameNode ? ctx.constantValue(nameNode) : null;
  if (!nameNode || !name) return why(`the name it registers (${nameNode?.getText() ?? 'none'}) is not known before super()`);
  const extra = [...fields.keys()].filter((k) => k !== nameKey && !BASE_SENT_KEYS.has(k));
  if (extra.length > 0) return why(`it registers ${extra.map((k) => `'${k}'`).join(', ')}, which the base's registration does not send`);
  // Handed as arguments the helper puts in its own literal (`registerWithRegistry(url, name, port)`).
  const positional = 'fields' in helpers.get(reg.local)!.request!.payload;
  // Ports handed as arguments must be what super() is given for them (a literal at the call is read below).
  for (const [key, value] of positional ? fields : []) {
    const option = /health/i.test(key) ? 'healthCheckPort' : key === 'port' ? 'port' : null;
    if (option && !passedToBase(ctx, option, value)) return why(`it registers ${value.getText()} as ${key}, which is not what the base is given as ${option} (the base registers its own)`);
  }
  const urlOk = (c: HelperCall) => {
    const u = helpers.get(c.local)!.request!.url;
    if ('env' in u) return u.env === ctx.registryEnv;
    const arg = c.call.getArguments()[u.param];
    return !!arg && readsRegistry(arg, ctx.registryEnv!, ctx);
  };
  for (const c of calls) if (!urlOk(c)) return why(`the call at line ${c.call.getStartLineNumber()} posts to a registry other than the base's ${ctx.registryEnv}`);
  const deregs = calls.filter((c) => c !== reg);
  const stops = stopMethods(ctx);
  for (const d of deregs) {
    const sent = payloadOf(d.call, helpers.get(d.local)!.request!);
    const named = sent && sent.size === 1 ? sent.get(nameKey!) : undefined;
    if (!named || (ctx.constantValue(named) ?? named.getText()) !== name) return why(`the deregistration at line ${d.call.getStartLineNumber()} does not name only ${name}`);
    if (!stops.has(d.method)) return why(`it deregisters in ${d.method}(), which the base's stop() does not run (or which other code calls)`);
  }
  ctx.hints.registryName = { value: name, line: nameNode.getStartLineNumber(), method: reg.method };
  (ctx.hints.inlineRegistrationsDropped ??= new Set()).add(reg.method);
  const h = helpers.get(reg.local)!;
  ctx.plan.proposeStatement({ node: reg.stmt, symbol: `${reg.local}()`, finding: 'registry', reason: `registration through ${reg.local}() from ${h.spec}, which only POSTs it to ${ctx.registryEnv}/register; the base registers` });
  for (const d of deregs) {
    ctx.plan.proposeStatement({ node: d.stmt, symbol: `${d.local}()`, finding: 'registry', reason: `deregistration through ${d.local}() from ${helpers.get(d.local)!.spec}; the base's stop() deregisters` });
  }
  ctx.after.push((removed) => {
    if (!ctx.edits.removes(reg.stmt.getStart(), reg.stmt.getEnd())) return;
    ctx.warnings.push(
      `${reg.method}() registered through ${reg.local}() from ${h.spec} (line ${reg.call.getStartLineNumber()}), which only POSTs what it is handed to ${ctx.registryEnv}/register` +
        (deregs.length > 0 ? `, and deregistered through ${deregs.map((d) => `${d.local}() in ${d.method}() (line ${d.call.getStartLineNumber()})`).join(', ')}` : '') +
        `: the calls went (the helper file is untouched), the base registers once as ${name} and deregisters in its stop()` +
        // Nothing caught what it threw: the start failed with it, where the base logs and runs on.
        (h.request!.throws && !Node.isTryStatement(reg.stmt) && statementCall(reg.stmt) === reg.call
          ? `; when the registry stayed unreachable, ${reg.local}() threw after its retries and ${reg.method}() failed with it, where the base logs the failed registration and the agent runs on`
          : ''),
    );
    const u = h.request!.url;
    const handed = 'param' in u ? reg.call.getArguments()[u.param] : undefined;
    if (handed) carryRegistryEnv(ctx, reg.method, reg.stmt, handed);
    // A record literal written at the call (`{ name, port: this.healthPort }`): its ports are the registry's record.
    if (!positional) {
      registeredHealthPort(ctx, reg.method, reg.stmt, removed);
      registeredBusinessPort(ctx, reg.method, reg.stmt, removed);
      registeredFieldPort(ctx, reg.method, reg.stmt, removed);
    }
  });
}

/** Named imports from relative modules, with what each imported function provably sends (or why not). */
function importedHelpers(ctx: TsRewriteContext): Map<string, { name: string; spec: string; request: HelperRequest | null; unproven: string }> {
  const out = new Map<string, { name: string; spec: string; request: HelperRequest | null; unproven: string }>();
  // (`const { registerService } = require('../lib/registry')` of a CommonJS agent as much as an import.)
  const parsed = new Map<string, SourceFile | null>();
  for (const n of relativeNamedImports(ctx.sf)) {
    if (!/regist/i.test(n.name)) continue;
    if (!parsed.has(n.spec)) {
      const text = importedText(path.resolve(ctx.root, path.dirname(ctx.file), n.spec), { code: true });
      parsed.set(n.spec, text ? parseTs('helper.ts', text).sf : null);
    }
    const sf = parsed.get(n.spec);
    if (!sf) continue;
    const res = helperRequest(sf, n.name);
    if (res === null) continue;
    out.set(n.local, { name: n.name, spec: n.spec, request: typeof res === 'string' ? null : res, unproven: typeof res === 'string' ? res : '' });
  }
  return out;
}

/** Calls the rewrite need not prove harmless: logging, waiting, arithmetic, the request's own pieces. */
const INERT_CALLS = /^(console\.\w+|setTimeout|Math\.\w+|AbortSignal\.timeout|JSON\.stringify|String|Number)$/;

/**
 * The request an exported function `name` of a helper module makes: null when it requests nothing
 * of the registry (not a registration helper), a reason when it does but does anything else too.
 */
function helperRequest(sf: SourceFile, name: string): HelperRequest | string | null {
  const fn = sf.getFunction(name) ?? sf.getVariableDeclaration(name)?.getInitializer();
  if (!fn || !(Node.isFunctionDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) return null;
  const body = fn.getBody();
  if (!body || !/['"`/](de|un)?register\b/.test(body.getText())) return null;
  const params = fn.getParameters().map((p) => (Node.isIdentifier(p.getNameNode()) ? p.getName() : ''));
  const fetches = descendantsOfKind(body, SyntaxKind.CallExpression).filter((c) => calleeText(c) === 'fetch');
  if (fetches.length === 0) return sentThrough(sf, body) ?? 'it makes no fetch() request the rewrite reads';
  if (fetches.length !== 1) return `it makes ${fetches.length} requests (${fetches.map((f) => f.getArguments()[0]?.getText() ?? 'fetch()').join(', ')})`;
  const request = fetches[0]!;
  // Everything else it calls or builds is inert, and it writes only its own locals.
  for (const c of descendantsOfKind(body, SyntaxKind.CallExpression)) {
    if (c === request || INERT_CALLS.test(calleeText(c))) continue;
    const callee = c.getExpression();
    if (Node.isPropertyAccessExpression(callee) && callee.getName() === 'catch' && callee.getExpression() === request && c.getArguments().every((a) => logsOnly(a))) continue;
    return `it calls ${calleeText(c)}()`;
  }
  for (const n of descendantsOfKind(body, SyntaxKind.NewExpression)) {
    if (!/^(URL|Error|Promise)$/.test(n.getExpression().getText())) return `it builds new ${n.getExpression().getText()}`;
  }
  if (descendantsOfKind(body, SyntaxKind.ThisKeyword).length > 0) return 'it reads this';
  for (const b of descendantsOfKind(body, SyntaxKind.BinaryExpression)) {
    const op = b.getOperatorToken().getKind();
    if (op < SyntaxKind.FirstAssignment || op > SyntaxKind.LastAssignment) continue;
    const target = b.getLeft();
    const local = Node.isIdentifier(target) && (target.getSymbol()?.getDeclarations() ?? []).every((d) => d.getFirstAncestor((a) => a === fn) !== undefined);
    if (!local) return `it assigns ${target.getText()}`;
  }
  const [urlArg, init] = request.getArguments();
  const url = urlArg ? requestUrl(urlArg, params) : null;
  if (!url) return `its URL (${urlArg?.getText() ?? 'none'}) is not <registry>/register or /deregister`;
  if (!init || !Node.isObjectLiteralExpression(init) || request.getArguments().length !== 2) return 'its request options are not a literal';
  let post = false;
  let payload: HelperRequest['payload'] | null = null;
  for (const p of init.getProperties()) {
    if (!Node.isPropertyAssignment(p)) return `its request options spread or compute (${p.getText()})`;
    const v = p.getInitializerOrThrow();
    if (p.getName() === 'method') post = (Node.isStringLiteral(v) || Node.isNoSubstitutionTemplateLiteral(v)) && v.getLiteralText().toUpperCase() === 'POST';
    else if (p.getName() === 'body') payload = bodyPayload(v, params);
    else if (!/^(headers|signal)$/.test(p.getName())) return `its request sets ${p.getName()}`;
  }
  if (!post) return 'it does not POST';
  if (!payload) return 'its body is not JSON of what it is handed';
  return { action: url.action, url: url.from, payload, throws: descendantsOfKind(body, SyntaxKind.ThrowStatement).length > 0 };
}

/**
 * A helper that sends through a function of its own module (`await send('POST', `${url}/register`,
 * entry)`, which wraps http.request or https.request) rather than one fetch(): what it sends is not
 * read through that function, so the reason names it, its line and what it requests with, and the
 * loop around it (its retries), instead of "0 requests".
 */
function sentThrough(sf: SourceFile, body: Node): string | null {
  const own = moduleFunctions(sf);
  const via = [...new Set(descendantsOfKind(body, SyntaxKind.CallExpression).map((c) => calleeText(c)).filter((n) => own.has(n)))];
  const sending = via.map((n) => ({ n, through: requestsIn(own.get(n)!.getText()) })).filter((s) => s.through.length > 0);
  if (sending.length === 0) return null;
  const described = sending.map(({ n, through }) => `${n}() (line ${own.get(n)!.getStartLineNumber()} of that module, through ${through.join(', ')})`);
  const loop = body.getFirstDescendant((d) => Node.isForStatement(d) || Node.isWhileStatement(d) || Node.isDoStatement(d));
  return `it sends through ${described.join(', ')}, not one fetch() the rewrite reads, so what reaches the registry is not proven to be only what it is handed${loop ? `; its loop (line ${loop.getStartLineNumber()} of that module) retries it, as the base's registration does` : ''}`;
}

/** `new URL('/register', p)`, `${p}/register`, `p + '/register'` (p a parameter or an env read). */
function requestUrl(arg: Node, params: string[]): { action: 'register' | 'deregister'; from: HelperRequest['url'] } | null {
  let base: Node | undefined;
  let route: string | undefined;
  if (Node.isNewExpression(arg) && arg.getExpression().getText() === 'URL') {
    const [r, b] = arg.getArguments();
    if (r && (Node.isStringLiteral(r) || Node.isNoSubstitutionTemplateLiteral(r))) route = r.getLiteralText();
    base = b;
  } else if (Node.isTemplateExpression(arg) && arg.getHead().getLiteralText() === '' && arg.getTemplateSpans().length === 1) {
    base = arg.getTemplateSpans()[0]!.getExpression();
    route = arg.getTemplateSpans()[0]!.getLiteral().getLiteralText();
  } else if (Node.isBinaryExpression(arg) && arg.getOperatorToken().getKind() === SyntaxKind.PlusToken) {
    const r = arg.getRight();
    if (Node.isStringLiteral(r) || Node.isNoSubstitutionTemplateLiteral(r)) route = r.getLiteralText();
    base = arg.getLeft();
  }
  const action = route?.match(/^\/(register|deregister|unregister)\/?$/)?.[1];
  if (!base || !action) return null;
  const env = envName(base);
  const from = env ? { env } : Node.isIdentifier(base) && params.includes(base.getText()) ? { param: params.indexOf(base.getText()) } : null;
  return from ? { action: action === 'register' ? 'register' : 'deregister', from } : null;
}

/** `JSON.stringify(record)` or `JSON.stringify({ name, port: p })` of parameters only. */
function bodyPayload(v: Node, params: string[]): HelperRequest['payload'] | null {
  if (!Node.isCallExpression(v) || calleeText(v) !== 'JSON.stringify' || v.getArguments().length !== 1) return null;
  const x = v.getArguments()[0]!;
  if (Node.isIdentifier(x)) return params.includes(x.getText()) ? { param: params.indexOf(x.getText()) } : null;
  if (!Node.isObjectLiteralExpression(x)) return null;
  const fields: Array<[string, number]> = [];
  for (const p of x.getProperties()) {
    const value = Node.isShorthandPropertyAssignment(p) ? p.getName() : Node.isPropertyAssignment(p) ? p.getInitializerOrThrow().getText() : null;
    if (value === null || !params.includes(value)) return null;
    fields.push([(p as import('ts-morph').PropertyAssignment).getName(), params.indexOf(value)]);
  }
  return { fields };
}

/** What a call hands the helper's payload: key → the argument's node (or the literal's property value). */
function payloadOf(call: CallExpression, req: HelperRequest): Map<string, Node> | null {
  const args = call.getArguments();
  const out = new Map<string, Node>();
  if ('fields' in req.payload) {
    for (const [key, i] of req.payload.fields) {
      if (!args[i]) return null;
      out.set(key, args[i]!);
    }
    return out;
  }
  const lit = args[req.payload.param];
  if (!lit || !Node.isObjectLiteralExpression(lit)) return null;
  for (const p of lit.getProperties()) {
    if (Node.isPropertyAssignment(p)) out.set(p.getName(), p.getInitializerOrThrow());
    else if (Node.isShorthandPropertyAssignment(p)) out.set(p.getName(), p.getNameNode());
    else return null;
  }
  return out;
}

/** Calls of the helpers in the class: the statement when the call is one (awaited, voided, a logging `.catch()`, a logging try). */
function helperCalls(ctx: TsRewriteContext, helpers: Map<string, unknown>): HelperCall[] {
  const out: HelperCall[] = [];
  for (const call of ctx.cls.getDescendantsOfKind(SyntaxKind.CallExpression)) {
    const local = call.getExpression().getText();
    if (!helpers.has(local)) continue;
    const m = call.getFirstAncestor((a) => Node.isMethodDeclaration(a) && a.getParent() === ctx.cls);
    const method = m && Node.isMethodDeclaration(m) ? m.getName() : '';
    out.push({ call, local, method, stmt: wholeStatement(call) });
  }
  return out;
}

function wholeStatement(call: CallExpression): Node | null {
  const stmt = call.getFirstAncestor((a) => Node.isStatement(a));
  if (!stmt) return null;
  let top = statementCall(stmt);
  // `.catch((err) => console.error(...))` peeled down to the helper's call.
  while (top && top !== call) {
    const callee = top.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'catch' || !top.getArguments().every((a) => logsOnly(a))) return null;
    const inner = callee.getExpression();
    top = Node.isCallExpression(inner) ? inner : null;
  }
  if (top !== call) return null;
  // `try { await helper(...); } catch (err) { console.warn(...); }`: the try goes whole.
  const block = stmt.getParent();
  const tryStmt = block?.getParent();
  if (block && Node.isBlock(block) && block.getStatements().length === 1 && tryStmt && Node.isTryStatement(tryStmt) && tryStmt.getTryBlock() === block && !tryStmt.getFinallyBlock()) {
    const caught = tryStmt.getCatchClause()?.getBlock().getStatements() ?? [];
    if (caught.every((c) => isLogCall(statementCall(c)))) return tryStmt;
  }
  return stmt;
}

/**
 * Methods the base's stop() runs and nothing else calls: stop() (it becomes onStop()), onStop(), or
 * a method the removed signal handler called (remove-signal-handlers.ts proposes it with delegate
 * 'stop': it goes, or the base's onStop() calls it).
 */
function stopMethods(ctx: TsRewriteContext): Set<string> {
  const out = new Set<string>();
  for (const name of ['stop', 'onStop']) if (ctx.members.get(name)?.kind === 'method') out.add(name);
  for (const [name, p] of ctx.plan.members) {
    if (p.delegate === 'stop' && ctx.members.get(name)?.kind === 'method' && ctx.outsideCallers(name).length === 0 && calledInClass(ctx, name) === 0) out.add(name);
  }
  return out;
}

/** Calls of `this.<name>()` left in the class (removed code aside). */
function calledInClass(ctx: TsRewriteContext, name: string): number {
  return ctx.cls.getDescendantsOfKind(SyntaxKind.CallExpression).filter((c) => {
    const e = c.getExpression();
    return Node.isPropertyAccessExpression(e) && e.getExpression().getKind() === SyntaxKind.ThisKeyword && e.getName() === name && !ctx.edits.removes(c.getStart(), c.getEnd());
  }).length;
}

/** `port` / `this.port` (a constructor parameter or a member) where super() is given it as `option`. */
function passedToBase(ctx: TsRewriteContext, option: string, n: Node): boolean {
  const names = Object.entries(ctx.ts.super_call.pass_through ?? {}).find(([k]) => k.toLowerCase().replace(/_/g, '') === option.toLowerCase())?.[1] ?? [];
  const text = n.getText().replace(/^this\./, '');
  return names.includes(text) && (ctx.members.has(text) || !!ctx.ctor?.getParameters().some((p) => p.getName() === text));
}
