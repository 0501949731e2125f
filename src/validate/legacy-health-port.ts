// Which of the ports a legacy agent bound by itself (a literal 8081, not the validator's
// HEALTH_CHECK_PORT) serves its health: the ports check pairs that one, and only that one, with the
// _v2's health port (where the base serves /health). Asked of the running legacy agent the way the
// profile asks the _v2 (GET /health or /healthz, or a ZMQ health_check request); any answer that reads as a
// health report counts, whatever status it gives (a legacy payload says "running" as often as "ok").
import type { ValidationProfile } from '../profile/profile.js';
import { zmqRequest } from './checks/health-zmq.js';
import { httpGet } from './http-util.js';

// Long enough for a legacy agent on a busy machine (1 s missed one there); a port that never answers costs it once.
const PROBE_MS = 3000;

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

async function answersHealth(port: number, kind: HealthKind): Promise<boolean> {
  try {
    if (kind === 'zmq') return readsAsHealth(await zmqRequest(port, { action: 'health_check' }, PROBE_MS));
    // Node services as often serve /healthz (the Kubernetes habit) as /health: either path counts.
    const answers = await Promise.all(HTTP_PATHS.map((path) => httpGet(`http://127.0.0.1:${port}${path}`, PROBE_MS).catch(() => undefined)));
    return answers.some((a) => a !== undefined && a.status >= 200 && a.status < 300 && readsAsHealth(a.body));
  } catch {
    return false;
  }
}

/**
 * The lowest of `ports` that answers a health probe, all probed side by side; undefined when none
 * does. Both kinds are asked, the profile's first: a legacy agent's health need not be the base's kind
 * (a ZMQ REP health socket of the Python fleet, the base serving HTTP).
 */
export async function legacyHealthPort(ports: number[], kind: HealthKind): Promise<number | undefined> {
  const kinds: HealthKind[] = kind === 'zmq' ? ['zmq', 'http'] : ['http', 'zmq'];
  const answers = await Promise.all(ports.map(async (p) => (await Promise.all(kinds.map((k) => answersHealth(p, k)))).some(Boolean)));
  return ports.filter((_, i) => answers[i]).sort((a, b) => a - b)[0];
}
