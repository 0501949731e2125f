// The GET routes a legacy health server answered besides /health and /metrics, moved onto the reference
// BaseAgent's _extra_routes() hook (transforms/python/health-extra-routes.ts): the legacy file and its
// expected _v2 are both started for real, one after the other, and every route the case lists
// (case.yaml runtime.legacy_routes) must answer alike: status, Content-Type and body. JSON bodies are
// compared with their numbers and timestamps masked (uptime, last_cycle: two processes, two clocks);
// anything else byte for byte. Routes a business server of the legacy served on a port of its own
// (case.yaml runtime.kept_routes_port) must stay on that port when HEALTH_CHECK_PORT moves the _v2's /health.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { listCases, materialize, type FixtureCase } from './helpers/python-fixtures.js';
import { allocatePorts } from '../src/validate/ports.js';

const cases = listCases().filter((c) => c.spec.base === 'reference' && c.spec.runtime?.legacy_routes?.length);
vi.setConfig({ maxConcurrency: 4 });
const roots: string[] = [];
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The legacy binds its health server on a port fixed in its code (7781): every socketserver server it
// makes that speaks HTTP is bound to the port this test gives it instead, so runs never collide (a job
// socket of its own, a line protocol, keeps its port). Then it runs as __main__.
const LEGACY_DRIVER = `
import http.server, os, runpy, socketserver, sys
_bind = socketserver.TCPServer.server_bind
def server_bind(self):
    if issubclass(self.RequestHandlerClass, http.server.BaseHTTPRequestHandler):
        self.server_address = (self.server_address[0], int(os.environ["LEGACY_HEALTH_PORT"]))
    _bind(self)
socketserver.TCPServer.server_bind = server_bind
sys.argv = [sys.argv[1]]
runpy.run_path(sys.argv[0], run_name="__main__")
`;

interface Answer {
  status: number;
  type: string | null;
  body: string;
}

/** A JSON body with its numbers and ISO timestamps masked; any other body as it is. */
function comparable(a: Answer): Answer {
  let body = a.body;
  try {
    body = JSON.stringify(JSON.parse(a.body), (_k, v) => (typeof v === 'number' ? '<number>' : typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v) ? '<time>' : v));
  } catch {
    // not JSON: compared byte for byte
  }
  return { ...a, body };
}

async function answers(port: number, routes: string[]): Promise<Record<string, Answer> | null> {
  const out: Record<string, Answer> = {};
  for (const r of routes) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${r}`, { signal: AbortSignal.timeout(2000) });
      out[r] = comparable({ status: res.status, type: res.headers.get('content-type'), body: await res.text() });
    } catch {
      return null;
    }
  }
  return out;
}

function start(c: FixtureCase, file: string, root: string, env: Record<string, string>, args: string[] = []): { child: ChildProcess; output: () => string } {
  const base: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', AGENT_HOST: '127.0.0.1' };
  for (const k of ['AGENT_PORT', 'HEALTH_CHECK_PORT', 'REGISTRY_URL', 'METRICS_URL']) delete base[k];
  const child = spawn('python3', [...args, file], { cwd: root, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  return { child, output: () => `${c.name}: ${text.slice(-2000)}` };
}

/** Answers once they hold still (two reads 500 ms apart alike: a readiness route has flipped by then), within 20 s. */
async function settled(port: number, routes: string[], alive: () => boolean): Promise<Record<string, Answer> | null> {
  let last: Record<string, Answer> | null = null;
  for (let i = 0; i < 40 && alive(); i++) {
    const now = await answers(port, routes);
    if (now && last && JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
    await sleep(500);
  }
  return null;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGKILL');
  await exited;
}

describe('legacy GET routes answered alike by the _v2 through _extra_routes()', () => {
  it('there are such cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
  });

  for (const c of cases) {
    it.concurrent(c.name, async ({ expect }) => {
      const routes = c.spec.runtime!.legacy_routes!;
      const legacyRoot = materialize(c);
      const v2Root = materialize(c);
      roots.push(legacyRoot, v2Root);
      const [legacyHealth, port, health] = await allocatePorts(3);
      const driver = path.join(legacyRoot, 'legacy_driver.py');
      writeFileSync(driver, LEGACY_DRIVER);
      // The legacy first, then the _v2: a port fixed in code (a business listener) is bound by one at a time.
      const legacy = start(c, path.join(legacyRoot, c.rel), legacyRoot, { LEGACY_HEALTH_PORT: String(legacyHealth), HEALTH_CHECK_PORT: String(legacyHealth) }, [driver]);
      const before = await settled(legacyHealth!, routes, () => legacy.child.exitCode === null);
      await stop(legacy.child);
      expect(before, `the legacy never answered ${routes.join(', ')}:\n${legacy.output()}`).not.toBeNull();
      const v2File = path.join(v2Root, c.rel.replace(/\.py$/, '_v2.py'));
      writeFileSync(v2File, readFileSync(c.expectedFile));
      const fixed = c.spec.runtime!.fixed_ports;
      const v2 = start(c, v2File, v2Root, fixed ? {} : { AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health) });
      const v2Health = fixed?.health ?? health!;
      // The _v2's answers once they equal the legacy's, or the last read when they never do (within 20 s).
      let after: Record<string, Answer> | null = null;
      for (let i = 0; i < 40 && v2.child.exitCode === null; i++) {
        after = (await answers(v2Health, routes)) ?? after;
        if (after && JSON.stringify(after) === JSON.stringify(before)) break;
        await sleep(500);
      }
      await stop(v2.child);
      for (const r of routes) {
        expect(after?.[r], `GET ${r}: the _v2 answered unlike the legacy\n${v2.output()}`).toEqual(before![r]);
        expect(after![r]!.status, `GET ${r} on the _v2`).not.toBe(404);
      }
    }, 90_000);
  }
});

// Not concurrent, and after the cases above: the port is fixed in the legacy's code, and the same case ran there on it.
describe('legacy routes of a business server on a port of its own stay there when HEALTH_CHECK_PORT moves /health', () => {
  const kept = cases.filter((c) => c.spec.runtime!.kept_routes_port);
  it('there are such cases', () => {
    expect(kept.length).toBeGreaterThan(0);
  });

  for (const c of kept) {
    it(c.name, async () => {
      const routes = c.spec.runtime!.legacy_routes!;
      const at = c.spec.runtime!.kept_routes_port!;
      const legacyRoot = materialize(c);
      const v2Root = materialize(c);
      roots.push(legacyRoot, v2Root);
      // Both given ports as the validator (or a deployment) gives them; the legacy reads neither.
      const [legacyPort, legacyHealth, port, health] = await allocatePorts(4);
      const legacy = start(c, path.join(legacyRoot, c.rel), legacyRoot, { AGENT_PORT: String(legacyPort), HEALTH_CHECK_PORT: String(legacyHealth) });
      const before = await settled(at, routes, () => legacy.child.exitCode === null);
      await stop(legacy.child);
      expect(before, `the legacy never answered ${routes.join(', ')} on ${at}:\n${legacy.output()}`).not.toBeNull();
      const v2File = path.join(v2Root, c.rel.replace(/\.py$/, '_v2.py'));
      writeFileSync(v2File, readFileSync(c.expectedFile));
      const v2 = start(c, v2File, v2Root, { AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health) });
      let after: Record<string, Answer> | null = null;
      for (let i = 0; i < 40 && v2.child.exitCode === null; i++) {
        after = (await answers(at, routes)) ?? after;
        if (after && JSON.stringify(after) === JSON.stringify(before)) break;
        await sleep(500);
      }
      // /health where the environment said: the validator's probe (and a deployment's) finds it there.
      const probe = await answers(health!, ['/health']);
      await stop(v2.child);
      for (const r of routes) expect(after?.[r], `GET ${r} on ${at}: the _v2 answered unlike the legacy\n${v2.output()}`).toEqual(before![r]);
      expect(probe?.['/health']?.status, `GET /health on HEALTH_CHECK_PORT ${health}\n${v2.output()}`).toBe(200);
    }, 90_000);
  }
});
