// The checks that one healthy answer cannot fool: an agent that dies some seconds after its
// first healthy answer fails the survival window, and a _v2 that no longer listens where the
// legacy agent listened fails the ports check. Real python3 agents on the reference base.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentInfo } from '../src/core/types.js';
import { loadProfile } from '../src/profile/profile.js';
import { startValidationEnvironment, type ValidationEnvironment } from '../src/validate/environment.js';
import { validateAgent } from '../src/validate/validate-agent.js';
import { isPortFree, releasePorts } from '../src/validate/ports.js';
import { listeningPorts } from '../src/validate/listening-ports.js';
import { templatesDir } from '../src/profile/profile.js';

const profile = loadProfile('base-agent');
let env: ValidationEnvironment;
let root: string;

beforeAll(async () => {
  env = await startValidationEnvironment();
  root = mkdtempSync(path.join(os.tmpdir(), 'migrate-survival-'));
  cpSync(path.join(templatesDir(), 'runtime', 'python', 'common'), path.join(root, 'common'), { recursive: true });
  mkdirSync(path.join(root, 'agents'));
});

afterAll(async () => {
  await env?.close();
  rmSync(root, { recursive: true, force: true });
});

async function fixedFreePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 10000);
    if (await isPortFree(p)) return p;
  }
  throw new Error('no free port between 20000 and 30000');
}

function agent(name: string, stem: string): AgentInfo {
  return { name, file: `agents/${stem}.py`, language: 'python', class: name, status: 'legacy', findings: [], line: 1, evidence: [] };
}

const HEADER = `import os, sys, threading, time, socket
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from common.core.base_agent import BaseAgent
`;

describe('survival window', () => {
  it('an agent that crashes after its first healthy answer fails it, naming the crash and when', async () => {
    writeFileSync(path.join(root, 'agents', 'late_crash_v2.py'), `${HEADER}
class LateCrash(BaseAgent):
    def __init__(self, **kwargs):
        super().__init__(name="LateCrash", **kwargs)
        self._answered = threading.Event()
        threading.Thread(target=self._rebind_later, daemon=True).start()

    def _get_health_status(self):
        self._answered.set()
        return super()._get_health_status()

    def _rebind_later(self):
        # like a socket kept on a port the base binds, retried until it gives up; counted from
        # its first health answer (1.5 s from the start raced a slow start on a loaded machine)
        self._answered.wait(30)
        time.sleep(1.5)
        os._exit(3)

if __name__ == "__main__":
    LateCrash().run()
`);
    const r = await validateAgent({
      root, agent: agent('LateCrash', 'late_crash'), file: path.join(root, 'agents', 'late_crash_v2.py'), profile, env,
      healthDeadlineMs: 8000, registryDeadlineMs: 8000, metricsDeadlineMs: 8000, shutdownDeadlineMs: 5000,
      survivalWindowMs: 6000, survivalIntervalMs: 300,
    });
    const health = r.checks.find((c) => c.name === 'health')!;
    const survival = r.checks.find((c) => c.name === 'survival')!;
    expect(health.ok, health.detail).toBe(true);
    expect(survival.ok).toBe(false);
    expect(survival.detail).toMatch(/^agent exited with code 3\b.* after its first healthy answer$|^stopped answering health/);
    expect(r.ok).toBe(false);
  });

  it('a healthy agent passes it, with the window and the number of probes in one line', async () => {
    writeFileSync(path.join(root, 'agents', 'steady_v2.py'), `${HEADER}
class Steady(BaseAgent):
    pass

if __name__ == "__main__":
    Steady(name="Steady").run()
`);
    const r = await validateAgent({
      root, agent: agent('Steady', 'steady'), file: path.join(root, 'agents', 'steady_v2.py'), profile, env,
      healthDeadlineMs: 8000, registryDeadlineMs: 8000, metricsDeadlineMs: 8000, shutdownDeadlineMs: 5000,
      survivalWindowMs: 1500, survivalIntervalMs: 300,
    });
    const survival = r.checks.find((c) => c.name === 'survival')!;
    expect(survival.ok, survival.detail).toBe(true);
    expect(survival.detail).toMatch(/^stayed up and healthy for 1\.5 s after its first healthy answer \(\d+ probes\)$/);
  });
});

describe('ports check', () => {
  it('a _v2 that no longer listens on a port the legacy agent listened on fails it; the validator\'s ports are mapped', async () => {
    // A fixed port like a legacy agent's own (5624): outside the kernel's ephemeral range,
    // where ports the OS picks for port-0 binds (not compared) live.
    const extra = await fixedFreePort();
    try {
      // The legacy agent listens on its health port and on a fixed business port of its own.
      writeFileSync(path.join(root, 'agents', 'feed.py'), `import json, os, socket, signal, sys, threading, time
from http.server import BaseHTTPRequestHandler, HTTPServer

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a):
        pass

class Feed:
    def __init__(self):
        self.health = HTTPServer(("127.0.0.1", int(os.environ["HEALTH_CHECK_PORT"])), Health)
        threading.Thread(target=self.health.serve_forever, daemon=True).start()
        self.feed = socket.socket()
        self.feed.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.feed.bind(("127.0.0.1", ${extra}))
        self.feed.listen(1)
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))

    def run(self):
        while True:
            time.sleep(0.2)

if __name__ == "__main__":
    Feed().run()
`);
      // The _v2 lost the business socket (a wrong removal): the base's health port alone.
      writeFileSync(path.join(root, 'agents', 'feed_v2.py'), `${HEADER}
class Feed(BaseAgent):
    pass

if __name__ == "__main__":
    Feed(name="Feed").run()
`);
      const r = await validateAgent({
        root, agent: agent('Feed', 'feed'), file: path.join(root, 'agents', 'feed_v2.py'), legacyFile: path.join(root, 'agents', 'feed.py'),
        profile, env, legacyWindowMs: 1500, healthDeadlineMs: 8000, registryDeadlineMs: 8000, metricsDeadlineMs: 8000,
        shutdownDeadlineMs: 5000, survivalWindowMs: 500, survivalIntervalMs: 200,
      });
      const ports = r.checks.find((c) => c.name === 'ports')!;
      expect(ports.ok).toBe(false);
      expect(ports.detail).toContain(`does not listen on ${extra}`);
      // its health port was the validator's, mapped to the _v2's: not reported missing
      expect(ports.detail).toMatch(new RegExp(`${r.ports.health_port} \\(legacy \\d+\\)`));
      // only that one missing, named as the business port it was
      expect(/does not listen on (.*?) \(it listens/.exec(ports.detail)?.[1]).toBe(`${extra} (a business port)`);
    } finally {
      releasePorts([extra]);
    }
  });

  it('a port the agent derives from AGENT_PORT (a publisher on port + 1) is reserved with it and mapped onto the _v2\'s same neighbour', async () => {
    // Seed-000 style: requests on AGENT_PORT, events published on the next port, health on HEALTH_CHECK_PORT.
    const body = `
    def open_sockets(self):
        port = int(os.environ["AGENT_PORT"])
        self.requests = socket.socket()
        self.requests.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.requests.bind(("127.0.0.1", port))
        self.requests.listen(8)
        self.events = socket.socket()
        self.events.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.events.bind(("127.0.0.1", port + 1))
        self.events.listen(8)
`;
    writeFileSync(path.join(root, 'agents', 'ticker.py'), `import json, os, socket, signal, sys, threading, time
from http.server import BaseHTTPRequestHandler, HTTPServer

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a):
        pass

class Ticker:
    def __init__(self):
        self.open_sockets()
        self.health = HTTPServer(("127.0.0.1", int(os.environ["HEALTH_CHECK_PORT"])), Health)
        threading.Thread(target=self.health.serve_forever, daemon=True).start()
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
${body}
    def run(self):
        while True:
            time.sleep(0.2)

if __name__ == "__main__":
    Ticker().run()
`);
    writeFileSync(path.join(root, 'agents', 'ticker_v2.py'), `${HEADER}
class Ticker(BaseAgent):
    def __init__(self, **kwargs):
        super().__init__(name="Ticker", **kwargs)
        self.open_sockets()
${body}
if __name__ == "__main__":
    Ticker().run()
`);
    const r = await validateAgent({
      root, agent: agent('Ticker', 'ticker'), file: path.join(root, 'agents', 'ticker_v2.py'), legacyFile: path.join(root, 'agents', 'ticker.py'),
      profile, env, legacyWindowMs: 1500, healthDeadlineMs: 8000, registryDeadlineMs: 8000, metricsDeadlineMs: 8000,
      shutdownDeadlineMs: 5000, survivalWindowMs: 500, survivalIntervalMs: 200,
    });
    const ports = r.checks.find((c) => c.name === 'ports')!;
    expect(ports.detail).toContain(`${r.ports.port + 1} (legacy `);
    expect(ports.ok).toBe(true);
    expect(r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`)).toEqual([]);
  });

  it('reads a live process\'s listening ports from /proc', async () => {
    const srv = (await import('node:net')).createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const port = (srv.address() as { port: number }).port;
    try {
      expect(listeningPorts([process.pid])).toContain(port);
    } finally {
      srv.close();
    }
  });
});
