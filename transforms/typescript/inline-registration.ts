// Concern `registry`: a registration written inline in a start method that also does other work
// (`await fetch(`${REGISTRY_URL}/register`, {...}).catch(...)` between its listen() and its timer).
// The method stays (as onStart()), and so did the request: the agent registered twice, its own
// POST and the base's, racing for the registry's record. When it sends what the base sends, the
// statement goes; when it sends more, it stays and a warning names the fields.
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { blockStatements, descendantsOfKind, isLogCall, statementCall } from '../../src/lang/typescript/syntax.js';
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
 * (X naming the registry's URL), awaited or not, with at most `.catch`/`.then` handlers that only log or do nothing,
 * or alone in a `try` whose `catch` only logs (`try { await fetch(...); } catch (err) { console.warn(...); }`).
 */
function inlineRegistrations(body: Node): Node[] {
  return blockStatements(body).filter(isRegistrationRequest);
}

function isRegistrationRequest(st: Node): boolean {
  if (Node.isTryStatement(st)) {
    const tried = st.getTryBlock().getStatements();
    const caught = st.getCatchClause()?.getBlock().getStatements();
    // (A finally runs whatever happens: it is no part of the request.)
    return !st.getFinallyBlock() && tried.length === 1 && !!caught && caught.every((c) => isLogCall(statementCall(c))) && isRegistrationRequest(tried[0]!);
  }
  let call: CallExpression | null = statementCall(st);
  // `.catch((err) => console.warn(...))`: peel handlers that do nothing but log.
  while (call && Node.isPropertyAccessExpression(call.getExpression()) && /^(catch|then|finally)$/.test((call.getExpression() as any).getName())) {
    if (!call.getArguments().every(logsOnly)) return false;
    const inner = (call.getExpression() as any).getExpression() as Node;
    call = Node.isCallExpression(inner) ? inner : null;
  }
  if (!call || call.getExpression().getText() !== 'fetch') return false;
  const url = call.getArguments()[0];
  if (!url || !Node.isTemplateExpression(url)) return false;
  const spans = url.getTemplateSpans();
  return url.getHead().getText() === '`${' && spans.length === 1 && /registry/i.test(spans[0]!.getExpression().getText()) && /^}\/register`$/.test(spans[0]!.getLiteral().getText());
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
    ctx.plan.proposeStatement({ node: st, symbol: `${method}() registration`, finding: 'registry', reason: `inline registration; the base registers with REGISTRY_URL (and logs a failure)` });
    ctx.after.push((removed) => {
      override?.();
      // Its URL's fallback (`?? 'http://localhost:8500'`) becomes the base's REGISTRY_URL default.
      carryRegistryEnv(ctx, method, st);
      // The port it sent (`port: this.healthPort`, `port: this.options.port`) is the registry's record:
      // the base must register the same one, as for a registration method.
      if (!ctx.edits.removes(st.getStart(), st.getEnd())) return;
      registeredHealthPort(ctx, method, st, removed);
      registeredBusinessPort(ctx, method, st, removed);
      registeredFieldPort(ctx, method, st);
    });
  }
}
