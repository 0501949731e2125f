// Concern `registry`: a registration written inline in a start method that also does other work
// (`await fetch(`${REGISTRY_URL}/register`, {...}).catch(...)` between its listen() and its timer).
// The method stays (as onStart()), and so did the request: the agent registered twice, its own
// POST and the base's, racing for the registry's record. When it sends what the base sends, the
// statement goes; when it sends more, it stays and a warning names the fields.
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { blockStatements, descendantsOfKind, isLogCall, statementCall } from '../../src/lang/typescript/syntax.js';
import { jsonRequestOf } from '../../src/lang/typescript/json-post-helper.js';
import { registrationExtraFields } from './remove-registry-push.js';
import { recordOverride } from './registration-record.js';
import { carryRegistryEnv } from './registry-env.js';
import { registeredHealthPort } from './registered-health-port.js';
import { registeredBusinessPort } from './registered-business-port.js';
import { registeredFieldPort } from './registered-field-port.js';

/** Methods that become (or are) the base's onStart(): their body runs once, when the agent starts. */
export function startsAgent(ctx: TsRewriteContext, method: string): boolean {
  return method === 'start' || method === 'onStart' || ctx.entry?.method === method;
}

/**
 * Statements of `method`'s body that are one registration request: a `fetch(`${X}/register`, ...)`
 * or a POST of the module's own JSON helper (`postJson(`${X}/register`, {...})`) (X naming the registry's URL), awaited or not, with at most `.catch`/`.then` handlers that only log or do nothing,
 * or alone in a `try` whose `catch` only logs (`try { await fetch(...); } catch (err) { console.warn(...); }`).
 */
function inlineRegistrations(body: Node): Node[] {
  return blockStatements(body).filter((st) => registrationUrl(st) !== null);
}

/** X of the statement's `${X}/register` when it is one registration request (see inlineRegistrations()); else null. */
function registrationUrl(st: Node): Node | null {
  // `if (REGISTRY_URL) { ... }` (no else) around the request, testing the URL it posts to: the base
  // registers only when REGISTRY_URL is set too (CsvIngest, probe-node69).
  if (Node.isIfStatement(st)) {
    const then = st.getThenStatement();
    const inner = Node.isBlock(then) ? then.getStatements() : [then];
    const url = !st.getElseStatement() && inner.length === 1 ? registrationUrl(inner[0]!) : null;
    return url && st.getExpression().getText() === url.getText() ? url : null;
  }
  if (Node.isTryStatement(st)) {
    const tried = st.getTryBlock().getStatements();
    const caught = st.getCatchClause()?.getBlock().getStatements();
    // (A finally runs whatever happens: it is no part of the request.)
    if (st.getFinallyBlock() || !caught || !caught.every((c) => isLogCall(statementCall(c)))) return null;
    if (tried.length === 1) return registrationUrl(tried[0]!);
    // `const res = await fetch(...); if (!res.ok) console.warn(...)`: the answer read only to log it.
    const [first, ...rest] = tried;
    const decl = first && Node.isVariableStatement(first) && first.getDeclarations().length === 1 ? first.getDeclarations()[0]! : undefined;
    const init = decl?.getInitializer();
    if (!decl || !init || !Node.isAwaitExpression(init) || !Node.isIdentifier(decl.getNameNode())) return null;
    const logsAnswer = (x: Node): boolean =>
      isLogCall(statementCall(x)) ||
      (Node.isIfStatement(x) && !x.getElseStatement() && new RegExp(`^!?${decl.getName()}\\.(ok|status)\\b`).test(x.getExpression().getText()) &&
        (Node.isBlock(x.getThenStatement()) ? (x.getThenStatement() as import('ts-morph').Block).getStatements() : [x.getThenStatement()]).every((y) => isLogCall(statementCall(y))));
    if (!rest.every(logsAnswer)) return null;
    return registrationCallUrl(init.getExpression());
  }
  return registrationCallUrl(statementCall(st));
}

/** X of a registration request call `fetch(`${X}/register`, ...)` (see registrationUrl()), with handlers that only log; else null. */
function registrationCallUrl(first: Node | null | undefined): Node | null {
  let call: CallExpression | null = first && Node.isCallExpression(first) ? first : null;
  // `.catch((err) => console.warn(...))`: peel handlers that do nothing but log.
  while (call && Node.isPropertyAccessExpression(call.getExpression()) && /^(catch|then|finally)$/.test((call.getExpression() as any).getName())) {
    if (!call.getArguments().every(logsOnly)) return null;
    const inner = (call.getExpression() as any).getExpression() as Node;
    call = Node.isCallExpression(inner) ? inner : null;
  }
  if (!call) return null;
  // fetch(url, ...), or the module's own JSON helper proven to POST (json-post-helper.ts).
  const helper = call.getExpression().getText() === 'fetch' ? null : jsonRequestOf(call);
  if (!helper && call.getExpression().getText() !== 'fetch') return null;
  if (helper && helper.method !== 'POST') return null;
  const url = helper ? helper.url : call.getArguments()[0];
  if (!url || !Node.isTemplateExpression(url)) return null;
  const spans = url.getTemplateSpans();
  const ok = url.getHead().getText() === '`${' && spans.length === 1 && /registry/i.test(spans[0]!.getExpression().getText()) && /^}\/register`$/.test(spans[0]!.getLiteral().getText());
  return ok ? spans[0]!.getExpression() : null;
}

/** A handler whose body only logs (`(err) => console.warn(...)`), or does nothing (`() => undefined`, `() => {}`). */
export function logsOnly(arg: Node): boolean {
  if (!Node.isArrowFunction(arg) && !Node.isFunctionExpression(arg)) return false;
  const body = arg.getBody();
  // The failure swallowed: the base's registration logs one instead, which loses nothing.
  if (/^(undefined|null|void 0)$/.test(body.getText())) return true;
  const calls = descendantsOfKind(body, SyntaxKind.CallExpression);
  const top = Node.isBlock(body) ? body.getStatements().map(statementCall) : [Node.isCallExpression(body) ? body : null];
  return top.every((c) => isLogCall(c)) && calls.every((c) => top.includes(c) || c.getFirstAncestor((a) => top.includes(a as CallExpression)));
}

/**
 * Propose the inline registrations of a start method that send no more than the base does, or whose
 * extra fields an override of the base's record hook can carry (written once the statement went).
 * The others stay: remove-registry-push.ts reports a start method registering fields that cannot move.
 */
export function dropInlineRegistrations(ctx: TsRewriteContext, method: string, body: Node, nameProperty: string): void {
  if (!startsAgent(ctx, method)) return;
  const known = ctx.hints.registryName;
  for (const st of inlineRegistrations(body)) {
    // The base registers under the name super() passes: only a name known before it is that name.
    if (!known || known.method !== method || known.runtime || known.derived) {
      ctx.warnings.push(
        `${method}() registers inline (line ${st.getStartLineNumber()}) under a name the base cannot register under (${known?.value ?? 'none known before super()'}): ` +
          `it stays, so the agent registers twice (its own request and the base's), racing for the registry's record; drop it once the base's name is the registry's`,
      );
      continue;
    }
    const extra = registrationExtraFields(st, nameProperty);
    const override = extra ? recordOverride(ctx, method, body, extra, st) : null;
    if (extra && !override) continue;
    (ctx.hints.inlineRegistrationsDropped ??= new Set()).add(method);
    // Where it registered: a deregistration posted under the same URL undoes it (stop-deregistration.ts).
    (ctx.hints.droppedRegistrationUrls ??= new Set()).add(registrationUrl(st)!.getText());
    ctx.plan.proposeStatement({ node: st, symbol: `${method}() registration`, finding: 'registry', reason: `inline registration; the base registers with REGISTRY_URL (and logs a failure)` });
    ctx.after.push((removed) => {
      override?.();
      // Its URL's fallback (`?? 'http://localhost:8500'`) becomes the base's REGISTRY_URL default.
      carryRegistryEnv(ctx, method, st);
      // The port it sent (`port: this.healthPort`, `port: this.options.port`) is the registry's record:
      // the base must register the same one, as for a registration method.
      if (!ctx.edits.removes(st.getStart(), st.getEnd())) return;
      // Awaited with nothing catching its failure: an unreachable registry failed the start with it.
      const call = statementCall(st);
      const awaited = Node.isExpressionStatement(st) && Node.isAwaitExpression(st.getExpression());
      const helper = call && awaited ? jsonRequestOf(call) : null;
      if (helper) {
        ctx.warnings.push(
          `${method}() awaited its registration through ${helper.helper}() (line ${st.getStartLineNumber()}) with nothing catching a failure: an unreachable registry failed ${method}() with it; ` +
            `the base logs the failed registration and retries it, and the agent runs on`,
        );
      }
      registeredHealthPort(ctx, method, st, removed);
      registeredBusinessPort(ctx, method, st, removed);
      registeredFieldPort(ctx, method, st, removed);
    });
  }
}
