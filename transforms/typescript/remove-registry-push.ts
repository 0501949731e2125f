// Concern `registry` (registration with the service registry and metrics pushes to a
// Pushgateway): hand-made POST <registry>/register and PUT <gateway>/metrics/job/<name>
// methods, the flags and URLs only they use. The base registers and pushes metrics itself.
import { Node, SyntaxKind, type CallExpression, type ObjectLiteralExpression, type VariableDeclaration } from 'ts-morph';
import type { TsRewriteContext } from '../../src/lang/typescript/context.js';
import { callerList, methodBody } from '../../src/lang/typescript/context.js';
import { intervalCalls, isSetInterval, pushKind } from '../../src/lang/typescript/patterns.js';
import { blockStatements, descendantsOfKind, envName, isLogCall, mayBeTopLevel, pureValue, statementCall, thisMember, thisMembers, topLevelVariableRead, wrap } from '../../src/lang/typescript/syntax.js';
import { indentAt } from '../../src/lang/typescript/edits.js';
import { recordOverride } from './registration-record.js';
import { warnAdvertisedHost } from './advertised-host.js';
import { exposedSamples, pushTarget, type PushedSample } from './pushed-samples.js';
import { carryRegistryEnv, registryUrlOf } from './registry-env.js';
import { registeredHealthPort } from './registered-health-port.js';
import { registeredBusinessPort, staticFactoryPort } from './registered-business-port.js';
import { registeredFieldPort } from './registered-field-port.js';
import { keptRegistrationHealthPort } from './kept-registration-health-port.js';
import { listenerEvent } from './stop-deregistration.js';
import { entriesOf, keepDerivedRegistration } from './derived-registry-entry.js';
import { dropInlineRegistrations } from './inline-registration.js';
import { baseCannotRegisterAgain, keptReregistration, reregistrationCalls } from './reregistration-kept.js';
import { wireReregistration } from './reregistration-wired.js';
import { dropImportedRegistration } from './imported-registration.js';
import { dropRegistrationRetryLoops } from './registration-retry-loop.js';

export function removeRegistryPush(ctx: TsRewriteContext): void {
  const refreshes = registryRefreshes(ctx);
  // The name the base registers and pushes under is known first (a registration may come after the push):
  // from a registration with the base's registry first (REGISTRY_URL), then from any other.
  const registrations = [...ctx.members.values()].flatMap((m) => {
    const body = m.kind === 'method' ? methodBody(ctx, m.name) : undefined;
    return body && pushKind(body) === 'registry' ? [{ name: m.name, body }] : [];
  });
  const toBase = new Set(registrations.filter((r) => readsRegistryEnv(ctx, r.body)).map((r) => r.name));
  for (const r of [...registrations.filter((x) => toBase.has(x.name)), ...registrations.filter((x) => !toBase.has(x.name))]) registeredName(ctx, r.name, r.body);
  // Else a helper of another module may name it (and its calls go to the base).
  dropImportedRegistration(ctx);
  const pushes = metricsPushes(ctx);
  const keptTimers = new Set<string>();
  // Registrations that stay the agent's own (a refresh, fields the base does not send) and the
  // flag members met, decided once the loop knows which registrations stay.
  const keptRegistrations: Node[] = [];
  const flags: string[] = [];
  for (const name of pushes.keys()) for (const t of timersOf(ctx, name)) keptTimers.add(t);
  for (const m of ctx.members.values()) {
    if (m.kind === 'method') {
      const own = methodBody(ctx, m.name);
      if (own && pushKind(own) === 'registry') dropInlineRegistrations(ctx, m.name, own, ctx.ts.super_call.name_property);
      // A hook the base calls (onStop() deregistering from the agent's own registry, then closing
      // its server) has a caller: the base. It is never a hand-made push nothing calls.
      if (isBaseHook(ctx, m.name)) continue;
      const body = methodBody(ctx, m.name);
      const kind = body ? pushKind(body) : null;
      // `fetch(`${this.registryUrl}/deregister`, ...)` names neither REGISTRY_URL nor /register: no push by
      // its text, but a deregistration all the same, which stop-deregistration.ts proves the base's or reports.
      if (!kind && body && onlyDeregisters(body) && /\bfetch\(/.test(body.getText())) (ctx.hints.deregisterers ??= new Set()).add(m.name);
      if (!kind) continue;
      // Another registry's (a Consul agent's `/v1/agent/service/register` at CONSUL_HTTP_ADDR) beside a
      // registration with the base's registry: not the base's to make, the agent's own business.
      if (kind === 'registry' && toBase.size > 0 && !toBase.has(m.name)) {
        const target = registryTarget(ctx, body!);
        const registering = registrations.filter((r) => toBase.has(r.name) && /['"`/]register\b/.test(r.body.getText())).map((r) => `${r.name}()`);
        ctx.warnings.push(
          `${m.name}() registers with ${target ?? 'another registry'}, not with ${ctx.registryEnv}${registering.length > 0 ? ` (which ${registering.join(', ')} registered with, and the base registers with now)` : ''}: kept as the agent's own, with its calls; the base does not register there`,
        );
        continue;
      }
      if (kind === 'metrics' && pushes.has(m.name)) {
        pushes.get(m.name)!();
        continue;
      }
      // A method whose only registry request is a deregistration (a stop() that also does business
      // work, a deregister() the agent's events call) is no registration: it sends no fields, and
      // stop-deregistration.ts says what becomes of it when it stays (kept quietly here).
      const deregisters = kind === 'registry' && onlyDeregisters(body!);
      // Undoing a second entry of the agent's (`${this.name}-http`), which the base never registers.
      if (deregisters && entriesOf(ctx, body!, registryNameKeys(ctx)).derived.length > 0) continue;
      if (deregisters) {
        (ctx.hints.deregisterers ??= new Set()).add(m.name);
        // Only the deregistration is the base's: the method's other statements must be
        // infrastructure by the strict test. (The push test would pass `this.abort.abort()`,
        // `clearInterval(this.heartbeat)` or `this.server.close()` of members that stay, since
        // none calls a method of the agent, and a stop() ending the agent's own loop would go.)
        // A local it computes without effects (`const url = process.env.REGISTRY_URL;`) goes
        // with it.
        const requests = blockStatements(body!).filter((s) => onlyDeregisters(s) || effectlessLocal(s));
        ctx.plan.proposeMember({
          name: m.name,
          finding: kind,
          reason: `${m.name}() deregisters by hand; the base deregisters in its stop()`,
          condition: (removed) => (ctx.isInfraMethod(m.name, removed, requests) ? null : `${m.name}() also does business work`),
          quiet: true,
        });
        continue;
      }
      if (kind === 'registry') registeredName(ctx, m.name, body!);
      if (kind === 'registry' && keepDerivedRegistration(ctx, m.name, body!, registryNameKeys(ctx))) {
        keptRegistrations.push(body!);
        continue;
      }
      // Also called by a kept heartbeat to register again once the registry forgot the agent: wired to the
      // base's on-demand registration (reregistration-wired.ts), or, with none to call, it stays (reregistration-kept.ts).
      const again = kind === 'registry' && !refreshes.has(m.name) ? reregistrationCalls(ctx, m.name, refreshes.keys()) : [];
      const wired = again.length > 0 && wireReregistration(ctx, m.name, again);
      if (again.length > 0 && !wired && (!!ctx.base.registerOnceMethod || baseCannotRegisterAgain(ctx))) {
        ctx.kept.push(keptReregistration(ctx, m.name, body!.getParentOrThrow().getStartLineNumber(), again));
        keptRegistrations.push(body!);
        ctx.after.push((removed) => keptRegistrationHealthPort(ctx, m.name, body!, removed));
        continue;
      }
      const refresh = kind === 'registry' ? refreshes.get(m.name) : undefined;
      if (refresh) {
        // A registration repeated on a timer (the registry expires members that stay silent):
        // the base registers once, at start. The refresh stays the agent's own, with its timer.
        (ctx.hints.heartbeats ??= new Set()).add(m.name);
        keptRegistrations.push(body!);
        ctx.after.push((removed) => keptRegistrationHealthPort(ctx, m.name, body!, removed));
        // Its URL from another variable than the base's (CATALOG_URL, not REGISTRY_URL: probe-node70's DiskExporter,
        // probe-node71's WebhookRelay): a registration in a registry of its own, which the _v2 keeps beside the base's.
        const elsewhere = otherRegistryUrl(ctx, body!);
        ctx.warnings.push(
          elsewhere
            ? `${m.name}() registers with ${elsewhere}, not with ${ctx.registryEnv} where the base registers, and again every ${refresh.ms} (setInterval, line ${refresh.line}): ` +
                `kept with its timer as the agent's own registration in that registry, so it is still listed there; the base registers with ${ctx.registryEnv} as well, a second entry in the base's registry. ` +
                `Where both name the same registry in a deployment, drop ${m.name}() and its timer (the base's registration replaces them)`
            : `${m.name}() re-registers with the registry every ${refresh.ms} (setInterval, line ${refresh.line}); the base registers only once, at start: ` +
                `${m.name}() and its timer are kept so the registration is still refreshed (drop them once the registry keeps members without a refresh)`,
        );
        continue;
      }
      // (A start method's inline request that went took its fields along: inline-registration.ts.)
      const extra = kind === 'registry' && !ctx.hints.inlineRegistrationsDropped?.has(m.name) ? unsentFields(ctx, body!) : null;
      // Fields the base's record hook can carry (read at registration, as the legacy read them): the
      // registration goes like any other, and an override of the hook sends them.
      const override = extra ? recordOverride(ctx, m.name, body!, extra) : null;
      if (extra && !override) {
        // The registry learns more from it than the base sends (tags, a version, a zone): what
        // reads those would lose them. It stays, said precisely, beside the base's registration.
        const item = {
          symbol: m.name,
          line: extra.line,
          reason:
            `${m.name}() registers ${extra.fields.map((f) => `'${f}'`).join(', ')} (line ${extra.line}), which the base's registration does not send (it sends ${BASE_SENDS.join(', ')}): ` +
            `kept with its calls, so the registry still gets them; the base registers as well, ${noRecordHook(ctx)}. ` +
            `The two registrations race (whichever lands last is the registry's record): when the base's lands last those fields are gone; when this one does, the record has its ` +
            `${extra.ports.length > 0 ? extra.ports.join(', ') : 'values'}, not the ports the base serves (AGENT_PORT, HEALTH_CHECK_PORT move those). ` +
            `Decide whether the registry's readers need those fields: if not, remove ${m.name}() and its calls; if so, the base must send them`,
        };
        ctx.kept.push(item);
        keptRegistrations.push(body!);
        ctx.after.push((removed) => {
          const rewired = keptRegistrationHealthPort(ctx, m.name, body!, removed);
          if (rewired.length === 0 || extra.ports.length === 0) return;
          // What it sends in place of the base's values, less what now is the base's health port.
          const left = extra.ports.filter((p) => !rewired.includes(p));
          const said = `the record has its ${extra.ports.join(', ')}, not the ports the base serves (AGENT_PORT, HEALTH_CHECK_PORT move those)`;
          const now = `${left.length > 0 ? `the record has its ${left.join(', ')}, not the ports the base serves (AGENT_PORT, HEALTH_CHECK_PORT move those), and` : 'the record has'} the base's health port (this.healthCheckPort, sent in place of the removed health server's)`;
          item.reason = item.reason.replace(said, now);
        });
        const events = eventDrivenRegistration(ctx, m.name);
        if (events) item.reason += events;
        // Its `this.registered = true` stays only where the rewrite keeps it (a flag the agent
        // declared goes with its declaration, the base's own flag set by the base's registration).
        const assigned = baseFlagAssignments(ctx, body!);
        if (assigned.length > 0) {
          ctx.after.push(() => {
            const kept = [...new Set(assigned.filter((f) => !ctx.edits.removes(f.node.getStart(), f.node.getEnd())).map((f) => f.name))];
            const gone = [...new Set(assigned.filter((f) => !kept.includes(f.name)).map((f) => f.name))];
            const own = kept.filter((f) => ctx.hints.ownFlags?.has(f));
            const merged = kept.filter((f) => !ctx.hints.ownFlags?.has(f));
            if (own.length > 0) item.reason += `; its ${own.map((f) => `this.${f}`).join(', ')} stays the agent's own flag under another name (the base owns ${own.join(', ')}): kept code decides by it, not by the base's registration`;
            if (merged.length > 0) item.reason += `, and both now set ${merged.map((f) => `this.${f}`).join(', ')} (the base's)`;
            if (gone.length > 0) item.reason += `; its ${gone.map((f) => `this.${f} = ...`).join(', ')} went: ${gone.length > 1 ? 'those are' : 'that is'} the base's, set by the base's own registration`;
          });
        }
        continue;
      }
      // `for (...; attempt < 5 && !registered; ...) { registered = await this.register(); ... }`: its retries go with it.
      if (kind === 'registry') dropRegistrationRetryLoops(ctx, m.name);
      ctx.plan.proposeMember({
        name: m.name,
        finding: kind,
        reason: kind === 'registry' ? `${m.name}() registers by hand; the base registers with REGISTRY_URL` : `${m.name}() pushes metrics by hand; the base pushes to METRICS_URL`,
        condition: (removed) => (ctx.isInfraMethod(m.name, removed, [], true) ? null : `${m.name}() also does business work`),
        // A start method whose inline registration went (inline-registration.ts) registers no more:
        // what stays of it is its business, kept as the base's start hook, nothing to review.
        quiet: !!ctx.hints.inlineRegistrationsDropped?.has(m.name),
      });
      // Registered with another variable's registry (CATALOG_URL) where the base registers with REGISTRY_URL: the
      // base's variable is set from it before the class (carryRegistryEnv); where that URL's shape is not one it can
      // carry, said, since an agent deployed without REGISTRY_URL naming that registry is listed there no more.
      if (kind === 'registry') {
        ctx.after.push((removed) => {
          if (!removed.has(m.name) || carryRegistryEnv(ctx, m.name, body!)) return;
          const elsewhere = otherRegistryUrl(ctx, body!);
          if (elsewhere) {
            ctx.warnings.push(
              `${m.name}() registered with ${elsewhere}, not with ${ctx.registryEnv}: removed as the registration the base now makes, with ${ctx.registryEnv}; ` +
                `the agent is listed in that registry only where ${ctx.registryEnv} names it (set it so where the agent is deployed), no longer through ${elsewhere.replace(/ \(.*$/, '')}`,
            );
          }
        });
      }
      if (kind === 'registry') ctx.after.push((removed) => removed.has(m.name) && warnRegistryLogLines(ctx, m.name, body!));
      const payload = kind === 'registry' && !extra ? registrationPayload(body!, ctx.ts.super_call.name_property) : null;
      if (payload) ctx.after.push((removed) => removed.has(m.name) && warnAdvertisedHost(ctx, m.name, payload));
      if (kind === 'registry') ctx.after.push((removed) => removed.has(m.name) && registeredHealthPort(ctx, m.name, body!, removed));
      if (kind === 'registry') ctx.after.push((removed) => removed.has(m.name) && dropGuardedDeregistrations(ctx, m.name, body!, removed));
      if (kind === 'registry') ctx.after.push((removed) => removed.has(m.name) && registeredBusinessPort(ctx, m.name, body!, removed));
      if (kind === 'registry') ctx.after.push((removed) => removed.has(m.name) && registeredFieldPort(ctx, m.name, body!, removed));
      if (kind === 'registry') ctx.after.push(() => staticFactoryPort(ctx, m.name, body!));
      if (override) {
        ctx.after.push((removed) => {
          if (removed.has(m.name)) override();
          // Kept for its business work (its own review item): it still sends them, racing the base's record.
          // (Unless its inline request went: inline-registration.ts wrote the override then.)
          else if (!ctx.hints.inlineRegistrationsDropped?.has(m.name)) ctx.warnings.push(`${m.name}() stays and still registers ${extra!.fields.map((f) => `'${f}'`).join(', ')} (line ${extra!.line}) beside the base's registration: whichever lands last is the registry's record`);
        });
      }
      if (kind === 'metrics') {
        // Business metrics it pushed are not lost silently: name them for the reviewer.
        const read = [...thisMembers(body!)].filter((x) => ctx.members.get(x)?.kind === 'property' || ctx.members.get(x)?.kind === 'parameter-property');
        ctx.after.push((removed) => {
          const lost = read.filter((x) => !removed.has(x));
          if (removed.has(m.name) && lost.length > 0) {
            ctx.warnings.push(`${m.name}() pushed ${lost.map((x) => `this.${x}`).join(', ')}; the base pushes only what reportMetric() records: report them there`);
          }
        });
      }
    } else if (m.kind === 'property' && ([...refreshes.values()].some((r) => r.timer === m.name) || keptTimers.has(m.name))) {
      continue; // the timer of a kept registration refresh or metrics push
    } else if (/^(registered|registryUrl|registryURL|metricsUrl|metricsURL|pushGatewayUrl|pushgatewayUrl|heartbeatTimer|metricsTimer|registerTimer)$/.test(m.name)) {
      flags.push(m.name);
    }
  }
  for (const name of flags) {
    if (ownFlag(ctx, name, keptRegistrations)) {
      (ctx.hints.ownFlags ??= new Set()).add(name);
      continue;
    }
    ctx.plan.proposeMember({ name, finding: /regist/i.test(name) ? 'registry' : 'metrics', reason: `${name} served the hand-made registration/metrics push`, quiet: true });
  }
}

/**
 * `if (this.registered) { await fetch(`${REGISTRY_URL}/deregister`, ...); }` in kept code (a stop
 * method), the flag set by a registration that went: the deregistration undid that registration,
 * and goes with it (the base deregisters what it registered). Left, the `if` would read the base's
 * own flag (true once the base registered with REGISTRY_URL) and deregister, from the agent's
 * registry, a name the _v2 never registered there: the entry of the legacy instance still running.
 * Only an `if` on the flag alone, with no else, whose every statement is a deregistration call.
 */
function dropGuardedDeregistrations(ctx: TsRewriteContext, method: string, body: Node, removed: Set<string>): void {
  const flags = new Set<string>();
  for (const b of descendantsOfKind(body, SyntaxKind.BinaryExpression)) {
    const target = b.getOperatorToken().getKind() === SyntaxKind.EqualsToken ? thisMember(b.getLeft()) : null;
    // The flag went with the registration (its declaration), or the name is the base's (reads bind to it).
    if (target && (removed.has(target) || ctx.base.members.has(target)) && ctx.members.get(target)?.kind !== 'method') flags.add(target);
  }
  if (flags.size === 0) return;
  for (const stmt of descendantsOfKind(ctx.cls, SyntaxKind.IfStatement)) {
    if (stmt.getElseStatement() || ctx.edits.removes(stmt.getStart(), stmt.getEnd())) continue;
    let cond: Node = stmt.getExpression();
    while (Node.isParenthesizedExpression(cond)) cond = cond.getExpression();
    const flag = Node.isPropertyAccessExpression(cond) ? thisMember(cond) : null;
    if (!flag || !flags.has(flag)) continue;
    const then = stmt.getThenStatement();
    const statements = Node.isBlock(then) ? then.getStatements() : [then];
    if (statements.length === 0 || !statements.every(isDeregistrationCall)) continue;
    ctx.edits.removeNode(stmt);
    ctx.warnings.push(
      `the deregistration at line ${stmt.getStartLineNumber()} (if (this.${flag})) undid ${method}(), which went: it goes too (the base deregisters what it registered; left, it would read the base's ${flag} and deregister a name this agent no longer registers there)`,
    );
  }
}

/** `await fetch(`${URL}/deregister`, ...).catch(...)`, `this.http.delete('/v1/agent/service/deregister/x')`: one call that deregisters. */
function isDeregistrationCall(stmt: Node): boolean {
  if (!Node.isExpressionStatement(stmt)) return false;
  let e: Node = stmt.getExpression();
  if (Node.isAwaitExpression(e) || Node.isVoidExpression(e)) e = e.getExpression();
  return Node.isCallExpression(e) && /deregister/i.test(e.getText()) && /(fetch|request|post|put|delete|http)/i.test(e.getText());
}

/**
 * The log lines of a removed registration (`console.log('order-sync: registered')`) go with it,
 * and the base prints its own, other lines: a monitor or a deploy check that greps the agent's
 * lines would wait for them for ever, so each is named.
 */
function warnRegistryLogLines(ctx: TsRewriteContext, name: string, body: Node): void {
  const lines = body
    .getDescendantsOfKind(SyntaxKind.ExpressionStatement)
    .filter((s) => isLogCall(statementCall(s)))
    .map((s) => `line ${s.getStartLineNumber()}: ${s.getText().replace(/\s*\n\s*/g, ' ').replace(/;$/, '')}`);
  if (lines.length === 0) return;
  ctx.warnings.push(
    `${name}()'s log line${lines.length > 1 ? 's' : ''} (${lines.join('; ')}) went with it: the base logs its own instead ("registered with <registry>", "no REGISTRY_URL set; not registering", on stderr), so a monitor or check that greps the old line${lines.length > 1 ? 's' : ''} must grep the base's`,
  );
}

/**
 * `this.registered = true` in a registration that stays (the agent's own registry learns more
 * than the base sends), and `if (this.registered) await deregister(...)` in kept code: the flag
 * says whether the agent's own registration happened, and kept code decides by it (whether to
 * undo that registration on stop, to retry it). The base's `registered` says something else (its
 * registration with REGISTRY_URL, false when there is none), so the flag stays the agent's own,
 * under another name. A flag only reported (a /health field) is the base's concern: it goes.
 */
function ownFlag(ctx: TsRewriteContext, name: string, keptRegistrations: Node[]): boolean {
  if (!ctx.base.members.has(name)) return false;
  if (!keptRegistrations.some((b) => baseFlagAssignments(ctx, b).some((f) => f.name === name))) return false;
  let decides = false;
  ctx.cls.forEachDescendant((n, walk) => {
    if (decides) return walk.stop();
    if (thisMember(n) !== name || !Node.isPropertyAccessExpression(n)) return;
    // The test of an if / ?: / loop, or the left side of a `&&` / `||` guard.
    for (let child: Node = n, p = n.getParent(); p; child = p, p = p.getParent()) {
      if ((Node.isIfStatement(p) || Node.isWhileStatement(p) || Node.isDoStatement(p) || Node.isConditionalExpression(p)) && (Node.isConditionalExpression(p) ? p.getCondition() : p.getExpression()) === child) {
        decides = true;
        return;
      }
      if (Node.isBinaryExpression(p) && [SyntaxKind.AmpersandAmpersandToken, SyntaxKind.BarBarToken].includes(p.getOperatorToken().getKind())) {
        if (p.getLeft() === child && Node.isExpressionStatement(p.getParent())) {
          decides = true;
          return;
        }
        continue;
      }
      if (Node.isPrefixUnaryExpression(p) || Node.isParenthesizedExpression(p)) continue;
      return;
    }
  });
  return decides;
}

/**
 * A kept registration the agent's own events drive (`this.on('ready', () => this.register())`,
 * `this.on('error', () => this.deregister())`): the registry listed the agent only while that
 * event's condition held. The base registers once at start whatever the events say, under the same
 * name: what that loses is said with the listeners' lines, for the reviewer to decide.
 */
function eventDrivenRegistration(ctx: TsRewriteContext, method: string): string {
  const calls = (name: string) => descendantsOfKind(ctx.cls, SyntaxKind.CallExpression).filter((c) => thisMember(c.getExpression()) === name);
  const on = calls(method).flatMap((c) => {
    const ev = listenerEvent(c);
    return ev ? [`'${ev}' (line ${c.getStartLineNumber()})`] : [];
  });
  if (on.length === 0) return '';
  const off: string[] = [];
  for (const m of ctx.members.values()) {
    const body = m.kind === 'method' ? methodBody(ctx, m.name) : undefined;
    if (!body || !/['"`/](de|un)register\b/.test(body.getText())) continue;
    for (const c of calls(m.name)) {
      const ev = listenerEvent(c);
      if (ev) off.push(`'${ev}' (line ${c.getStartLineNumber()}, ${m.name}())`);
    }
  }
  const first = on[0]!.replace(/ \(.*$/, '');
  return (
    `; registration followed the agent's events: its ${on.join(', ')} listener${on.length > 1 ? 's register' : ' registers'}${off.length > 0 ? ` and its ${off.join(', ')} listener${off.length > 1 ? 's deregister' : ' deregisters'}` : ''}, ` +
    `so the registry listed it only after ${first}${off.length > 0 ? ' and until the deregistering event' : ''}. The base registers the same name once at start whatever those events say: ` +
    `before the first ${first} (and for good when it never comes) the registry now lists an agent the legacy kept out of it; to keep that rule, the base's registration must wait for ${first} (a base change)`
  );
}

/** `const url = process.env.REGISTRY_URL;`: locals computed without effects, reading nothing of the agent. */
function effectlessLocal(stmt: Node): boolean {
  if (!Node.isVariableStatement(stmt)) return false;
  return stmt.getDeclarations().every((d) => {
    const init = d.getInitializer();
    return !!init && pureValue(init) && thisMembers(init).size === 0;
  });
}

/** Its requests go to a /deregister (or /unregister) path and none to /register. */
function onlyDeregisters(body: Node): boolean {
  const text = body.getText();
  // (Or through a client's method, `this.registry.deregister()`: matched by pushKind()'s `registry ... register`, it
  // is no registration, and read as one the whole method went by the push test, a drain of in-flight work with it.)
  return /['"`/](de|un)register\b|(?<!\bthis)\.(de|un)register\(/.test(text) && !/['"`/]register\b|(?<!\bthis)\.register\(/.test(text);
}

/** A hook the base declares for subclasses to override (onStart, runOnce, onStop, healthStatus): the base calls it. */
function isBaseHook(ctx: TsRewriteContext, name: string): boolean {
  return !!ctx.base.members.get(name)?.hook;
}

/**
 * `body: JSON.stringify({ name: 'lease-reaper', port: this.port })` in a registration: the name
 * the registry knew the agent by, when it is a value known before super() (a literal, a
 * module constant). The super() call passes it, so the base registers under the same name.
 * Registries keyed otherwise (`service: SERVICE_ID`, `id: 'catalog'`, Consul's `Name`/`ID`) name
 * the agent just the same; a name known only at run time is reported, not dropped in silence.
 */
function registeredName(ctx: TsRewriteContext, method: string, body: Node): void {
  if (ctx.hints.registryName && !ctx.hints.registryName.derived) return;
  const keys = registryNameKeys(ctx);
  const { derived } = entriesOf(ctx, body, keys);
  let runtime: { value: string; line: number; method: string; runtime: true } | undefined;
  const literals = descendantsOfKind(body, SyntaxKind.ObjectLiteralExpression);
  for (const lit of [...literals.filter(handedToRegister), ...literals.filter((l) => !handedToRegister(l))]) {
    const prop = keys.map((k) => lit.getProperty(k)).find((p) => p && (Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p)));
    if (!prop) continue;
    const init = Node.isPropertyAssignment(prop) ? prop.getInitializer() : Node.isShorthandPropertyAssignment(prop) ? prop.getNameNode() : undefined;
    // A second entry (`${this.name}-http`) names no agent: the name it is built from is the
    // agent's, unless another registration names the agent outright (it wins, below or later).
    const second = derived.find((d) => d.init === init);
    if (second) {
      const from = ctx.constantValue(second.from);
      if (from && !ctx.hints.registryName) ctx.hints.registryName = { value: from, line: second.line, method, derived: init!.getText() };
      continue;
    }
    const value = init ? ctx.constantValue(init) : null;
    if (value) {
      ctx.hints.registryName = { value, line: prop.getStartLineNumber(), method };
      return;
    }
    runtime ??= { value: init?.getText() ?? prop.getText(), line: prop.getStartLineNumber(), method, runtime: true };
  }
  if (runtime && !ctx.hints.registryName) ctx.hints.registryName = runtime;
}

/** Members of the base a method assigns (`this.registered = res.ok`). */
function baseFlagAssignments(ctx: TsRewriteContext, body: Node): Array<{ name: string; node: Node }> {
  const out: Array<{ name: string; node: Node }> = [];
  for (const b of descendantsOfKind(body, SyntaxKind.BinaryExpression)) {
    if (b.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
    const target = thisMember(b.getLeft());
    if (target && ctx.base.members.has(target)) out.push({ name: target, node: b });
  }
  return out;
}

/** What the base's registration carries besides the name. */
export const BASE_SENDS = ['name', 'host', 'port', 'health_check_port', 'pid'];
export const BASE_SENT_KEYS = new Set(['host', 'port', 'health_check_port', 'healthCheckPort', 'health_port', 'healthPort', 'pid', 'address', 'Address', 'Port']);

/**
 * The fields of a registration payload (the object literal naming the service) the base does not
 * send: `tags: ['search', 'catalog']`, and the base's fields it sends values of its own for. Null when
 * it sends nothing more (or names no service).
 */
function unsentFields(ctx: TsRewriteContext, body: Node): { fields: string[]; line: number; ports: string[]; payload: ObjectLiteralExpression } | null {
  return registrationExtraFields(body, ctx.ts.super_call.name_property);
}

/** unsentFields() of a registration outside a class (a closure factory's), `nameProperty` the base's option naming the agent; `payload` is the literal sent. */
export function registrationExtraFields(body: Node, nameProperty = 'name'): { fields: string[]; line: number; ports: string[]; payload: ObjectLiteralExpression } | null {
  const keys = new Set([nameProperty, ...REGISTRY_NAME_KEYS]);
  const lit = registrationPayload(body, nameProperty);
  if (lit) {
    const props = lit.getProperties();
    // A spread (`...this.meta`) sends fields no one can list here: they count as more.
    const fields = props.map((p) => named(p) ?? p.getText()).filter((k) => !keys.has(k) && !BASE_SENT_KEYS.has(k));
    const first = props.find((p) => !keys.has(named(p) ?? '') && !BASE_SENT_KEYS.has(named(p) ?? ''));
    // What it sends in place of the base's own values (`health_check_port: this.healthPort`), as written.
    const ports = props.filter((p) => Node.isPropertyAssignment(p) && BASE_SENT_KEYS.has(p.getName())).map((p) => p.getText());
    return fields.length > 0 ? { fields, line: first!.getStartLineNumber(), ports, payload: lit } : null;
  }
  return null;
}

const named = (p: Node) => (Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p) ? p.getName() : null);

/**
 * The literal a registration method sends (the object naming the service): the one handed to a
 * client's register(), else the one the request sends (`body: JSON.stringify({ name, port })`, not an
 * options object named before it, a static create() building `{ name: 'pricing', publicPort, ... }`),
 * else the first naming one.
 */
export function registrationPayload(body: Node, nameProperty = 'name'): ObjectLiteralExpression | null {
  const keys = new Set([nameProperty, ...REGISTRY_NAME_KEYS]);
  const naming = descendantsOfKind(body, SyntaxKind.ObjectLiteralExpression).filter((lit) => lit.getProperties().some((p) => keys.has(named(p) ?? '')));
  const sent = naming.filter((lit) => lit.getFirstAncestor((a) => Node.isCallExpression(a) && /(^|\.)(stringify|fetch|request|post|put)$/i.test(a.getExpression().getText())));
  const registered = naming.filter(handedToRegister);
  return (registered.length > 0 ? registered : sent.length > 0 ? sent : naming)[0] ?? null;
}

/**
 * Handed to a client's register() (`this.registry.register({ name: SERVICE, host, port })`): the
 * registration's payload, before any other literal of the method that names a service (a /health
 * answer's `{ status: 'ok', service: SERVICE }` stringified in a request handler).
 */
function handedToRegister(lit: ObjectLiteralExpression): boolean {
  const call = lit.getParent();
  return Node.isCallExpression(call) && call.getArguments().includes(lit) && /(^|\.)register\w*$/i.test(call.getExpression().getText());
}

export function registryNameKeys(ctx: TsRewriteContext): string[] {
  return [ctx.ts.super_call.name_property, ...REGISTRY_NAME_KEYS];
}

/** Keys registration payloads name the service by, in the order they are trusted. */
const REGISTRY_NAME_KEYS = ['name', 'Name', 'serviceName', 'service_name', 'service', 'Service', 'agentName', 'agent_name', 'agent', 'id', 'ID', 'serviceId', 'service_id'];

/**
 * Methods a repeating timer calls by themselves (`setInterval(() => void this.beat(), ms)`): when
 * such a method registers with the registry it refreshes the registration. A method that loops
 * over what it sends (flushing queued registrations) is a retry, which the base does itself.
 */
function registryRefreshes(ctx: TsRewriteContext): Map<string, { ms: string; line: number; timer: string | null }> {
  const out = new Map<string, { ms: string; line: number; timer: string | null }>();
  for (const m of ctx.members.values()) {
    if (m.kind !== 'method' && !(ctx.ctor && m.name === 'constructor')) continue;
    const body = methodBody(ctx, m.name);
    if (!body) continue;
    for (const { stmt, call, timer } of [...intervalCalls(body), ...collectedIntervalCalls(body)]) {
      const [cb, ms] = call.getArguments();
      if (!cb) continue;
      const called = [...thisMembers(cb)].filter((x) => ctx.members.get(x)?.kind === 'method');
      if (called.length !== 1) continue;
      const target = methodBody(ctx, called[0]!);
      if (!target || pushKind(target) !== 'registry' || target.getDescendants().some((n) => Node.isIterationStatement(n))) continue;
      out.set(called[0]!, { ms: ms?.getText() ?? '?', line: stmt.getStartLineNumber(), timer });
    }
  }
  return out;
}

/**
 * `this.timers.push(setInterval(this.beat, ms))`: a timer kept in a list of the agent's (cleared
 * with the others on stop). The list is no one timer's, so none is named.
 */
function collectedIntervalCalls(body: Node): Array<{ stmt: Node; call: CallExpression; timer: string | null }> {
  const out: Array<{ stmt: Node; call: CallExpression; timer: string | null }> = [];
  for (const stmt of descendantsOfKind(body, SyntaxKind.ExpressionStatement)) {
    const e = stmt.getExpression();
    if (!Node.isCallExpression(e)) continue;
    const callee = e.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'push' || !thisMember(callee.getExpression())) continue;
    const [arg, ...rest] = e.getArguments();
    if (arg && rest.length === 0 && Node.isCallExpression(arg) && isSetInterval(arg)) out.push({ stmt, call: arg, timer: null });
  }
  return out;
}

/**
 * Metrics pushes that stay, each with what keeping it does: a push to a Pushgateway group other
 * than the one the base pushes to (`/metrics/job/batch_exports/instance/ledger-exporter`: an
 * alert reads it there) stays whole; a push to the agent's own job would be replaced by the
 * base's push (a PUT replaces the group) and replace it in turn, so its samples go through
 * reportMetric() instead, on the same timer; one that cannot be turned so is kept for review.
 * Pushes that read none of the agent's state are not here: they go, as before.
 */
function metricsPushes(ctx: TsRewriteContext): Map<string, () => void> {
  const out = new Map<string, () => void>();
  const reg = ctx.hints.registryName;
  const ownName = reg && !reg.runtime && /^(['"`])[^'"`]*\1$/.test(reg.value) ? reg.value.slice(1, -1) : ctx.className;
  for (const m of ctx.members.values()) {
    if (m.kind !== 'method') continue;
    const body = methodBody(ctx, m.name);
    if (!body || pushKind(body) !== 'metrics') continue;
    const target = pushTarget(body, ownName);
    if (!target) continue;
    const keep = () => (ctx.hints.heartbeats ??= new Set()).add(m.name);
    if (!target.own || target.grouped) {
      if (target.job === null && !target.grouped) {
        out.set(m.name, () => {
          keep();
          ctx.kept.push({ symbol: m.name, line: target.line, reason: `${m.name}() pushes to ${target.path} (line ${target.line}), a job known only at run time: kept with its timer; if it is the agent's own job (${ownName}), the base's push replaces it (and it the base's): report its samples through reportMetric() instead` });
        });
        continue;
      }
      out.set(m.name, () => {
        keep();
        ctx.warnings.push(`${m.name}() pushes to the Pushgateway group ${target.path} (line ${target.line}), not the job ${ownName} the base pushes to: kept, with what calls it, so that group still gets its samples`);
      });
      continue;
    }
    const business = [...thisMembers(body)].some((x) => ctx.members.get(x)?.kind !== 'method' && !ctx.base.members.has(x)) || hasParameters(body);
    if (!business) continue; // pushes nothing of the agent's: the base's push replaces it
    const found = ownJobSamples(ctx, body);
    out.set(m.name, () => {
      keep();
      const reason = `${m.name}() pushes the agent's samples to ${target.path} (line ${target.line}), the job the base pushes to: the two pushes replace each other's samples`;
      if (!found) {
        ctx.kept.push({ symbol: m.name, line: target.line, reason: `${reason}; report them through reportMetric() and drop the push` });
        return;
      }
      // The base labels every sample agent="<its name>", over any agent label it is given.
      const foreign = found.samples.find((s) => s.agent !== undefined && s.agent !== ownName);
      if (foreign) {
        ctx.kept.push({
          symbol: m.name,
          line: target.line,
          reason: `${reason}, and it labels ${foreign.name} agent="${foreign.agent}", where the base labels every sample agent="${ownName}": kept; once the dashboards read agent="${ownName}", report the samples through reportMetric() and drop the push`,
        });
        return;
      }
      const { samples, guard } = found;
      reportThroughBase(ctx, body, samples);
      const callers = ctx.outsideCallers(m.name);
      ctx.warnings.push(
        `${m.name}() pushed ${[...new Set(samples.map((s) => s.name))].join(', ')} to ${target.path} (line ${target.line}), the job the base pushes to: it now records them with reportMetric() on the same timer, and the base pushes them` +
          (guard !== null ? `; its guard on the gateway (line ${guard}) went with the push: the base pushes only while METRICS_URL is set` : '') +
          (callers.length > 0 ? `; ${callerList(callers)} now record them too, and the base pushes them within METRICS_PUSH_INTERVAL (not at once)` : ''),
      );
    });
  }
  return out;
}

function hasParameters(body: Node): boolean {
  const fn = body.getParent();
  return !!fn && (Node.isMethodDeclaration(fn) || Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) && fn.getParameters().length > 0;
}

/**
 * The samples of a method that does nothing but push them: a local exposition (or one written in
 * the request's `body:`) and the request, alone or in a try whose catch only logs; before them,
 * maybe a guard that skips the push while no gateway is set (`const url = process.env.METRICS_URL;
 * if (!url) return;`). The base pushes only while METRICS_URL is set, so such a guard goes with
 * the push: the samples are recorded every time, which without a gateway nothing reads but the
 * base's own /metrics. `guard` is the line of that guard.
 */
function ownJobSamples(ctx: TsRewriteContext, body: Node): { samples: PushedSample[]; guard: number | null } | null {
  if (!Node.isBlock(body) || hasParameters(body)) return null;
  const stmts = body.getStatements();
  let exposition: Node | undefined;
  let local: Node | undefined;
  for (const prop of descendantsOfKind(body, SyntaxKind.PropertyAssignment)) {
    if (prop.getName() !== 'body') continue;
    const init = prop.getInitializer();
    if (init && Node.isIdentifier(init)) {
      const decl = init.getSymbol()?.getDeclarations()[0];
      if (decl && Node.isVariableDeclaration(decl) && body.containsRange(decl.getPos(), decl.getEnd())) {
        exposition = decl.getInitializer();
        local = decl.getFirstAncestorByKind(SyntaxKind.VariableStatement);
      }
    } else exposition = init;
  }
  for (const sh of descendantsOfKind(body, SyntaxKind.ShorthandPropertyAssignment)) {
    if (sh.getName() !== 'body') continue;
    const decl = sh.getValueSymbol()?.getDeclarations()[0];
    if (decl && Node.isVariableDeclaration(decl) && body.containsRange(decl.getPos(), decl.getEnd())) {
      exposition = decl.getInitializer();
      local = decl.getFirstAncestorByKind(SyntaxKind.VariableStatement);
    }
  }
  if (!exposition) return null;
  const push = (s: Node) => Node.isExpressionStatement(s) && !!s.getExpression().getText().match(/\b(fetch|request|put|post)\b/i);
  const requests = stmts.flatMap((s) => (push(s) ? [s] : Node.isTryStatement(s) ? s.getTryBlock().getStatements().filter(push) : []));
  const guards = gatewayGuards(stmts.filter((s) => s !== local), requests);
  const onlyPush = stmts.every((s) => {
    if (s === local || guards.has(s)) return true;
    if (push(s)) return true;
    if (Node.isTryStatement(s) && !s.getFinallyBlock()) {
      const tries = s.getTryBlock().getStatements();
      const caught = s.getCatchClause()?.getBlock().getStatements() ?? [];
      return tries.length === 1 && push(tries[0]!) && caught.every((c) => isLogCall(statementCall(c)));
    }
    return false;
  });
  const samples = onlyPush ? exposedSamples(ctx, exposition) : null;
  const ifs = [...guards].filter((g) => Node.isIfStatement(g));
  return samples ? { samples, guard: ifs.length > 0 ? ifs[0]!.getStartLineNumber() : null } : null;
}

/**
 * Statements before the push that only decide whether there is a gateway to push to: locals read
 * without side effects (`const url = process.env.METRICS_URL`) that only the request and the
 * guards read, and `if (<cond>) return;` whose condition reads only those locals, the
 * environment, or members the request itself reads for its URL.
 */
function gatewayGuards(stmts: Node[], requests: Node[]): Set<Node> {
  const out = new Set<Node>();
  if (requests.length === 0) return out;
  const inRequest = (n: Node) => requests.some((r) => r.containsRange(n.getPos(), n.getEnd()));
  const requestMembers = new Set(requests.flatMap((r) => [...thisMembers(r)]));
  const locals = new Map<Node, Node>(); // declaration -> its statement
  for (const s of stmts) {
    if (!Node.isVariableStatement(s)) continue;
    const decls = s.getDeclarations();
    if (decls.every((d) => Node.isIdentifier(d.getNameNode()) && !!d.getInitializer() && sideEffectFree(d.getInitializer()!))) for (const d of decls) locals.set(d, s);
  }
  const guardOf = (s: Node): boolean => {
    if (!Node.isIfStatement(s) || s.getElseStatement()) return false;
    const then = s.getThenStatement();
    const onlyReturn = (n: Node) => Node.isReturnStatement(n) && !n.getExpression();
    if (!(onlyReturn(then) || (Node.isBlock(then) && then.getStatements().length === 1 && onlyReturn(then.getStatements()[0]!)))) return false;
    const cond = s.getExpression();
    if (!sideEffectFree(cond)) return false;
    return [cond, ...cond.getDescendants()].every((n) => {
      if (Node.isPropertyAccessExpression(n) && n.getExpression().getText() === 'process' && n.getName() === 'env') return true;
      const member = thisMember(n);
      if (member) return requestMembers.has(member);
      if (!Node.isIdentifier(n)) return true;
      const parent = n.getParent();
      if (parent && Node.isPropertyAccessExpression(parent) && parent.getNameNode() === n) return true;
      if (n.getText() === 'process') return true;
      const decl = n.getSymbol()?.getDeclarations()[0];
      return !!decl && locals.has(decl);
    });
  };
  const ifs = stmts.filter(guardOf);
  // A local is the gateway's when it is read nowhere but in the request and the guards.
  for (const [decl, stmt] of locals) {
    const name = (decl as VariableDeclaration).getName();
    const reads = stmts.flatMap((s) => (s === stmt ? [] : descendantsOfKind(s, SyntaxKind.Identifier).filter((i) => i.getText() === name && i.getSymbol()?.getDeclarations()[0] === decl)));
    const inGuard = (n: Node) => ifs.some((g) => g.containsRange(n.getPos(), n.getEnd()));
    if (reads.length > 0 && reads.every((r) => inRequest(r) || inGuard(r))) out.add(stmt);
  }
  for (const g of ifs) {
    const usesDropped = descendantsOfKind(g, SyntaxKind.Identifier).some((i) => {
      const decl = i.getSymbol()?.getDeclarations()[0];
      return !!decl && locals.has(decl) && !out.has(locals.get(decl)!);
    });
    if (!usesDropped) out.add(g);
  }
  return out;
}

/** No call, assignment, increment, await or `new`: reading it changes nothing. */
function sideEffectFree(n: Node): boolean {
  return [n, ...n.getDescendants()].every((d) => {
    if (Node.isCallExpression(d) || Node.isNewExpression(d) || Node.isAwaitExpression(d) || Node.isDeleteExpression(d) || Node.isPostfixUnaryExpression(d)) return false;
    if (Node.isPrefixUnaryExpression(d)) return d.getOperatorToken() !== SyntaxKind.PlusPlusToken && d.getOperatorToken() !== SyntaxKind.MinusMinusToken;
    if (Node.isBinaryExpression(d)) return !/=$/.test(d.getOperatorToken().getText()) || /^(==|===|!=|!==|<=|>=)$/.test(d.getOperatorToken().getText());
    return true;
  });
}

/**
 * The method's body becomes reportMetric() calls. Gauges are set; a `_total` sample (the base adds
 * what it is given) is reported as its growth since the last push, kept in one new field.
 */
function reportThroughBase(ctx: TsRewriteContext, body: Node, samples: PushedSample[]): void {
  const indent = indentAt(ctx.text, body.getParent()!.getStart());
  const inner = indent + ctx.unit;
  const q = ctx.quote;
  const num = (s: PushedSample) => (s.numeric ? s.value : `Number(${s.value})`);
  const lines: string[] = [`// Recorded for the base, which pushes them to the agent's own job.`];
  const counters = samples.filter((s) => s.name.endsWith('_total'));
  let field = '';
  if (counters.length > 0) {
    field = 'pushedTotals';
    for (let i = 2; ctx.members.has(field); i++) field = `pushedTotals${i}`;
    ctx.newFields.push(ctx.js ? `${field} = new Map();` : `private readonly ${field} = new Map<string, number>();`);
    const typed = ctx.js ? '' : ': Array<[string, number, Record<string, string>]>';
    lines.push(`const totals${typed} = [`);
    for (const s of counters) lines.push(`${ctx.unit}[${q}${s.name}${q}, ${num(s)}, ${s.labels || '{}'}],`);
    lines.push('];');
    lines.push('for (const [name, value, labels] of totals) {');
    lines.push(`${ctx.unit}const key = name + JSON.stringify(labels);`);
    lines.push(`${ctx.unit}this.reportMetric(name, value - (this.${field}.get(key) ?? 0), labels);`);
    lines.push(`${ctx.unit}this.${field}.set(key, value);`);
    lines.push('}');
  }
  for (const s of samples) {
    if (s.name.endsWith('_total')) continue;
    lines.push(`this.reportMetric(${q}${s.name}${q}, ${num(s)}${s.labels ? `, ${s.labels}` : ''});`);
  }
  ctx.edits.replace(body.getStart(), body.getEnd(), `{\n${lines.map((l) => inner + l).join('\n')}\n${indent}}`);
}

/** Members holding a timer whose callback calls the method (`this.metricsTimer = setInterval(() => void this.pushMetrics(), 10_000)`). */
function timersOf(ctx: TsRewriteContext, method: string): string[] {
  const out: string[] = [];
  for (const m of ctx.members.values()) {
    if (m.kind !== 'method' && !(ctx.ctor && m.name === 'constructor')) continue;
    const body = methodBody(ctx, m.name) ?? (m.name === 'constructor' ? ctx.ctor?.getBody() : undefined);
    if (!body) continue;
    for (const { call, timer } of intervalCalls(body)) {
      const cb = call.getArguments()[0];
      if (timer && cb && thisMembers(cb).has(method)) out.push(timer);
    }
  }
  return out;
}

/**
 * Why the base's own registration does not send a kept registration's extra fields: a base with a
 * record hook could (registration-record.ts writes its override), only not for these.
 */
function noRecordHook(ctx: TsRewriteContext): string {
  const hook = ctx.base.registrationRecordMethod;
  if (!hook) return 'and its registration has no way to add fields';
  if (ctx.members.has(hook)) return `and the agent has a ${hook}() of its own, which the rewrite does not extend`;
  const begin = ctx.base.registrationStartMethod;
  return (
    `and its ${hook}() hook adds only fields it can read where the base registers (at start${begin ? `, or where a registration called once was, through super.${begin}()` : ''}), ` +
    `sent to the base's registry and host and not on the agent's events: these are not`
  );
}

/**
 * The method reads the base's registry variable (REGISTRY_URL): `process.env.REGISTRY_URL` in its
 * body, or a module constant (or a constant of the class's members, `this.registryUrl`) set from it.
 */
function readsRegistryEnv(ctx: TsRewriteContext, body: Node): boolean {
  const env = ctx.registryEnv;
  if (!env) return false;
  const mentions = (n: Node | undefined) => !!n && [n, ...n.getDescendants()].some((d) => envName(d) === env);
  if (mentions(body)) return true;
  // A member set from it (`this.registryUrl`), a const of it: the URL its request is sent to.
  if (registryUrlOf(ctx, body)?.env === env) return true;
  for (const id of descendantsOfKind(body, SyntaxKind.Identifier)) {
    if (!mayBeTopLevel(id)) continue;
    // Read from the syntax where it settles the name (a rewrite's file whose only declaration of the
    // name is that top-level variable): the checker this getSymbol() built was a third of such a rewrite.
    const read = topLevelVariableRead(id);
    const d = read ? wrap(id, read) : id.getSymbol()?.getDeclarations()[0];
    if (d && Node.isVariableDeclaration(d) && Node.isSourceFile(d.getVariableStatement()?.getParent()) && mentions(d.getInitializer())) return true;
  }
  return false;
}

/** The environment variable (or module constant) the method's URL is read from, for the warning: `CONSUL (process.env.CONSUL_HTTP_ADDR)`. */
function registryTarget(ctx: TsRewriteContext, body: Node): string | null {
  for (const id of descendantsOfKind(body, SyntaxKind.Identifier)) {
    const target = otherEnvConst(ctx, id);
    if (target) return target;
  }
  return null;
}

/** `CATALOG (process.env.CATALOG_URL)` when `id` reads a module variable set from another environment variable than the base's registry one. */
function otherEnvConst(ctx: TsRewriteContext, id: Node): string | null {
  if (!Node.isIdentifier(id) || !mayBeTopLevel(id)) return null;
  // (Read from the syntax where it settles the name, as readsRegistryEnv does: the checker not built for it.)
  const read = topLevelVariableRead(id);
  const d = read ? wrap(id, read) : id.getSymbol()?.getDeclarations()[0];
  if (!d || !Node.isVariableDeclaration(d) || !Node.isSourceFile(d.getVariableStatement()?.getParent())) return null;
  const init = d.getInitializer();
  const env = init ? [init, ...init.getDescendants()].map(envName).find((e) => e) : undefined;
  return env && env !== ctx.registryEnv ? `${d.getName()} (process.env.${env})` : null;
}

/**
 * `${CATALOG}/register` where CATALOG is a module variable read from another environment variable than
 * the base's registry one (process.env.CATALOG_URL, not REGISTRY_URL), and the method reads the base's
 * nowhere: "CATALOG (process.env.CATALOG_URL)". Null otherwise (a port variable in the payload is no target).
 * Asked by several rules of one method: answered once per method body.
 */
export function otherRegistryUrl(ctx: TsRewriteContext, body: Node): string | null {
  const known = otherRegistryUrls.get(body);
  if (known !== undefined) return known;
  let found: string | null = null;
  if (!readsRegistryEnv(ctx, body)) {
    for (const t of descendantsOfKind(body, SyntaxKind.TemplateExpression)) {
      if (!/\/register\b/.test(t.getText())) continue;
      const head = t.getTemplateSpans()[0]?.getExpression();
      found = head ? otherEnvConst(ctx, head) : null;
      if (found) break;
    }
  }
  otherRegistryUrls.set(body, found);
  return found;
}
const otherRegistryUrls = new WeakMap<Node, string | null>();
