// A legacy GET route moved onto the reference base's _extra_routes() (health-route-table-business-route's
// /entries) can be asked before the agent's own __init__ has set what it reads: the base's health server is up
// from inside super().__init__(), while the legacy's port was not open yet (refused). The _v2 is started for
// real and held right at the end of the base's __init__ (its last step, the metrics pusher's start, is followed
// by a wait on a gate file): there /entries must answer 503 {"status": "starting"} (it answered 500, the AttributeError caught by the
// base's server), the legacy's port refuses the connection, and once the gate opens both answer the listing alike.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts, releasePorts } from '../src/validate/ports.js';
import { agentRuns, sleep } from './helpers/python-agent-runs.js';

const CASE = 'health-route-table-business-route';
const runs = agentRuns();

// The _v2 held where the base's __init__ ends (before the agent's own __init__ goes on); the legacy held before
// its own health server binds (`health_port` is fixed in its code: bound to the test's port instead).
const DRIVER = `
import os, runpy, socketserver, sys, time

def wait_gate(where):
    print("HELD " + where, flush=True)
    while not os.path.exists(os.environ["GATE_FILE"]):
        time.sleep(0.05)

if os.environ.get("HOLD") == "base":
    from common.core.base_agent import BaseAgent
    _pusher = BaseAgent._start_metrics_pusher
    def held(self):
        _pusher(self)
        wait_gate("base")
    BaseAgent._start_metrics_pusher = held
else:
    _bind = socketserver.TCPServer.server_bind
    def server_bind(self):
        wait_gate("legacy")
        self.server_address = (self.server_address[0], int(os.environ["LEGACY_HEALTH_PORT"]))
        _bind(self)
    socketserver.TCPServer.server_bind = server_bind
sys.argv = [sys.argv[1]]
runpy.run_path(sys.argv[0], run_name="__main__")
`;

async function get(port: number, route: string): Promise<{ status: number; body: string } | 'refused'> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${route}`, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return 'refused';
  }
}

const start = (root: string, file: string, env: Record<string, string>) => runs.start(root, [path.join(root, 'driver.py'), file], { AGENT_HOST: '127.0.0.1', ...env });

async function until<T>(ms: number, read: () => Promise<T> | T, ok: (x: T) => boolean): Promise<T> {
  const end = Date.now() + ms;
  let last = await read();
  while (!ok(last) && Date.now() < end) {
    await sleep(100);
    last = await read();
  }
  return last;
}

describe('an extra route asked before the agent is built answers 503 starting', () => {
  it(`${CASE}: /entries held at the end of the base's __init__`, async () => {
    const c = listCases().find((x) => x.name === CASE)!;
    const legacyRoot = runs.root(materialize(c));
    const v2Root = runs.root(materialize(c));
    for (const r of [legacyRoot, v2Root]) writeFileSync(path.join(r, 'driver.py'), DRIVER);
    const v2File = path.join(v2Root, c.rel.replace(/\.py$/, '_v2.py'));
    writeFileSync(v2File, readFileSync(c.expectedFile));
    const ports = await allocatePorts(3);
    const [legacyHealth, port, health] = ports as [number, number, number];
    const legacyGate = path.join(legacyRoot, 'gate');
    const v2Gate = path.join(v2Root, 'gate');
    const legacy = start(legacyRoot, path.join(legacyRoot, c.rel), { HOLD: 'legacy', GATE_FILE: legacyGate, LEGACY_HEALTH_PORT: String(legacyHealth) });
    const v2 = start(v2Root, v2File, { HOLD: 'base', GATE_FILE: v2Gate, AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health) });
    try {
      await until(15_000, () => legacy.output() + v2.output(), (o) => o.includes('HELD legacy') && o.includes('HELD base'));
      expect(legacy.output(), 'the legacy never reached its health server').toContain('HELD legacy');
      expect(v2.output(), 'the _v2 never reached the end of the base __init__').toContain('HELD base');
      expect(await get(legacyHealth, '/entries'), legacy.output()).toBe('refused');
      const early = await get(health, '/entries');
      expect(early, v2.output()).toEqual({ status: 503, body: '{"status": "starting"}' });
      writeFileSync(legacyGate, '');
      writeFileSync(v2Gate, '');
      const answered = (x: Awaited<ReturnType<typeof get>>) => x !== 'refused' && x.status === 200;
      const before = await until(15_000, () => get(legacyHealth, '/entries'), answered);
      const after = await until(15_000, () => get(health, '/entries'), (x) => answered(x) && JSON.stringify(x) === JSON.stringify(before));
      expect(answered(before), legacy.output()).toBe(true);
      expect(after, v2.output()).toEqual(before);
    } finally {
      releasePorts(ports);
    }
  }, 60_000);
});
