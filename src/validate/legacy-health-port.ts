// Which of the ports a legacy agent bound by itself (a literal 8081, not the validator's
// HEALTH_CHECK_PORT) serves its health: the ports check pairs that one, and only that one, with the
// _v2's health port (where the base serves /health). Asked of the running legacy agent the way the
// profile asks the _v2 (GET /health or /healthz, or a ZMQ health_check request); any answer that reads as a
// health report counts, whatever status it gives (a legacy payload says "running" as often as "ok").
// A legacy whose own health server answers other paths (`/live`, `/ping`: the scan reads them from
// its code, AgentInfo.health_paths) is asked those too, and any 2xx there counts: its code says so.
// A health server speaking the fleet's raw JSON-line protocol answers none of those: the port its code binds
// it on (AgentInfo.health_port) is its health port, asked that line request to confirm (codeHealthPortOf).
import type { ValidationProfile } from '../profile/profile.js';
import { zmqRequest } from './checks/health-zmq.js';
import { httpGet, type HttpAnswer } from './http-util.js';
import { unhealthyAnswer, type UnhealthyAnswer } from './checks/health-http.js';
import dgram from 'node:dgram';
import net from 'node:net';
import type { AgentInfo } from '../core/types.js';

// Long enough for a legacy agent on a busy machine (1 s missed one there); a port that never answers costs it once.
const PROBE_MS = 3000;
// A second, longer chance for a port that accepted the request and let it time out: a Node legacy agent on a
// starved machine answered its /health after more than PROBE_MS and its health port read as a business port.
// Refused connections and non-HTTP answers fail at once, so only a port that holds a request open pays it.
const SLOW_PROBE_MS = 10_000;

/** GET that asks once more, for longer, when the first request timed out; 'stalled' when both did. */
async function probeGet(url: string): Promise<HttpAnswer | 'stalled' | undefined> {
  try {
    return await httpGet(url, PROBE_MS);
  } catch (err) {
    if ((err as Error)?.name !== 'TimeoutError') return undefined;
    return httpGet(url, SLOW_PROBE_MS).catch((again) => ((again as Error)?.name === 'TimeoutError' ? 'stalled' : undefined));
  }
}

const HTTP_PATHS = ['/health', '/healthz'];

type HealthKind = NonNullable<ValidationProfile['health']>;

/** A health report: a JSON object with a `status`, or a bare "ok"/"healthy". */
function readsAsHealth(body: string): boolean {
  if (/^\s*"?(ok|healthy|up)"?\s*$/i.test(body)) return true;
  try {
    const json = JSON.parse(body) as { status?: unknown };
    return typeof json === 'object' && json !== null && typeof json.status === 'string' && !/error|fail|unknown|invalid/i.test(json.status);
  } catch {
    return false;
  }
}

async function answersHealth(port: number, kind: HealthKind, own: string[], unhealthy?: UnhealthyAnswer[]): Promise<boolean> {
  try {
    if (kind === 'zmq') return readsAsHealth(await zmqRequest(port, { action: 'health_check' }, PROBE_MS));
    // Node services as often serve /healthz (the Kubernetes habit) as /health: either path counts.
    for (const path of HTTP_PATHS) {
      const got = await probeGet(`http://127.0.0.1:${port}${path}`);
      // A port that held both requests open answers no other path either.
      if (got === 'stalled') return false;
      const a = got;
      if (a !== undefined && a.status >= 200 && a.status < 300 && readsAsHealth(a.body)) return true;
      const seen = a && path === '/health' ? unhealthyAnswer(port, a.status, a.body) : undefined;
      if (seen) unhealthy?.push(seen);
    }
    // The paths its code serves health on (`/live`, `/ping` answering "pong"): any 2xx is its health answering.
    for (const path of own.filter((p) => !HTTP_PATHS.includes(p))) {
      const a = await httpGet(`http://127.0.0.1:${port}${path}`, PROBE_MS).catch(() => undefined);
      if (a !== undefined && a.status >= 200 && a.status < 300) return true;
    }
    return false;
  } catch {
    return false;
  }
}

/**
 * The health requests a datagram health endpoint of the fleet answers (the ZMQ fleet's JSON action, the bare
 * pings of the older monitors), all sent at once: an endpoint answers the one it knows and ignores the others.
 */
const DATAGRAM_PINGS = ['{"action": "health_check"}', 'ping', 'PING', 'health'];
const DATAGRAM_MS = 1500;

/** Does a UDP port answer one of DATAGRAM_PINGS with a health report within DATAGRAM_MS? */
function answersDatagram(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), DATAGRAM_MS);
    sock.on('error', () => done(false));
    sock.on('message', (msg) => {
      if (readsAsHealth(msg.toString('utf8'))) done(true);
    });
    for (const ping of DATAGRAM_PINGS) sock.send(ping, port, '127.0.0.1');
  });
}

/** The fleet's health request over a plain TCP socket, one JSON object a line (the REQ/REP framing without pyzmq). */
const LINE_REQUEST = '{"action": "health_check"}\n';

/**
 * Does a TCP port answer LINE_REQUEST with a health report line within DATAGRAM_MS? A listener that writes its
 * report as soon as it accepts, request unread, counts too: the first line is read whenever it comes.
 */
function answersLine(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let got = '';
    const sock = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(readsAsHealth(got)), DATAGRAM_MS);
    sock.on('connect', () => sock.write(LINE_REQUEST));
    sock.on('data', (d) => {
      got += d.toString('utf8');
      const nl = got.indexOf('\n');
      if (nl >= 0) done(readsAsHealth(got.slice(0, nl)));
    });
    // Closed after its answer (no newline at the end), or refused: what came is all there is.
    sock.on('end', () => done(readsAsHealth(got)));
    sock.on('error', () => done(readsAsHealth(got)));
  });
}

/**
 * The port the legacy agent's own health server bound, as its code says (AgentInfo.health_port): its default when it
 * listened there, else the neighbour of its given AGENT_PORT it derives (`self.port + 1`) when it listened on both.
 * Never one of the validator's ports (those pair by themselves). Undefined when the code says nothing it listened on.
 *
 * With whether the port was only inferred: its code derives the health port from its own port
 * (`self.port + 1`) but reads that port from where the scan cannot follow (an INI file, AGENT_PORT unread), and of
 * the ports it listened on exactly one pair lies that offset apart (6610 and 6611: 6611). An inferred port counts
 * only when it answers the fleet's JSON-line health request (the validator asks it): two business listeners a port
 * apart are not taken for a port and its health.
 */
export function codeHealthPortOf(fact: AgentInfo['health_port'], listening: number[], given: { port: number; health_port: number }): { port: number; inferred: boolean } | undefined {
  if (!fact) return undefined;
  const ours = (p: number | undefined): p is number => p !== undefined && p !== given.port && p !== given.health_port && listening.includes(p);
  const derived = fact.port_offset !== undefined && listening.includes(given.port) ? given.port + fact.port_offset : undefined;
  const known = [fact.default, derived].find(ours);
  if (known !== undefined) return { port: known, inferred: false };
  const off = fact.port_offset;
  if (off === undefined || off <= 0 || listening.includes(given.port)) return undefined;
  const pairs = [...new Set(listening)].filter((p) => ours(p) && ours(p + off));
  return pairs.length === 1 ? { port: pairs[0]! + off, inferred: true } : undefined;
}

/**
 * The lowest of `ports` that answers a health probe, ports probed side by side; undefined when none
 * does. Both kinds are asked, the profile's first: a legacy agent's health need not be the base's kind
 * (a ZMQ REP health socket of the Python fleet, the base serving HTTP). On one port the kinds and
 * paths are asked one after another, never at once: a single-threaded server (http.server's
 * HTTPServer) held by the ZMQ greeting, which it reads as a request line that never ends, would
 * leave the HTTP request unanswered until both timed out, and its health port would read as a
 * business port. A JSON /health answer that is not healthy (503 with `status: 'down'` while an
 * upstream the validator does not provide is away) is collected into `unhealthy` on the way.
 */
export async function legacyHealthPort(ports: number[], kind: HealthKind, ownPaths: string[] = [], unhealthy?: UnhealthyAnswer[], datagram: number[] = [], line: number[] = []): Promise<number | undefined> {
  const kinds: HealthKind[] = kind === 'zmq' ? ['zmq', 'http'] : ['http', 'zmq'];
  // `datagram`: those of `ports` held only as a bound UDP socket, asked over UDP alone (no TCP listener there).
  // `line`: those its code binds its health server on, asked the JSON-line request first. Only those: a business
  // listener of the fleet answers an in-band `health_check` action too, which makes it no health port.
  const answers = await Promise.all(ports.map(async (p) => {
    if (datagram.includes(p)) return answersDatagram(p);
    if (line.includes(p) && (await answersLine(p))) return true;
    for (const k of kinds) if (await answersHealth(p, k, ownPaths, unhealthy)) return true;
    return false;
  }));
  return ports.filter((_, i) => answers[i]).sort((a, b) => a - b)[0];
}
