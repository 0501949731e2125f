// The _v2 listens where the legacy agent listened. The legacy agent's listening ports are
// taken during its own run (the log baseline); the ports the validator gave it (AGENT_PORT,
// HEALTH_CHECK_PORT) map to the ones the _v2 was given, any other port (a literal 5624) must
// be the same, but for one the legacy agent derived from them (its AGENT_PORT + 2), or from its own
// port as its code fixes it (`port=7340`, AGENT_PORT unread: its 7342): the _v2's same neighbour. The _v2 may listen on more (the base's own ports): only a missing one fails.
// Health pairs with health, business with business: the _v2's health port (the base's /health)
// stands in only for the legacy agent's own health port, never for a port its business listened on.
import type { CheckResult } from '../../core/types.js';
import { ephemeralRange } from '../ports.js';
import { result } from './common.js';

export interface PortsOptions {
  /** Ports the legacy agent listened on, or null when its run could not be observed. */
  legacy: number[] | null;
  /** Why the legacy run was not observed (when legacy is null). */
  legacyNote?: string;
  /** The validator's ports for the legacy run → the ones for the _v2 run. */
  mapping: Map<number, number>;
  /** Neighbours of the legacy run's given ports (reserved with them) → the same neighbours of the _v2's. */
  derived?: Map<number, number>;
  /** Ports the _v2 listens on, or null when they could not be read. */
  now: number[] | null;
  /**
   * The health ports: the _v2's (the validator's HEALTH_CHECK_PORT, where the base serves it) and
   * the legacy agent's when it had one (the given one, or one it bound itself that answered the probe).
   */
  health: { v2: number; legacy?: number; how?: string };
  /**
   * The legacy agent's own port as its code fixes it (`port=7340`, AGENT_PORT unread) and the _v2's AGENT_PORT,
   * which its base takes instead: the neighbours the legacy derived from the one (7342) are the _v2's of the other.
   */
  own?: { legacy: number; v2: number };
  ms: number;
}

/** How far past a given port a legacy agent's derived port may lie and still pair with the _v2's. */
const FAR_OFFSET = 64;

export function checkPorts(o: PortsOptions): CheckResult {
  if (o.legacy === null) {
    return { ...result('ports', true, o.ms, `not compared: ${o.legacyNote ?? 'the legacy agent was not observed'}`), skipped: true };
  }
  if (o.now === null) return { ...result('ports', true, o.ms, 'not compared: listening ports cannot be read on this system'), skipped: true };
  // A port the validator did not give it, in the kernel's ephemeral range, was picked by the OS
  // (a bind to port 0): another run gets another one, so it is not compared.
  const [lo, hi] = ephemeralRange();
  // A port the legacy agent derived from a given one beyond the reserved block (a second agent of the file
  // on AGENT_PORT + 10, its health on + 11): the _v2's same neighbour of its own given port, when it listens
  // there. Only a small offset counts, so a fixed port never pairs by chance with one drawn at random.
  const far = new Map<number, number>();
  // The legacy agent's health on a port it chose itself: the _v2's health port is where it went.
  const health = new Map<number, number>();
  if (o.health.legacy !== undefined && !o.mapping.has(o.health.legacy) && !o.derived?.has(o.health.legacy)) health.set(o.health.legacy, o.health.v2);
  // Its own port from its code first: a legacy agent that bound neighbours of that one read no AGENT_PORT.
  const anchors = [...(o.own && !o.mapping.has(o.own.legacy) ? [[o.own.legacy, o.own.v2] as const] : []), ...o.mapping.entries()];
  for (const p of o.legacy) {
    if (o.mapping.has(p) || o.derived?.has(p) || health.has(p)) continue;
    const from = anchors.find(([legacy, v2]) => p - legacy > 0 && p - legacy <= FAR_OFFSET && o.now!.includes(v2 + p - legacy));
    if (from) far.set(p, from[1] + p - from[0]);
  }
  const mapped = (p: number) => o.mapping.get(p) ?? o.derived?.get(p) ?? far.get(p) ?? health.get(p);
  const ephemeral = o.legacy.filter((p) => mapped(p) === undefined && p >= lo && p <= hi);
  const expected = o.legacy.filter((p) => !ephemeral.includes(p)).map((p) => mapped(p) ?? p);
  let missing = expected.filter((p) => !o.now!.includes(p));
  // A legacy agent that ignored the validator's ports (a literal 7701 for its health) and a _v2
  // whose base takes them from the environment listen on different numbers for the same role:
  // such a fixed port pairs with a port the validator gave the _v2 that the legacy agent left unused.
  // Not the _v2's health port: that one is paired above with the legacy agent's health, or with nothing.
  const unusedGiven = [...o.mapping.entries()].filter(([legacy, v2]) => v2 !== o.health.v2 && !o.legacy!.includes(legacy) && o.now!.includes(v2)).map(([, v2]) => v2);
  const label = (p: number) => {
    const own = [...health.entries()].find(([, v]) => v === p)?.[0];
    if (own !== undefined) return `${p} (legacy ${own}, its health port${o.health.how ? `, ${o.health.how}` : ''})`;
    // The legacy port that listened: a derived neighbour it left unbound maps to the same _v2 port.
    const from = [...o.mapping.entries(), ...(o.derived?.entries() ?? []), ...far.entries()].find(([l, v]) => v === p && o.legacy!.includes(l))?.[0];
    if (from !== undefined && o.own && far.get(from) === o.own.v2 + from - o.own.legacy) return `${p} (legacy ${from}, its port ${o.own.legacy} + ${from - o.own.legacy} read from its code)`;
    return from === undefined ? `${p}` : `${p} (legacy ${from})`;
  };
  const paired: string[] = [];
  // The legacy agent's own port and neighbours it derived from it (5660 and its PUB on 5662), all fixed, and a
  // _v2 whose base took its port from the validator and whose agent derives the same neighbours from it: one
  // fixed port pairs with a given one, and each other by the same offset when the _v2 listens there. Pairing
  // them one by one in order gave a neighbour the validator's health port, and failed with one more neighbour.
  const givenV2 = new Set(o.mapping.values());
  const fixed = missing.filter((p) => !o.mapping.has(p) && !givenV2.has(p));
  let anchor: { from: number; to: number; moved: number[] } | null = null;
  for (const g of unusedGiven) {
    for (const p of fixed) {
      const moved = fixed.filter((q) => q !== p && Math.abs(q - p) <= FAR_OFFSET && !givenV2.has(g + q - p) && o.now!.includes(g + q - p));
      if (moved.length && (!anchor || moved.length > anchor.moved.length)) anchor = { from: p, to: g, moved };
    }
  }
  if (anchor) {
    const { from, to, moved } = anchor;
    unusedGiven.splice(unusedGiven.indexOf(to), 1);
    paired.push(`${label(from)} (fixed in the legacy agent) as ${to} (the validator's)`,
      ...moved.map((q) => `${label(q)} (the legacy agent's ${from} ${q > from ? '+' : '-'} ${Math.abs(q - from)}) as ${to + q - from}`));
    missing = missing.filter((p) => p !== from && !moved.includes(p));
  }
  // The legacy agent's health on a neighbour it derived from its port (`port + 1`, HEALTH_CHECK_PORT unread): the
  // _v2's base serves health on the health port it is given, which stands in for that neighbour when it listens there.
  const derivedHealth = o.health.legacy !== undefined ? o.derived?.get(o.health.legacy) : undefined;
  if (derivedHealth !== undefined && missing.includes(derivedHealth) && o.now.includes(o.health.v2)) {
    paired.push(`${o.health.legacy} (the legacy agent's health port, derived from its port${o.health.how ? `, ${o.health.how}` : ''}) as ${o.health.v2} (the _v2's health port)`);
    missing = missing.filter((p) => p !== derivedHealth);
    expected.splice(expected.indexOf(derivedHealth), 1);
  }
  missing = missing.filter((p) => {
    if (o.mapping.has(p) || [...o.mapping.values()].includes(p) || !unusedGiven.length) return true;
    const how = [...(o.derived?.values() ?? [])].includes(p) ? 'derived in the legacy agent from its port' : 'fixed in the legacy agent';
    paired.push(`${label(p)} (${how}) as ${unusedGiven.shift()} (the validator's)`);
    return false;
  });
  if (missing.length) {
    // A port of the legacy agent's business (not its health port) says so: the _v2's health port,
    // listening or not, was no stand-in for it.
    const role = (p: number) => (p !== o.health.v2 ? `${label(p)} (a business port)` : health.size ? label(p) : `${label(p)} (the health port)`);
    return result('ports', false, o.ms,
      `the legacy agent listened on ${expected.map(label).join(', ')}; the _v2 does not listen on ${missing.map(role).join(', ')} (it listens on ${o.now.join(', ') || 'nothing'})`);
  }
  const extra = o.now.filter((p) => !expected.includes(p));
  return result('ports', true, o.ms,
    `listens where the legacy agent did: ${expected.map(label).join(', ') || 'no fixed port'}${paired.length ? `; ${paired.join(', ')}` : ''}${extra.length ? `; also ${extra.join(', ')}` : ''}` +
      `${ephemeral.length ? ` (the legacy agent's OS-picked ${ephemeral.join(', ')} not compared)` : ''}`);
}

/** The port a registry record advertises (`port`, a number or a Redis hash's string), or null. */
export function advertisedPort(record: Record<string, unknown> | undefined): number | null {
  const v = record?.port;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : null;
}

/**
 * The registry sends callers to the port an agent registers. A legacy agent that listened on the port it
 * registered served its callers there; a _v2 registering a port it does not listen on (its base took
 * AGENT_PORT while the agent's listener still binds its constructor's port parameter) leaves them a dead
 * address, though it listens on every port the legacy one did. Only then: most agents never listen on
 * the port they register (a worker, a health-only agent), and nothing at run time tells a business
 * listener on a fixed port from an exporter on one, so without the legacy run's registration this says nothing.
 */
export function withRegisteredPort(check: CheckResult, o: { legacyRegistered: number | null; legacy: number[] | null; registered: number | null; now: number[] | null }): CheckResult {
  if (o.registered === null || o.now === null || o.legacy === null || o.legacyRegistered === null) return check;
  if (!o.legacy.includes(o.legacyRegistered) || o.now.includes(o.registered)) return check;
  return result('ports', false, check.ms,
    `the _v2 registered port ${o.registered}, where it does not listen (it listens on ${o.now.join(', ') || 'nothing'}); ` +
      `the legacy agent listened on the port it registered (${o.legacyRegistered}): callers found through the registry would reach nothing` +
      `${check.ok || check.skipped ? '' : `; ${check.detail}`}`);
}
