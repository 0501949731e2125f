// Concern: what a removed ad-hoc health endpoint reported. Its business fields move into the
// base's health hook (the profile's `health_hook`, `_get_health_status` for BaseAgent): an
// override built on the base's own payload (`status = super()._get_health_status()`) that adds
// the same fields, read from the same attributes the legacy handler read. A legacy endpoint
// that spoke another protocol (JSON lines, raw TCP, ZMQ) is reported once as a protocol change.
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { isRemoved, keep, withRenames } from '../../src/lang/python/transform-context.js';
import { businessRouteClauses, conditionPaths, containsBlock, routeTableEntries, extractHealthPayload, methodPayloadLines, reportsOwnStatus, untranslatablePayload, type HealthProtocol, type PayloadScope } from '../../src/analysis/health-payload.js';
import { lineEnd, lineStart, renderBlock } from '../../src/lang/python/text.js';
import { CLASS_DEFINITION_TYPE, selfAttribute, statements, walk, walkTypes } from '../../src/lang/python/syntax.js';
import { selfMembers } from '../../src/analysis/infra.js';
import { baseHealthFails, baseHealthWord, handlerFactoryFunctions, healthHook, payloadScope } from './remove-health.js';
import { HTTP_HANDLER_BASE } from './health-patterns.js';
import { baseName } from '../../src/lang/python/module-model.js';
import { freshName, renameMember, reportExternalCallers } from '../../src/lang/python/rename.js';
import { isDataclass } from '../../src/analysis/health-record.js';
import { reachableInOriginal } from '../../src/analysis/reachability.js';
import { reportRawHealthCallers } from './health-raw-callers.js';
import { serverSubclasses } from '../../src/analysis/ports.js';

/** For typed walks (see walkTypes): a search of names. */
const IDENTIFIER: ReadonlySet<string> = new Set(['identifier']);

const PROTOCOL: Record<HealthProtocol, string> = {
  http: 'HTTP',
  zmq: 'a ZMQ REP socket',
  'json-lines': 'JSON lines over TCP',
  tcp: 'a raw TCP socket',
  unix: 'a unix domain socket',
  udp: 'UDP datagrams',
};

export const healthHookTransform: PythonTransform = {
  name: 'health-hook',
  phase: 'edit',
  run(ctx) {
    const hook = healthHook(ctx);
    const regions = removedHealthRegions(ctx);
    if (!regions.length) return;
    const scope = payloadScope(ctx);
    const baseWord = baseHealthWord(ctx);
    const lines: string[] = [];
    const members = new Set<string>();
    const protocols = new Set<HealthProtocol>();
    const methods = new Map<string, string>();
    for (const r of regions) {
      // A handler that also answered business paths on the health port: the base's server answers
      // /health and /metrics only, so those paths are no longer served; a person must give them a home.
      for (const h of unservedRoutes(ctx, businessHandlers(r.node))) {
        const them = h.routes.length > 1 ? 'them' : 'it';
        const orphans = routeOnlyMethods(ctx, h.bodies);
        keep(ctx, h.name, h.line,
          `the health server also answered ${h.routes.join(', ')}, which ${ctx.profile.base_class}'s health server (/health, /metrics) does not serve: ` +
            `the _v2 no longer answers ${them}` +
            (orphans.length ? `, and ${orphans.map((m) => `${m}()`).join(', ')}, called only from there, ${orphans.length > 1 ? 'stay' : 'stays'} uncalled` : '') +
            `; serve ${them} on a port of the agent's own, one ${ctx.profile.base_class} does not bind` + refusalNote(ctx, h.routes));
      }
      const p = extractHealthPayload(r.node, r.scope ?? scope);
      if (p === null) continue;
      if (p === 'untranslatable') {
        // A handler behind a server subclass reading what the agent handed that server (`self.server.provider()`):
        // the provider method handed is what the hook reports (below), so nothing is lost.
        if (r.throughServer && handsPayloadProvider(ctx)) continue;
        // Where it computed them (`payload = owner_ref.health()` in a sidecar's handler): what a person moves.
        const site = payloadSource(untranslatablePayload(r.node, r.scope ?? scope));
        const at = site ? ` (line ${site.startPosition.row + 1}: ${ctx.source.split(/\r?\n/)[site.startPosition.row]!.trim().slice(0, 80)})` : '';
        const item = keep(ctx, r.symbol, r.node.startPosition.row + 1,
          `removed health code reported fields that cannot be expressed in the agent's scope; add them to ${hook}() by hand${at}`);
        // The same class the agent also builds over another object (`HealthSidecar(self.archive, port)`) serves
        // that object on a port of its own: removed with the health code, that listener would go without a word.
        const other = constructionOverOther(ctx, r.symbol);
        if (other && !ctx.unstartable) {
          ctx.unstartable = { ...item, because: `and ${r.symbol} is also built over another object (line ${other.startPosition.row + 1}: ${other.text.replace(/\s+/g, ' ').slice(0, 80)}), a listener the removal would silence` };
        }
        continue;
      }
      for (const d of p.dropped) {
        ctx.warnings.push(d.own
          ? `health field "${d.key}" (line ${d.line}) now says ${ctx.profile.base_class}'s own value (its ${hook}() answers "${d.key}"): the legacy answered self.${d.own}, the agent's own state, which its code still sets; a monitor reading "${d.key}" sees the base's, add self.${d.own} to ${hook}() under another key if it must be seen`
          : d.unknown
          ? `health field "${d.key}" (line ${d.line}) left to ${ctx.profile.base_class}'s ${hook}(), whose keys are not known (no base source, no runtime template): if it does not answer "${d.key}", a monitor reading it gets nothing`
          : `health field "${d.key}" (line ${d.line}) dropped: ${ctx.profile.base_class}'s ${hook}() does not answer it and its value cannot be computed in the agent's scope; a monitor reading it gets nothing`);
      }
      if (p.protocol) protocols.add(p.protocol);
      if (!containsBlock(lines, p.lines)) lines.push(...p.lines);
      for (const [k, v] of p.methods) methods.set(k, v);
      for (const m of p.members) {
        // A payload method (self._health_check()) reads the agent's attributes itself.
        const read = ctx.agent.methods.has(m) ? [...selfMembers(ctx.agent.methods.get(m)!.body)] : parentPayloadReads(ctx, m) ?? [m];
        for (const a of read) if (agentAttribute(ctx, a) && (!ctx.baseOwned.has(a) || ctx.renames.has(a))) members.add(ctx.renames.get(a) ?? a);
      }
    }
    // A health server handed one of the agent's methods as its payload provider: the hook calls that method.
    for (const s of ctx.resolved!.statements) {
      for (const m of s.finding === 'health' ? s.payloadMethods ?? [] : []) {
        const fn = ctx.agent.methods.get(m);
        if (!fn || lines.some((l) => l.includes(`self.${m}()`))) continue;
        lines.push(...methodPayloadLines(`self.${m}()`, reportsOwnStatus(fn.body, baseWord), baseWord, baseHealthFails(ctx)));
        for (const a of selfMembers(fn.body)) if (agentAttribute(ctx, a) && (!ctx.baseOwned.has(a) || ctx.renames.has(a))) members.add(ctx.renames.get(a) ?? a);
      }
      for (const p of s.finding === 'health' ? s.payloadCalls ?? [] : []) {
        const call = withRenames(ctx, p.call);
        if (lines.some((l) => l.includes(call))) continue;
        lines.push(...methodPayloadLines(call, true, baseWord, baseHealthFails(ctx)));
        for (const a of p.members) if (agentAttribute(ctx, a) && (!ctx.baseOwned.has(a) || ctx.renames.has(a))) members.add(ctx.renames.get(a) ?? a);
      }
    }
    // What the base answers on its health port, read from its code (else the profile's validation.health).
    const baseProtocol = (ctx.base.bindKinds.get('health_check_port') ?? ctx.profile.validation?.health ?? 'http') as HealthProtocol;
    // A raw listener (it accepts connections) whose reply could not be read as a payload: still a protocol change.
    if (!protocols.size && baseProtocol === 'http' && regions.some((r) => acceptsRaw(r.node))) protocols.add('tcp');
    // A raw socket the removed code made in the AF_UNIX family listened on a filesystem path, not a TCP port:
    // whoever probed it (a local watchdog) must be told the path is gone, not that a port changed protocol.
    const setUps = [...ctx.resolved!.members]
      .filter(([, m]) => m.finding === 'health' && m.kind === 'attribute')
      .flatMap(([name]) => ctx.agent.assignments.filter((a) => a.attr === name).map((a) => a.stmt));
    if (protocols.has('tcp') && [...regions.map((r) => r.node), ...setUps].some((n) => /\bAF_UNIX\b/.test(n.text))) {
      protocols.delete('tcp');
      protocols.add('unix');
    }
    const changed = [...protocols].filter((p) => p !== baseProtocol);
    if (changed.length) {
      const http = [...ctx.base.bindKinds.entries()].find(([b, k]) => k === 'http' && b !== 'health_check_port')?.[0];
      ctx.warnings.push(
        `protocol change: the legacy health endpoint answered over ${changed.map((p) => PROTOCOL[p]).join(' and ')}; ` +
          `${ctx.profile.base_class} answers ${baseProtocol === 'http' ? 'HTTP GET /health' : PROTOCOL[baseProtocol]} on the health port instead` +
          (http && baseProtocol !== 'http' ? ` (and HTTP GET /health on ${http.replace('health_check_port', 'the health port').replace('+', ' + ')})` : ''),
      );
      reportRawHealthCallers(ctx, changed.map((p) => PROTOCOL[p]).join(' and '), baseProtocol === 'http' ? 'HTTP' : PROTOCOL[baseProtocol]);
    }
    if (!lines.length) return;
    // The agent's own method of that name was renamed (the base calls it before the agent is set up): the
    // new override is where the base calls it later, and it calls the renamed method once the agent is ready.
    const own = ctx.agent.methods.get(hook);
    if (own && !ctx.renames.has(hook)) {
      if (callsSuper(own.body, hook) || own.isAsync || own.params.some((p) => p.name !== 'self' && p.kind === 'plain')) {
        keep(ctx, hook, own.line,
          `the agent already defines ${hook}(); the removed health endpoint also reported ${fieldList(lines)}: add them to it by hand`);
        return;
      }
      // The agent's own payload under the hook's name (answered by its removed endpoint): renamed, and
      // merged into the hook like any payload method, so the base's fields and the agent's are both reported.
      const renamed = freshName(ctx, hook, '_agent_');
      for (const r of renameMember(ctx, hook, renamed, 'health-hook')) {
        keep(ctx, hook, r.line, `called from outside the class after ${hook}() was renamed to ${renamed}() (the base's health endpoint reports ${hook}()); point this caller at ${renamed}() if it is the agent`);
      }
      reportExternalCallers(ctx, hook, renamed, `the base's health endpoint reports ${hook}()`);
      const call = methodPayloadLines(`self.${hook}()`, reportsOwnStatus(own.body, baseWord), baseWord, baseHealthFails(ctx));
      if (!lines.some((l) => l.includes(`self.${hook}()`))) lines.push(...call);
      for (const a of selfMembers(own.body)) if (agentAttribute(ctx, a) && (!ctx.baseOwned.has(a) || ctx.renames.has(a))) members.add(ctx.renames.get(a) ?? a);
      ctx.warnings.push(`${ctx.agent.cls.name}.${hook}() renamed to ${renamed}(): its fields are added to the base's by the ${hook}() override built on super()`);
    }
    // The legacy answered one 2xx code whatever status it reported ("degraded" included), where the base
    // answers failCode for a status other than its healthy word: overriding the base's code hook keeps it.
    const failCode = ctx.base.healthFailCode;
    const codeHook = ctx.base.healthCodeHook;
    const success = failCode && lines.some((l) => /^\s*status\["status"\] = agent_status/.test(l)) && statusCanDiffer(ctx, lines, baseWord) ? regionsSuccessCode(regions) : null;
    const ownCodeHook = !!codeHook && (ctx.agent.methods.has(codeHook) || ctx.inherited().some((p) => p.cls.methods.has(codeHook)));
    const body = guarded(lines, [...members].sort(), ctx);
    // The hook's "starting" (the agent's __init__ not done yet) is a time the legacy answered nothing
    // at all: that keeps the base's code, so no probe takes a half-built agent for one that serves.
    const starting = body.some((l) => /^\s*status\["status"\] = "starting"$/.test(l))
      ? `    if status.get("status") == "starting":\n        return super().${codeHook}(status)\n`
      : '';
    const codeOverride = success !== null && success !== 'several' && codeHook && !ownCodeHook
      ? [`def ${codeHook}(self, status):\n    # The legacy /health answered ${success} whatever status it reported.\n${starting}    return ${success}`]
      : [];
    insertHook(ctx, hook, body, [...methods.values(), ...codeOverride]);
    for (const name of methods.keys()) {
      ctx.warnings.push(`${name}() is the sidecar's payload method, now the agent's (what it read through the sidecar's agent it reads on self): the ${hook}() override calls it`);
    }
    // A payload method that stayed because it carries business data is what the hook now calls: say so.
    for (const l of lines) {
      for (const m of l.matchAll(/self\.(\w+)\(\)/g)) {
        const note = ctx.resolved?.notes.find((n) => n.symbol === m[1] && /^health payload carries business data/.test(n.reason));
        if (note) note.reason = `health payload method kept: the ${hook}() override calls it, so its fields reach ${ctx.profile.base_class}'s health answer`;
      }
    }
    ctx.warnings.push(`${movedFields(lines.map((l) => withRenames(ctx, l)))} moved into ${hook}(), built on ${ctx.profile.base_class}.${hook}()`);
    if (codeOverride.length) {
      ctx.warnings.push(`health status: the legacy endpoint answered HTTP ${success} whatever status it reported, where ${ctx.profile.base_class} answers ${failCode} when the status is not "${baseWord}": ` +
        `${codeHook}() is overridden to answer ${success}, so while the agent reports itself otherwise (a "degraded" it computes) a probe that reads the HTTP code still sees it up, as before`);
    } else if (success !== null) {
      ctx.warnings.push(`health status: the legacy endpoint answered HTTP 2xx whatever status it reported; ${ctx.profile.base_class} answers ${failCode} when the status is not "${baseWord}", ` +
        `so while the agent reports itself otherwise (a "degraded" it computes) a probe that reads the HTTP code (a load balancer, an orchestrator's health check, curl -f) now sees it down, where the legacy only said so in the body` +
        (ownCodeHook ? ` (the agent defines ${codeHook}() itself: not overridden)` : ''));
    }
  },
};

/**
 * Can a status the hook copies from the agent (`agent_status = ...`) be other than healthy? Not when each
 * comes from a method of the agent whose every return is a dict with a healthy literal status (reportsOwnStatus):
 * the base then answers its healthy code as the legacy did, and a code override would be dead code.
 */
function statusCanDiffer(ctx: PythonTransformContext, lines: string[], baseWord: string): boolean {
  return lines.some((l) => {
    const source = /^\s*agent_status = (.*)$/.exec(l)?.[1];
    if (source === undefined) return false;
    const method = /^self\.(\w+)\(\)$/.exec(source)?.[1];
    const fn = method ? ctx.agent.methods.get(method) : undefined;
    return !fn || reportsOwnStatus(fn.body, baseWord);
  });
}

/**
 * The one 2xx code every removed health region answers with (`'several'` when they answer more than
 * one), or null unless each answers only successes (answersOnlySuccess).
 */
function regionsSuccessCode(regions: Array<{ node: SyntaxNode }>): number | 'several' | null {
  const codes = new Set<number>();
  for (const r of regions) {
    // Set-up code that writes no reply of its own (`HealthHandler.pool = self`, the server's construction and
    // thread) says nothing about the codes: the handler region it wires decides them.
    if (!writesReply(r.node)) continue;
    const mine = answersOnlySuccess(r.node);
    if (!mine) return null;
    for (const c of mine) codes.add(c);
  }
  return codes.size === 0 ? null : codes.size === 1 ? [...codes][0]! : 'several';
}

/** A reply call or a hand-written status line anywhere in the region (`send_response`, `sendall`, `wfile.write`, `start_response`, `b"HTTP/1.0 200"`). */
function writesReply(node: SyntaxNode): boolean {
  let writes = false;
  walk(node, (n) => {
    if (writes) return false;
    if (n.type === 'call') {
      const callee = /(\w+)$/.exec(n.childForFieldName('function')?.text ?? '')?.[1] ?? '';
      if (/^(send\w*|write\w*|start_response|respond\w*|reply\w*)$/.test(callee)) writes = true;
    } else if (n.type === 'string' && /HTTP\/1\.[01]/.test(n.text)) writes = true;
  });
  return writes;
}

/**
 * Every HTTP code the removed health code answers with is a success (2xx) or a 404 for another path: it wrote
 * them as constants (`send_response(200)`, `b"HTTP/1.1 200 OK"`) and at least one of them is a 2xx. Those
 * 2xx codes, else null.
 */
function answersOnlySuccess(node: SyntaxNode): Set<number> | null {
  const success = new Set<number>();
  let other = false;
  // The handler's own reply helpers (`def _json(self, code, payload): self.send_response(code)`): the code is
  // what each call of theirs gives that parameter (`self._json(200, ...)`), not a code of the helper's own.
  const helpers = new Map<string, { index: number; send: SyntaxNode }>();
  walk(node, (n) => {
    if (n.type !== 'function_definition') return;
    const params = (n.childForFieldName('parameters')?.namedChildren ?? []).map((p) => p.text);
    walk(n, (c) => {
      if (c.type !== 'call' || !/\.(send_response|send_error)$/.test(c.childForFieldName('function')?.text ?? '')) return;
      const arg = c.childForFieldName('arguments')?.namedChildren[0];
      const index = arg?.type === 'identifier' ? params.indexOf(arg.text) : -1;
      if (index > 0) helpers.set(n.childForFieldName('name')!.text, { index: index - 1, send: c });
    });
  });
  const forwarded = new Set([...helpers.values()].map((h) => h.send.id));
  // A 2xx is a success; a 404 (another path) neither; anything else, or a code not written as a constant, is other.
  const answered = (v: number) => {
    if (v >= 200 && v < 300) success.add(v);
    else if (v !== 404) other = true;
  };
  const count = (code: SyntaxNode | null | undefined) => answered(code?.type === 'integer' ? Number(code.text) : NaN);
  walk(node, (n) => {
    if (other) return false;
    const helper = n.type === 'call' ? /^self\.(\w+)$/.exec(n.childForFieldName('function')?.text ?? '')?.[1] : undefined;
    if (helper && helpers.has(helper)) {
      count(n.childForFieldName('arguments')?.namedChildren[helpers.get(helper)!.index]);
    } else if (n.type === 'call' && !forwarded.has(n.id) && /\.(send_response|send_error)$/.test(n.childForFieldName('function')?.text ?? '')) {
      count(n.childForFieldName('arguments')?.namedChildren[0]);
    } else if (n.type === 'string') {
      const m = /HTTP\/1\.[01] (\d{3})?/.exec(n.text);
      if (m) answered(m[1] ? Number(m[1]) : NaN);
    }
  });
  return success.size && !other ? success : null;
}

/** Removed code accepting connections on a plain socket (`conn, _ = sock.accept()`), not through a server class. */
export function acceptsRaw(node: SyntaxNode): boolean {
  let raw = false;
  walk(node, (n) => {
    if (!raw && n.type === 'call' && /\.accept$/.test(n.childForFieldName('function')?.text ?? '') && !n.childForFieldName('arguments')?.namedChildren.length) raw = true;
  });
  return raw;
}

/**
 * An attribute the agent sets up: in its own class, or in a method of an in-repository parent it inherits
 * (`self.counters` from a mixin's init_counters()), which may run after the base's health server is up.
 */
export function agentAttribute(ctx: PythonTransformContext, a: string): boolean {
  if (ctx.agent.attributes.has(a)) return true;
  return ctx.inherited().some((p) => [...p.cls.methods.values()].some((m) => {
    let set = false;
    walk(m.body, (n) => {
      if (!set && n.type === 'assignment' && selfAttribute(n.childForFieldName('left')!) === a) set = true;
    });
    return set;
  }));
}

/** Removed code of the health concern: methods, handler and sidecar classes, set-up statements. */
export function removedHealthRegions(ctx: PythonTransformContext): Array<{ symbol: string; node: SyntaxNode; scope?: PayloadScope; throughServer?: true }> {
  const out: Array<{ symbol: string; node: SyntaxNode; throughServer?: true }> = [];
  const resolved = ctx.resolved!;
  for (const [name, p] of resolved.members) {
    if (p.finding !== 'health') continue;
    if (p.kind === 'method') out.push({ symbol: name, node: ctx.agent.methods.get(name)!.outer });
    else if (p.kind === 'module-class') {
      const c = ctx.module.classes.find((k) => k.name === name);
      if (c) out.push({ symbol: name, node: c.outer });
    }
  }
  // A statement whose payload region lies inside it (a helper object's removed start method) is read there, in its scope.
  const readInOwnScope = (s: (typeof resolved.statements)[number]) =>
    !!s.payloadRegion && s.node.startIndex <= s.payloadRegion.node.startIndex && s.payloadRegion.node.endIndex <= s.node.endIndex;
  for (const s of resolved.statements) if (s.finding === 'health' && !readInOwnScope(s)) out.push({ symbol: s.symbol, node: s.node });
  // A module-level handler class the removed health server served with (`HTTPServer((h, health_port), StatsHandler)`)
  // that stays (it answers other paths too): what its /health answered moves all the same.
  const handlers = new Map(ctx.module.classes.filter((c) => c.bases.some((b) => HTTP_HANDLER_BASE.test(baseName(b) ?? ''))).map((c) => [c.name, c]));
  const serverSetUps = [...resolved.members]
    .filter(([, p]) => p.finding === 'health' && p.kind === 'attribute')
    .flatMap(([name]) => ctx.agent.assignments.filter((a) => a.attr === name).map((a) => a.stmt));
  // Likewise a module-level sidecar class the removed set-up constructed (`self.sidecar = HealthSidecar(self, port)`)
  // that stays because other code builds it too (a preview mode): the agent's own sidecar goes, and what it
  // answered for the agent moves (else its fields were lost without a word).
  const moduleClasses = new Map(ctx.module.classes.map((c) => [c.name, c]));
  const servers = serverSubclasses(ctx.module.root);
  const handedHandlers = (node: SyntaxNode, throughServer?: true) => walkTypes(node, IDENTIFIER, (n) => {
    const c = n.type === 'identifier' ? handlers.get(n.text) : undefined;
    if (c && !resolved.members.has(c.name) && n.parent?.type === 'argument_list') out.push({ symbol: c.name, node: c.outer, throughServer });
  });
  for (const node of [...out.map((r) => r.node), ...serverSetUps]) {
    handedHandlers(node);
    walkTypes(node, IDENTIFIER, (n) => {
      const built = n.type === 'identifier' && n.parent?.type === 'call' && n.parent.childForFieldName('function')?.id === n.id ? moduleClasses.get(n.text) : undefined;
      if (!built || handlers.has(built.name) || built.name === ctx.agent.cls.name || resolved.members.get(built.name)?.finding === 'health') return;
      out.push({ symbol: built.name, node: built.outer });
      // A server subclass that stays names its handler itself (`super().__init__(address, ProbeHandler)`):
      // that handler answered the removed endpoint, so its fields and extra routes are read as well.
      if (servers.has(built.name)) handedHandlers(built.outer, true);
    });
  }
  // A module function building the handler (`HTTPServer(addr, make_health_handler(self))`) called in removed
  // code: its handler is read with its parameters standing for what that call gave them.
  const factories = handlerFactoryFunctions(ctx);
  const viaFactory: Array<{ symbol: string; node: SyntaxNode; scope: PayloadScope }> = [];
  for (const node of [...out.map((r) => r.node), ...serverSetUps]) {
    for (const f of factories) {
      for (const c of f.calls) {
        if (node.startIndex <= c.call.startIndex && c.call.endIndex <= node.endIndex && !viaFactory.some((v) => v.node.id === f.fn.outer.id)) {
          viaFactory.push({ symbol: f.fn.name, node: f.fn.outer, scope: { ...payloadScope(ctx), params: c.params } });
        }
      }
    }
  }
  // Only the outermost, once: a handler class inside a removed method is searched with the method.
  const unique = out.filter((r, i) => out.findIndex((o) => o.node.startIndex === r.node.startIndex && o.node.endIndex === r.node.endIndex) === i);
  // Health code in another file that a removed statement started (a parent's method): read in its own scope, once.
  const elsewhere = resolved.statements
    .filter((s) => s.finding === 'health' && s.payloadRegion)
    .map((s) => ({ symbol: s.symbol, node: s.payloadRegion!.node, scope: s.payloadRegion!.scope }))
    .filter((r, i, all) => all.findIndex((o) => o.node.id === r.node.id) === i);
  return [...unique.filter((r) => !unique.some((o) => o !== r && o.node.startIndex <= r.node.startIndex && r.node.endIndex <= o.node.endIndex)), ...elsewhere, ...viaFactory];
}

/** A removed health server was handed one of the agent's methods (or calls) as what it reports. */
function handsPayloadProvider(ctx: PythonTransformContext): boolean {
  return ctx.resolved!.statements.some((s) => s.finding === 'health' && ((s.payloadMethods?.length ?? 0) > 0 || (s.payloadCalls?.length ?? 0) > 0));
}

/**
 * The HTTP handler classes of a region that route business paths too, with those paths and the
 * bodies of the clauses that answer business paths only.
 */
function businessHandlers(region: SyntaxNode): Array<{ name: string; line: number; routes: string[]; bodies: SyntaxNode[] }> {
  const out: Array<{ name: string; line: number; routes: string[]; bodies: SyntaxNode[] }> = [];
  walkTypes(region, CLASS_DEFINITION_TYPE, (n) => {
    if (!/HTTPRequestHandler/.test(n.childForFieldName('superclasses')?.text ?? '')) return;
    const clauses = businessRouteClauses(n);
    const routes = [...new Set(clauses.flatMap((c) => c.routes))];
    if (servesFiles(n)) routes.push('every other path (the files its SimpleHTTPRequestHandler base serves)');
    if (routes.length) out.push({ name: n.childForFieldName('name')!.text, line: n.startPosition.row + 1, routes, bodies: clauses.flatMap((c) => (c.body ? [c.body] : [])) });
    return false;
  });
  return out;
}

/** A handler's business routes less those health-extra-routes moved onto the base's extra-routes hook (none left: no item). */
function unservedRoutes<T extends { routes: string[]; bodies: SyntaxNode[] }>(ctx: PythonTransformContext, handlers: T[]): T[] {
  const served = ctx.servedRoutes;
  if (!served?.size) return handlers;
  const isServed = (p: string) => served.has(p.split('?')[0]!.replace(/\/+$/, '') || '/');
  return handlers
    // A served route's clause now runs from its answer method: what it calls is no longer left uncalled.
    .map((h) => ({ ...h, routes: h.routes.filter((p) => !isServed(p)), bodies: h.bodies.filter((b) => !clauseRoutes(b).every(isServed) || !clauseRoutes(b).length) }))
    .filter((h) => h.routes.length > 0);
}

/** The paths a route clause answers: its if/elif test's, or the route table keys naming the handler method it is the body of. */
function clauseRoutes(body: SyntaxNode): string[] {
  const owner = body.parent;
  if (owner?.type === 'if_statement' || owner?.type === 'elif_clause') return conditionPaths(owner.childForFieldName('condition')!);
  if (owner?.type !== 'function_definition') return [];
  let cls: SyntaxNode | null = owner.parent;
  while (cls && cls.type !== 'class_definition') cls = cls.parent;
  return cls ? routeTableEntries(cls).filter((e) => e.body?.id === body.id).map((e) => e.path) : [];
}

/** Why health-extra-routes left these routes (the base has the hook): said after the item's advice. */
export function refusalNote(ctx: PythonTransformContext, routes: string[]): string {
  const why = routes.map((p) => [p, ctx.routeRefusals?.get(p.split('?')[0]!.replace(/\/+$/, '') || '/')] as const).filter(([, w]) => w);
  return why.length ? ` (not moved into ${ctx.base.extraRoutes}(): ${why.map(([p, w]) => `${p}: ${w}`).join('; ')})` : '';
}

/**
 * A handler on a file-serving base (`SimpleHTTPRequestHandler`) that hands paths it does not answer itself
 * to that base: it does not override do_GET, or its do_GET calls the base's (`super().do_GET()`).
 */
function servesFiles(cls: SyntaxNode): boolean {
  if (!/\b(SimpleHTTPRequestHandler|CGIHTTPRequestHandler)\b/.test(cls.childForFieldName('superclasses')?.text ?? '')) return false;
  let doGet: SyntaxNode | null = null;
  for (const st of cls.childForFieldName('body')?.namedChildren ?? []) {
    const def = st.type === 'decorated_definition' ? st.childForFieldName('definition') : st;
    if (def?.type === 'function_definition' && def.childForFieldName('name')?.text === 'do_GET') doGet = def;
  }
  if (!doGet) return true;
  let delegates = false;
  walk(doGet, (n) => {
    if (n.type === 'call' && /^(super\([^)]*\)|\w*HTTPRequestHandler)\.(do_GET|send_head)$/.test(n.childForFieldName('function')?.text ?? '')) delegates = true;
  });
  return delegates;
}

/** The agent's methods that could run in the original only through these route bodies (in order of definition). */
function routeOnlyMethods(ctx: PythonTransformContext, bodies: SyntaxNode[]): string[] {
  if (!bodies.length) return [];
  const all = reachableInOriginal(ctx.module, ctx.agent.cls, ctx.base, ctx.py);
  const without = reachableInOriginal(ctx.module, ctx.agent.cls, ctx.base, ctx.py, bodies);
  return [...all].filter((m) => !without.has(m)).sort((a, b) => ctx.agent.methods.get(a)!.line - ctx.agent.methods.get(b)!.line);
}

function fieldList(lines: string[]): string {
  // A payload call (`self.m()`, `self.cmd_health({...})`) or mapping (`self.counters`) whose keys are known only at run time.
  const source = (l: string) => (/^agent_status = ((?:[\w.]+\(.*\))|self\.[\w.]+)$/.exec(l.trim()) ?? /for k, v in (.+)\.items\(\) if k not in status/.exec(l))?.[1];
  const keys = new Set<string>();
  // (a call's own argument dict, `{"detail": ...}`, names no field of the answer)
  // (`status["status"] = "healthy"`: a kept status word written apart, under `if status.get("status") == "ok":`, see statusGuard)
  for (const l of lines) for (const m of l.replace(source(l) ?? '', '').matchAll(/(?<!== )"([^"]+)":|^\s*status\["(status)"\] = "/g)) keys.add((m[1] ?? m[2])!);
  const sources = lines
    .map(source)
    // (`agent_status` itself is the call above; a computed status word is no source of fields)
    .filter((s): s is string => !!s && s !== 'agent_status')
    .map((s) => `the fields ${s.length > 60 ? `${s.slice(0, 57)}...` : s} ${s.endsWith(')') ? 'returns' : 'holds'}`);
  const named = keys.size ? `fields ${[...keys].map((k) => `"${k}"`).join(', ')}` : '';
  return [named, ...sources].filter(Boolean).join(' and ') || 'the status it answered';
}

/** The warning's subject: `health fields "a", "b" ...`, or `health: the fields self.m() returns`. */
function movedFields(lines: string[]): string {
  const list = fieldList(lines);
  return list.startsWith('fields ') ? `health ${list}` : `health: ${list}`;
}

/**
 * The base's health endpoint starts inside super().__init__(), so it can be asked before the
 * agent's own __init__ has set these attributes: until then the answer is the base's alone.
 */
export function guarded(lines: string[], attrs: string[], ctx?: PythonTransformContext): string[] {
  if (!attrs.length) return lines;
  const test = attrs.length === 1 ? `hasattr(self, ${JSON.stringify(attrs[0])})` : `all(hasattr(self, a) for a in (${attrs.map((a) => JSON.stringify(a)).join(', ')}))`;
  const out = [`if ${test}:`, ...lines.map((l) => `    ${l}`)];
  // The legacy endpoint did not answer at all before the agent's __init__ bound it; the base's
  // answers from inside super().__init__(). When __init__ itself sets every attribute read, a
  // missing one means the agent is still constructing: not ready yet, rather than the base's
  // "ok" followed by the agent's own "initializing" (a healthy answer taken back).
  if (ctx && attrs.every((a) => setByInit(ctx).has(a))) out.push('else:', '    status["status"] = "starting"');
  return out;
}

/** Attributes (under their new names) that top-level statements of the agent's own __init__ assign. */
export function setByInit(ctx: PythonTransformContext): Set<string> {
  const out = new Set<string>();
  const init = ctx.agent.cls.methods.get('__init__');
  if (!init) return out;
  const target = (n: SyntaxNode): void => {
    const attr = selfAttribute(n);
    if (attr) out.add(ctx.renames.get(attr) ?? attr);
    else if (n.type === 'pattern_list' || n.type === 'tuple_pattern') for (const c of n.namedChildren) target(c);
  };
  for (const s of statements(init.body)) {
    let e = s.type === 'expression_statement' ? s.namedChild(0) : null;
    // `self.a = self.b = x`: each left side, down the chain.
    while (e?.type === 'assignment') {
      target(e.childForFieldName('left')!);
      e = e.childForFieldName('right');
    }
  }
  return out;
}

/** The override, right after __init__ (or before the first method when there is none). */
export function insertHook(ctx: PythonTransformContext, hook: string, lines: string[], methods: string[] = []): void {
  const body = ['status = super().' + hook + '()', ...lines.map((l) => withRenames(ctx, l)), 'return status'].map((l) => `    ${l}`).join('\n');
  // Methods it calls that came with the payload (a sidecar's, now the agent's) follow it.
  const block = [`def ${hook}(self):\n${body}\n`, ...methods.map((m) => `${withRenames(ctx, m)}\n`)].join('\n');
  insertAfterInit(ctx, block, 'health-hook');
}

/**
 * A generated method's place in the agent's class: right after __init__ (its last statement that
 * stays), or before the first method when there is no __init__.
 */
export function insertAfterInit(ctx: PythonTransformContext, block: string, tag: string): void {
  const cls = ctx.agent.cls;
  // A dataclass agent's constructor is its __post_init__ (the generated __init__ ends there).
  const dataclass = !cls.methods.has('__init__') && isDataclass(cls);
  const init = cls.methods.get('__init__') ?? (dataclass ? cls.methods.get('__post_init__') : undefined);
  const src = ctx.source;
  if (init) {
    const indent = src.slice(lineStart(src, init.outer.startIndex), init.outer.startIndex);
    // After the last statement of __init__ that stays: trailing statements that go may be deleted
    // together with a removed method that follows, and the hook must not land inside that span.
    // A statement the plan replaces stays, as its replacement (`self._announce()` -> `self._register_service()`):
    // inserted before it, the method would end with that call as its own last line.
    const replaced = (s: SyntaxNode) => !!ctx.resolved?.statements.some((st) => st.replacement !== undefined && st.node.startIndex === s.startIndex && st.node.endIndex === s.endIndex);
    const kept = statements(init.body).filter((s) => !isRemoved(ctx, s) || replaced(s));
    const after = kept.length ? kept[kept.length - 1]! : init.body;
    // After what other transforms append to __init__ at the same place (the publisher handed to the
    // base, written later in the pipeline): inserted before them, the method would swallow those lines.
    ctx.edits.insertLate(lineEnd(src, after.endIndex), ctx.layout.eol + renderBlock(block, indent, ctx.layout), tag);
    return;
  }
  const members = statements(cls.body);
  const first = members.find((s) => s.type === 'function_definition' || s.type === 'decorated_definition');
  const fields = first ? members[members.indexOf(first) - 1] : undefined;
  if (dataclass && fields) {
    // After the fields, where super-init wrote __post_init__ (the first method may be one that goes).
    const indent = src.slice(lineStart(src, fields.startIndex), fields.startIndex);
    ctx.edits.insert(lineEnd(src, fields.endIndex), ctx.layout.eol + renderBlock(block, indent, ctx.layout), tag);
    return;
  }
  const anchor = first ?? statements(cls.body)[0]!;
  const indent = src.slice(lineStart(src, anchor.startIndex), anchor.startIndex);
  ctx.edits.insert(lineStart(src, anchor.startIndex), renderBlock(block, indent, ctx.layout) + ctx.layout.eol, tag);
}

function callsSuper(body: SyntaxNode, name: string): boolean {
  let found = false;
  walk(body, (n) => {
    if (n.type === 'call' && new RegExp(`^super\\(.*\\)\\.${name}$`, 's').test(n.childForFieldName('function')?.text ?? '')) found = true;
  });
  return found;
}

/**
 * A payload method of an in-repository parent (a mixin's `health_snapshot()`), not the agent's: what it reads
 * of the agent, and what the agent's own methods it calls read (`self.health_fields()` returning the agent's
 * counters), so the hook waits for those as it does for an agent's payload method. Null when no parent has it.
 */
function parentPayloadReads(ctx: PythonTransformContext, m: string): string[] | null {
  const fn = ctx.inherited().find((p) => p.cls.methods.has(m))?.cls.methods.get(m);
  if (!fn) return null;
  return [...selfMembers(fn.body)].flatMap((a) => (ctx.agent.methods.has(a) ? [...selfMembers(ctx.agent.methods.get(a)!.body)] : [a]));
}

/** A construction of `cls` in the agent's class whose first argument is not the agent itself, else null. */
function constructionOverOther(ctx: PythonTransformContext, cls: string): SyntaxNode | null {
  let found: SyntaxNode | null = null;
  walk(ctx.agent.cls.node, (n) => {
    if (found || n.type !== 'call' || n.childForFieldName('function')?.text !== cls) return;
    const first = n.childForFieldName('arguments')?.namedChildren[0];
    if (first && first.type !== 'keyword_argument' && first.text !== 'self') found = n;
  });
  return found;
}

/**
 * What a payload sent was computed from: a name's last assignment before it in its function (`payload =
 * owner_ref.health()` for `json.dumps(payload)`), else the payload expression itself (null stays null).
 */
function payloadSource(value: SyntaxNode | null): SyntaxNode | null {
  if (value?.type !== 'identifier') return value;
  let fn: SyntaxNode | null = value.parent;
  while (fn && fn.type !== 'function_definition') fn = fn.parent;
  let found: SyntaxNode | null = null;
  if (fn) walk(fn, (n) => {
    if (n.type === 'assignment' && n.startIndex < value.startIndex && n.childForFieldName('left')?.text === value.text) found = n;
  });
  return found ?? value;
}
