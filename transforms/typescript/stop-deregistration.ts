// Concern `registry`, on the way out: a legacy stop() that deregistered from the registry by hand
// (`await fetch(`${process.env.REGISTRY_URL}/deregister`, { method: 'POST', body: JSON.stringify({
// name: this.name }) })`, often behind `if (this.registered)`) becomes the base's onStop() hook, and
// the base's stop() deregisters right after it: the registry got two deregistrations, and the
// guard's flag is now the base's. When the registration that call undid went to the base (the
// hand-made register() was removed, its name handed to super()), the call is provably the base's
// own (POST <registry>/deregister naming the same agent) and goes, with a guard that only decided
// it. Anything short of that proof stays, as a review item naming both deregistrations.
import { Node, SyntaxKind, type CallExpression } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { methodBody } from '../../src/lang/typescript/context.js';
import { calleeText, descendantsOfKind, envName, isLogCall, statementCall, thisMember } from '../../src/lang/typescript/syntax.js';
import { jsonRequestOf } from '../../src/lang/typescript/json-post-helper.js';
import { deregistererToBaseStop } from './deregisterer-to-base-stop.js';
import { configMemberValues } from './super-call.js';
import { memberUrl } from './registry-env.js';

/** The rewrites that dropped a deregistration (only their hook can have been emptied by it), with their stop path (stopPath). */
const dropped = new WeakMap<TsRewriteContext, string[]>();

/** The methods the base's stop() runs: the member renamed to the onStop() hook, or one already named so. */
function stopPath(ctx: TsRewriteContext): string[] {
  const renamed = [...ctx.renames].filter(([, to]) => to === 'onStop').map(([from]) => from);
  if (renamed.length > 0) return renamed;
  if (ctx.members.get('onStop')?.kind === 'method') return ['onStop'];
  return delegatedStops(ctx);
}

/**
 * The methods the onStop() the rewrite wrote calls (`await this.shutdown();`, the signal handler's
 * cleanup) that nothing else calls any more: no call left in the file (the handler's went with it)
 * and none in another file. Each runs only on the base's stop(), right before the base deregisters,
 * as the hook's own body would.
 */
function delegatedStops(ctx: TsRewriteContext): string[] {
  const written = ctx.newMembers.filter((m) => m.name === 'onStop').map((m) => m.text).join('\n');
  const names = [...written.matchAll(/\bthis\.([\w$]+)\(/g)].map((m) => m[1]!);
  return [...new Set(names)].filter((name) => {
    if (ctx.members.get(name)?.kind !== 'method' || ctx.outsideCallers(name).length > 0) return false;
    return !descendantsOfKind(ctx.sf, SyntaxKind.PropertyAccessExpression).some(
      (p) => p.getName() === name && !ctx.edits.removes(p.getStart(), p.getEnd()) && !(Node.isMethodDeclaration(p.getParent()) && p.getParent()!.getParent() === ctx.cls),
    );
  });
}

export function dropBaseDeregistration(ctx: TsRewriteContext, removed: Set<string>): void {
  const env = ctx.registryEnv;
  // The base must deregister itself, over HTTP, from the registry it reads from env.
  if (!env || !/['"`/]deregister\b/.test(ctx.base.source) || !ctx.base.source.includes(env)) return;
  const stops = stopPath(ctx);
  reportKeptDeregisterers(ctx, env, removed, stops);
  for (const method of stops) {
    const body = methodBody(ctx, method);
    if (!body) continue;
    const hook = ctx.renames.get(method) ?? method;
    for (const request of descendantsOfKind(body, SyntaxKind.CallExpression)) {
      if (ctx.edits.removes(request.getStart(), request.getEnd())) continue;
      // The module's own JSON helper proven to POST (`postJson(`${url}/deregister`, { name })`) reads as a fetch.
      const posted = postedRequest(request);
      const url = posted?.url;
      // Through a helper, the registry URL may be the agent's option before ${env} (`options.registryUrl || process.env.REGISTRY_URL`): said whatever it reads.
      if (!posted) {
        if (calleeText(request) !== 'fetch' && request.getArguments().some((a) => deregisterUrlBase(a))) reportHelperDeregistration(ctx, method, hook, request, env);
        continue;
      }
      if (!url) continue;
      if (!registryPath(url, env, ctx)) {
        // A helper's deregistration from a URL read otherwise (the agent's option before ${env}) is said all the same.
        if (calleeText(request) !== 'fetch' && deregisterUrlBase(url)) reportHelperDeregistration(ctx, method, hook, request, env);
        continue;
      }
      const stmt = request.getFirstAncestor((a) => Node.isStatement(a))!;
      const line = stmt.getStartLineNumber();
      const call = deregistrationRequest(stmt, env, ctx);
      // (A `.then()` doing more, a result kept in a variable: what else it does is the agent's.)
      const proof = call?.request === request ? sameAsBase(ctx, request, env, removed) : 'the statement does more with the request than send it';
      if (typeof proof === 'string' || !call) {
        ctx.kept.push({
          symbol: method,
          line,
          reason:
            `${hook}() still deregisters from ${env} by hand (line ${line}), and the base's stop() deregisters right after it: the registry gets two deregistrations; ` +
            `left because ${proof}: drop the hand-made one once it is the base's (POST <${env}>/deregister naming ${ctx.baseClass}'s name)`,
        });
        continue;
      }
      const guard = decidingGuard(stmt, env, ctx);
      const wrapper = swallowingTry(guard ?? stmt);
      ctx.edits.removeNode(wrapper?.node ?? guard ?? stmt);
      dropped.set(ctx, stops);
      const failLogs = [...call.catchLogs, ...(wrapper?.logs ?? [])].map((l) => `line ${l.getStartLineNumber()}: ${l.getText().replace(/\s*\n\s*/g, ' ')}`);
      ctx.warnings.push(
        `${hook}() deregistered by hand (line ${line}: POST <${env}>/deregister as ${proof.name}${via(request)}), the call the base's stop() makes right after ${hook}() ` +
          `under the same name: removed${guard ? ` with its guard (line ${guard.getStartLineNumber()})` : ''}, so the registry sees one deregistration` +
          (failLogs.length > 0 ? `; its failure log (${failLogs.join('; ')}) is now the base's "deregistration failed: <error>" WARNING on stderr` : ''),
      );
    }
  }
}

/**
 * `postJson(`${this.registryUrl}/deregister`, { name: 'x' })`: the same hand-made deregistration sent
 * through a function of the module or one it requires/imports (an http.request wrapper), whose body
 * the rewrite does not prove to send only what it is handed. It stays, and the double
 * deregistration is the review item (silent, the registry saw two with no word).
 */
function reportHelperDeregistration(ctx: TsRewriteContext, method: string, hook: string, request: CallExpression, env: string): void {
  const callee = request.getExpression();
  if (!Node.isIdentifier(callee)) return;
  const decl = callee.getSymbol()?.getDeclarations()[0];
  const spec = decl?.getFirstAncestor((a) => Node.isImportDeclaration(a));
  const required = decl && Node.isBindingElement(decl) ? decl.getFirstAncestorByKind(SyntaxKind.VariableDeclaration)?.getInitializer() : undefined;
  const from =
    spec && Node.isImportDeclaration(spec)
      ? ` from ${spec.getModuleSpecifierValue()}`
      : required && Node.isCallExpression(required) && calleeText(required) === 'require'
        ? ` from ${required.getArguments()[0]?.getText() ?? 'a required module'}`
        : decl
          ? ` (line ${decl.getStartLineNumber()} of this file)`
          : '';
  const line = request.getStartLineNumber();
  ctx.kept.push({
    symbol: method,
    line,
    reason:
      `${hook}() still deregisters from ${env} by hand through ${callee.getText()}()${from} (line ${line}: POST <${env}>/deregister), and the base's stop() deregisters right after it: the registry gets two deregistrations; ` +
      (jsonRequestOf(request)
        ? `left because the URL it posts under (${deregisterUrlBase(jsonRequestOf(request)!.url)?.getText()}) may be another registry than ${env} (it is not read from ${env} alone): drop the call once it is ${env}`
        : `left because ${callee.getText()}() is not a fetch the rewrite reads: drop the call once ${callee.getText()}() only POSTs what it is handed and it names ${ctx.baseClass}'s name`),
  });
}

/**
 * `fetch(<registry>/deregister, init)` as the statement's whole work: awaited or not, maybe with a
 * `.catch()` that swallows or only logs the failure. Null for anything else (a `.then()` that does
 * more, a result kept in a variable).
 */
function deregistrationRequest(stmt: Node, env: string, ctx: TsRewriteContext): { request: CallExpression; catchLogs: Node[] } | null {
  const outer = statementCall(stmt);
  if (!outer) return null;
  let request: CallExpression = outer;
  const catchLogs: Node[] = [];
  const callee = outer.getExpression();
  if (Node.isPropertyAccessExpression(callee) && callee.getName() === 'catch') {
    const inner = callee.getExpression();
    const handler = outer.getArguments()[0];
    if (!Node.isCallExpression(inner) || outer.getArguments().length !== 1 || !handler) return null;
    const logs = swallowOrLog(handler);
    if (!logs) return null;
    catchLogs.push(...logs);
    request = inner;
  }
  const url = postedRequest(request)?.url;
  if (!url || !registryPath(url, env, ctx)) return null;
  return { request, catchLogs };
}

/**
 * `try { <the deregistration> } catch { /* ignored *\/ }`: a try around the statement alone whose catch
 * only swallows or logs the failure (the base logs its own): it goes whole, not left empty. Its log lines.
 */
function swallowingTry(stmt: Node): { node: Node; logs: Node[] } | null {
  const block = stmt.getParent();
  const tryStmt = block?.getParent();
  if (!block || !Node.isBlock(block) || block.getStatements().length !== 1 || !tryStmt || !Node.isTryStatement(tryStmt) || tryStmt.getTryBlock() !== block) return null;
  const clause = tryStmt.getCatchClause();
  if (!clause || tryStmt.getFinallyBlock()) return null;
  const stmts = clause.getBlock().getStatements();
  return stmts.every((st) => isLogCall(statementCall(st))) ? { node: tryStmt, logs: stmts } : null;
}

/** A catch handler that only swallows (`() => undefined`, `() => {}`) or logs: the log lines, or null. */
function swallowOrLog(handler: Node): Node[] | null {
  if (!Node.isArrowFunction(handler) && !Node.isFunctionExpression(handler)) return null;
  const body = handler.getBody();
  if (!Node.isBlock(body)) {
    if (body.getText() === 'undefined' || Node.isNullLiteral(body) || Node.isNumericLiteral(body) || body.getKind() === SyntaxKind.FalseKeyword) return [];
    return Node.isCallExpression(body) && isLogCall(body) ? [body] : null;
  }
  const stmts = body.getStatements();
  return stmts.every((s) => isLogCall(statementCall(s))) ? stmts : null;
}

/** `${process.env.REGISTRY_URL}/deregister`, `${registry}/deregister` of a local read of it, or `url + '/deregister'`, on the registry the base registers with. */
function registryPath(url: Node, env: string, ctx: TsRewriteContext): boolean {
  const base = deregisterUrlBase(url);
  // (Or the URL, as written, a removed inline registration posted to: the registry the base now registers with.)
  return !!base && (readsRegistry(base, env, ctx) || !!ctx.hints.droppedRegistrationUrls?.has(base.getText()));
}

/** X of `${X}/deregister` or `X + '/deregister'`: the URL the deregistration is posted under, or null. */
function deregisterUrlBase(url: Node): Node | null {
  if (Node.isTemplateExpression(url)) {
    const spans = url.getTemplateSpans();
    if (url.getHead().getLiteralText() !== '' || spans.length !== 1) return null;
    return /^\/deregister\/?$/.test(spans[0]!.getLiteral().getLiteralText()) ? spans[0]!.getExpression() : null;
  }
  if (Node.isBinaryExpression(url) && url.getOperatorToken().getKind() === SyntaxKind.PlusToken) {
    const right = url.getRight();
    return (Node.isStringLiteral(right) || Node.isNoSubstitutionTemplateLiteral(right)) && /^\/deregister\/?$/.test(right.getLiteralText()) ? url.getLeft() : null;
  }
  return null;
}

/**
 * `process.env.REGISTRY_URL`, a local const initialised from it (`?? ''` and the like allowed), or
 * a config object's member (`this.cfg.registryUrl`) whose every value this file gives it reads it.
 */
export function readsRegistry(n: Node, env: string, ctx: TsRewriteContext): boolean {
  if (envName(n) === env) return true;
  if (Node.isPropertyAccessExpression(n)) {
    // `this.registryUrl` declared `= process.env.REGISTRY_URL ?? '...'` (or so set in the constructor).
    const own = memberUrl(ctx, n);
    if (own) return own.env === env;
    const values = configMemberValues(ctx, n);
    return values.length > 0 && values.every((v) => envName(fallbackHead(v)) === env);
  }
  if (!Node.isIdentifier(n)) return false;
  const decl = n.getSymbol()?.getDeclarations()[0];
  if (!decl || !Node.isVariableDeclaration(decl)) return false;
  const list = decl.getParent();
  if (!list || !Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const') return false;
  const init = decl.getInitializer();
  return !!init && envName(fallbackHead(init)) === env;
}

/** `X` of `X ?? 'default'` / `X || 'default'`. */
function fallbackHead(value: Node): Node {
  let head = value;
  while (Node.isBinaryExpression(head) && ['??', '||'].includes(head.getOperatorToken().getText())) head = head.getLeft();
  return head;
}

/** ` through postJson() (...)` when the request went through the module's own JSON helper. */
function via(request: CallExpression): string {
  return calleeText(request) === 'fetch' ? '' : ` through ${calleeText(request)}(), which only sends that JSON to that URL`;
}

/** `fetch(url, ...)` or a call of the module's own proven JSON helper: the URL it requests; null for any other call. */
function postedRequest(request: CallExpression): { url: Node | undefined } | null {
  if (calleeText(request) === 'fetch') return { url: request.getArguments()[0] };
  const helper = jsonRequestOf(request);
  return helper ? { url: helper.url } : null;
}

/** The JSON body `{ name: X }` naming only the agent: X, or why it is not that. */
function sentName(ctx: TsRewriteContext, payload: Node | undefined): { named: Node } | string {
  if (!payload || !Node.isObjectLiteralExpression(payload)) return `its body is not a JSON object the rewrite can read`;
  const props = payload.getProperties();
  const key = ctx.ts.super_call.name_property;
  const only = props.length === 1 ? props[0] : undefined;
  if (!only || !(Node.isPropertyAssignment(only) || Node.isShorthandPropertyAssignment(only)) || only.getName() !== key) {
    return `its body (${payload.getText().replace(/\s*\n\s*/g, ' ')}) sends more than the ${key} the base sends`;
  }
  return { named: Node.isPropertyAssignment(only) ? only.getInitializerOrThrow() : only.getNameNode() };
}

/**
 * The request is the base's own deregistration: POST, a JSON body naming only the agent, by the
 * name the removed registration registered under and the base now registers under. The reason
 * it is not, else.
 */
function sameAsBase(ctx: TsRewriteContext, request: CallExpression, env: string, removed: Set<string>): { name: string } | string {
  const reg = ctx.hints.registryName;
  if (!reg || reg.runtime) return `the name the base registers under is not the one the agent's registration used`;
  if (!removed.has(reg.method) && !ctx.hints.inlineRegistrationsDropped?.has(reg.method)) return `its registration, ${reg.method}(), stays the agent's own, beside the base's`;
  const helper = calleeText(request) === 'fetch' ? null : jsonRequestOf(request);
  const init = helper ? undefined : request.getArguments()[1];
  if (!helper && (!init || !Node.isObjectLiteralExpression(init) || request.getArguments().length !== 2)) return `its request is not a literal POST the rewrite can read`;
  let method: string | null = helper ? helper.method : null;
  let named: Node | undefined;
  if (helper) {
    const sent = sentName(ctx, helper.payload);
    if (typeof sent === 'string') return sent;
    named = sent.named;
  }
  for (const p of init && Node.isObjectLiteralExpression(init) ? init.getProperties() : []) {
    if (!Node.isPropertyAssignment(p)) return `its request spreads or computes options (${p.getText()})`;
    const value = p.getInitializerOrThrow();
    switch (p.getName()) {
      case 'method':
        method = Node.isStringLiteral(value) || Node.isNoSubstitutionTemplateLiteral(value) ? value.getLiteralText().toUpperCase() : null;
        break;
      case 'body': {
        const payload = Node.isCallExpression(value) && calleeText(value) === 'JSON.stringify' && value.getArguments().length === 1 ? value.getArguments()[0] : undefined;
        const sent = sentName(ctx, payload);
        if (typeof sent === 'string') return sent;
        named = sent.named;
        break;
      }
      case 'headers':
      case 'signal':
        break;
      default:
        return `its request sets ${p.getName()}`;
    }
  }
  if (method !== 'POST') return `it is not a POST (the base POSTs <${env}>/deregister)`;
  if (!named) return `it names no agent`;
  const name = ctx.constantValue(named) ?? named.getText();
  if (name !== reg.value && named.getText() !== reg.value) return `it names ${named.getText()}, not ${reg.value}, the name its registration (line ${reg.line}) handed to the base`;
  return { name: named.getText() };
}

/**
 * `if (this.registered && process.env.REGISTRY_URL) { <the request> }`: an if without else whose
 * block is that one statement and whose test reads only the registry URL and the base's
 * `registered` flag (the base deregisters on the same terms). It goes with the request.
 */
function decidingGuard(stmt: Node, env: string, ctx: TsRewriteContext): Node | null {
  let holder = stmt.getParent();
  if (holder && Node.isBlock(holder)) {
    if (holder.getStatements().length !== 1) return null;
    holder = holder.getParent();
  }
  if (!holder || !Node.isIfStatement(holder) || holder.getElseStatement()) return null;
  const onlyRegistryTerms = (e: Node): boolean => {
    if (Node.isParenthesizedExpression(e)) return onlyRegistryTerms(e.getExpression());
    if (Node.isBinaryExpression(e) && ['&&'].includes(e.getOperatorToken().getText())) return onlyRegistryTerms(e.getLeft()) && onlyRegistryTerms(e.getRight());
    if (Node.isBinaryExpression(e) && ['!==', '!='].includes(e.getOperatorToken().getText())) {
      const other = Node.isIdentifier(e.getRight()) && e.getRight().getText() === 'undefined' ? e.getLeft() : null;
      return !!other && onlyRegistryTerms(other);
    }
    if (readsRegistry(e, env, ctx)) return true;
    const member = thisMember(e);
    return member === 'registered' && !!ctx.base.members.get(member) && !ctx.hints.ownFlags?.has(member);
  };
  return onlyRegistryTerms(holder.getExpression()) ? holder : null;
}

/**
 * The onStop() hook whose only work was that deregistration: empty now, it goes (the base's stop()
 * does everything it did). Run after every transform that may write into the hook, so that only a
 * body with nothing left, as the edits leave it, counts.
 */
export function dropEmptiedStopHook(ctx: TsRewriteContext): void {
  const stops = dropped.get(ctx);
  // An onStop() the rewrite wrote is not emptied by the edits (and its delegated methods, the rest of stopPath(), are not hooks).
  if (!stops || ctx.newMembers.some((m) => m.name === 'onStop')) return;
  for (const method of stops) {
    const decl = ctx.members.get(method)?.nodes.find((n) => Node.isMethodDeclaration(n));
    const body = decl && Node.isMethodDeclaration(decl) ? decl.getBody() : undefined;
    if (!decl || !body || !Node.isBlock(body) || ctx.edits.removes(decl.getStart(), decl.getEnd())) continue;
    const left = ctx.edits.textOf(body.getStart(), body.getEnd()).replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, '').replace(/[\s{}]/g, '');
    if (left !== '') continue;
    ctx.edits.removeNode(decl);
    ctx.removedExtra.push(method);
    ctx.warnings.push(`${method}() did nothing but that deregistration: the onStop() hook it became is empty and goes (the base's stop() stops the agent and deregisters it)`);
  }
}

/**
 * A method of the agent's own that deregisters by hand (`deregister()`, called from an 'error'
 * listener and from stop()) and stays, because code that stays calls it: it may decide more than
 * the base does (deregister while a link is down), so it is not dropped; the reviewer learns
 * where it is called and that the base deregisters as well, in its stop().
 */
function reportKeptDeregisterers(ctx: TsRewriteContext, env: string, removed: Set<string>, stops: string[]): void {
  for (const name of ctx.hints.deregisterers ?? []) {
    if (removed.has(name) || stops.includes(name)) continue;
    const body = methodBody(ctx, name);
    // Only a deregistration from the base's registry meets the base's own (one of Consul's does not).
    const request = body && descendantsOfKind(body, SyntaxKind.CallExpression).find((c) => calleeText(c) === 'fetch' && !!c.getArguments()[0] && registryPath(c.getArguments()[0]!, env, ctx));
    if (!request) continue;
    const proof = {
      sameAsBase: (r: CallExpression) => typeof sameAsBase(ctx, r, env, removed) !== 'string',
      isRequestStatement: (st: Node) => deregistrationRequest(st, env, ctx)?.request ?? null,
      readsRegistry: (n: Node) => readsRegistry(n, env, ctx),
      listenerEvent,
    };
    if (deregistererToBaseStop(ctx, name, body, stops, proof)) continue;
    const calls = descendantsOfKind(ctx.cls, SyntaxKind.CallExpression).filter((c) => thisMember(c.getExpression()) === name && !ctx.edits.removes(c.getStart(), c.getEnd()));
    const where = calls.map((c) => {
      const host = c.getFirstAncestor((a) => (Node.isMethodDeclaration(a) || Node.isConstructorDeclaration(a)) && a.getParent() === ctx.cls);
      const hostName = host && Node.isMethodDeclaration(host) ? host.getName() : 'the constructor';
      const listener = listenerEvent(c);
      const label = hostName === 'the constructor' ? hostName : `${ctx.renames.get(hostName) ?? hostName}()`;
      return `${listener ? `the '${listener}' listener in ${label}` : label} (line ${c.getStartLineNumber()})`;
    });
    // The stop path: the hook itself, or a method the onStop() written by the rewrite calls (`await this.shutdown();`).
    const written = ctx.newMembers.filter((m) => m.name === 'onStop').map((m) => m.text).join('\n');
    const onStop = calls.some((c) => {
      const host = c.getFirstAncestor((a) => Node.isMethodDeclaration(a) && a.getParent() === ctx.cls);
      const hostName = host && Node.isMethodDeclaration(host) ? host.getName() : null;
      return !!hostName && (stops.includes(hostName) || new RegExp(`\\bthis\\.${hostName.replace(/\$/g, '\\$')}\\(`).test(written)) && !listenerEvent(c);
    });
    const line = request.getStartLineNumber();
    ctx.kept.push({
      symbol: name,
      line,
      reason:
        `${name}() deregisters from ${env} by hand (line ${line}) and stays: ${where.length > 0 ? `${where.join(', ')} call${where.length === 1 ? 's' : ''} it` : 'code that stays calls it'}; ` +
        `the base deregisters as well, in its stop() after onStop()` +
        (onStop ? `: on stop the registry gets two deregistrations (drop the call on that path once ${name}() undoes only what the base registered)` : ''),
    });
  }
}

/** `this.on('error', (err) => { ... this.deregister() ... })`: the event whose listener makes the call. */
export function listenerEvent(call: Node): string | null {
  for (let p = call.getParent(); p; p = p.getParent()) {
    if (Node.isMethodDeclaration(p) || Node.isConstructorDeclaration(p)) return null;
    if (!(Node.isArrowFunction(p) || Node.isFunctionExpression(p))) continue;
    const on = p.getParent();
    if (!on || !Node.isCallExpression(on) || !/\.(on|once|addListener|prependListener)$/.test(calleeText(on))) continue;
    const event = on.getArguments()[0];
    return event && (Node.isStringLiteral(event) || Node.isNoSubstitutionTemplateLiteral(event)) ? event.getLiteralText() : event?.getText() ?? null;
  }
  return null;
}
