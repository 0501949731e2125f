// What the engine learns from a base class's own source (never from its names), and the
// verify check that fails an agent whose reachable method became dead code.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { learnFromSource, loadBaseModel } from '../src/analysis/base-model.js';
import { extractHealthPayload } from '../src/analysis/health-payload.js';
import { parsePython } from '../src/lang/python/parser.js';
import { buildModuleModel } from '../src/lang/python/module-model.js';
import { loadProfile } from '../src/profile/profile.js';
import { pythonAdapter } from '../src/lang/python/adapter.js';
import type { AgentInfo } from '../src/core/types.js';
import { declaredHealthCodeHook } from '../src/validate/declared-health-code.js';

const REFERENCE = path.resolve(import.meta.dirname, '../templates/runtime/python/common/core/base_agent.py');
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

// Shaped like the production base of seed 000 (ports from *args/**kwargs, a REP request socket,
// a REP health socket, an HTTP health server one port above it, cleanup() when a bind fails, a
// run() that receives, dispatches to a hook and replies), with names of our own.
const PRODUCTION_LIKE = `
import json
import threading
import zmq
from http.server import HTTPServer, BaseHTTPRequestHandler


class _Probe(HTTPServer):
    allow_reuse_address = True


class ServiceBase:
    def __init__(self, *args, **kwargs):
        self.port = kwargs.get("port") or self._pick_port()
        self.health_check_port = kwargs.get("health_check_port") or self.port + 1
        self.http_health_port = self.health_check_port + 1
        self.running = True
        self.context = zmq.Context()
        self._open_sockets()
        self._start_probe()

    def _pick_port(self):
        return 5000

    def _open_sockets(self):
        try:
            self.socket = self.context.socket(zmq.REP)
            self.socket.bind(f"tcp://*:{self.port}")
            self.health_socket = self.context.socket(zmq.REP)
            self.health_socket.bind(f"tcp://*:{self.health_check_port}")
        except zmq.ZMQError:
            self.cleanup()
            raise

    def _start_probe(self):
        self.probe = _Probe(("0.0.0.0", self.http_health_port), BaseHTTPRequestHandler)
        threading.Thread(target=self.probe.serve_forever, daemon=True).start()

    def answer(self, request):
        return {"status": "ok"}

    def run(self):
        try:
            while self.running:
                if self.socket.poll(1000):
                    message = self.socket.recv()
                    reply = self.answer(json.loads(message))
                    self.socket.send_json(reply)
        finally:
            self.cleanup()

    def cleanup(self):
        self.running = False
        self.socket.close()
`;

describe('base model learned from the base source', () => {
  it('a production-like base: its binds (through a server subclass and a derived port), error-path calls, request loop and shutdown calls', () => {
    const m = learnFromSource(PRODUCTION_LIKE, 'ServiceBase', 'common/service_base.py')!;
    expect(m).not.toBeNull();
    expect(new Set(m.binds)).toEqual(new Set(['port', 'health_check_port', 'health_check_port+1']));
    expect(m.bindKinds.get('port')).toBe('zmq');
    expect(m.bindKinds.get('health_check_port')).toBe('zmq');
    expect(m.bindKinds.get('health_check_port+1')).toBe('http');
    // cleanup() runs inside __init__ only when a bind fails: an override of it does not run early.
    expect(m.errorPathCalls.has('cleanup')).toBe(true);
    expect(m.initCalls.has('cleanup')).toBe(false);
    expect(m.initCalls.has('_open_sockets')).toBe(true);
    expect(m.requestLoop).toEqual({ socket: 'socket', hook: 'answer' });
    expect(m.periodicHook).toBeNull();
    expect(m.shutdownCalls.has('cleanup')).toBe(true);
    expect(m.handlesSignals).toBe(false);
    expect(m.attributes.has('http_health_port')).toBe(true);
  });

  it('the reference base: health over HTTP alone, a periodic hook with its interval, its own signal handling', () => {
    const m = learnFromSource(readFileSync(REFERENCE, 'utf8'), 'BaseAgent', REFERENCE)!;
    expect(m.binds).toEqual(['health_check_port']);
    expect(m.bindKinds.get('health_check_port')).toBe('http');
    expect(m.requestLoop).toBeNull();
    expect(m.periodicHook).toEqual({ hook: 'run_once', intervalAttribute: 'loop_interval' });
    expect(m.handlesSignals).toBe(true);
    expect(m.shutdownCalls.has('stop')).toBe(true);
    expect(m.shutdownCalls.has('cleanup')).toBe(true);
    expect(m.initCalls.has('_setup_logging')).toBe(true);
    // stop() sets this event before it deregisters; _register_once() posts the record once
    expect(m.stopEvent).toBe('_base_stop_event');
    expect(m.registerOnce).toBe('_register_once');
    // GET /health calls the health hook once, and nothing the base runs calls it otherwise (handle_request() is
    // the base's only other caller, and nothing of the base calls that); /metrics's text is also pushed. A GET of
    // another path asks _extra_routes() once (routes the agent adds), on no other path.
    // (_health_http_code() too: the handler asks it once per GET /health for the status it answers.)
    expect([...m.probeHooks!].sort()).toEqual(['_extra_routes', '_get_health_status', '_health_http_code']);
    // its health hook says "ok" (a constant), never a failing status
    expect(m.healthWords?.get('_get_health_status')).toBe('ok');
    expect(m.healthFails?.has('_get_health_status')).toBe(false);
  });

  it('a health hook that can also say a failing status ("error" after a failed initialisation, "degraded", a computed one)', () => {
    const fleet = path.resolve(import.meta.dirname, '../fixtures/python/_base/common/core/base_agent.py');
    const m = learnFromSource(readFileSync(fleet, 'utf8'), 'BaseAgent', fleet)!;
    expect(m.healthWords?.get('_get_health_status')).toBe('ok');
    expect(m.healthFails?.has('_get_health_status')).toBe(true);
    const hardened = path.resolve(import.meta.dirname, '../templates/runtime/python/amoskys/agents/common/base.py');
    expect(learnFromSource(readFileSync(hardened, 'utf8'), 'HardenedAgentBase', hardened)!.healthFails?.has('health_summary')).toBe(true);
    const own = learnFromSource(`class Base:
    def status(self):
        return {"status": "ok", "name": "x"}

    def computed(self):
        return {"status": "ok" if self.ready else self.phase}

    def failing_only(self):
        return {"status": "error"}
`, 'Base', 'base.py')!;
    expect(own.healthFails?.has('status')).toBe(false);
    expect(own.healthFails?.has('computed')).toBe(true);
    // no healthy word: nothing to compare a legacy status with
    expect(own.healthFails?.has('failing_only')).toBe(false);
  });

  it('the health hook\'s healthy word, read from the status it builds (a local assigned "unhealthy"/"degraded"/"healthy")', () => {
    const hardened = path.resolve(import.meta.dirname, '../templates/runtime/python/amoskys/agents/common/base.py');
    const m = learnFromSource(readFileSync(hardened, 'utf8'), 'HardenedAgentBase', hardened)!;
    expect(m.healthWords?.get('health_summary')).toBe('healthy');
    const own = learnFromSource(`class Base:
    def status(self):
        return {"status": "up" if self.ok else "down", "name": "x"}

    def mixed(self):
        state = {}
        state["status"] = "ok" if self.ok else "healthy"
        return state
`, 'Base', 'base.py')!;
    expect(own.healthWords?.get('status')).toBe('up');
    // two different healthy words: not known
    expect(own.healthWords?.has('mixed')).toBe(false);
  });
});

describe('the keys of the base\'s health answer and the registry it registers with, read from its source', () => {
  it('the reference base: its /health keys (closed); REGISTRY_URL read with no default into registry_url, first read by _register_service', () => {
    const m = learnFromSource(readFileSync(REFERENCE, 'utf8'), 'BaseAgent', REFERENCE)!;
    const keys = m.healthKeys?.get('_get_health_status');
    expect([...keys!.keys].sort()).toEqual(['agent', 'health_check_port', 'pid', 'port', 'registered', 'status', 'uptime']);
    expect(keys!.open).toBe(false);
    expect(m.registryUrl).toEqual({ attr: 'registry_url', env: 'REGISTRY_URL', method: '_register_service' });
  });

  it('HardenedAgentBase: its literal keys, open (it spreads run-time stats into the answer)', () => {
    const hardened = path.resolve(import.meta.dirname, '../templates/runtime/python/amoskys/agents/common/base.py');
    const m = learnFromSource(readFileSync(hardened, 'utf8'), 'HardenedAgentBase', hardened)!;
    const keys = m.healthKeys?.get('health_summary');
    expect(keys!.keys.has('uptime')).toBe(true);
    expect(keys!.keys.has('uptime_seconds')).toBe(false);
    expect(keys!.open).toBe(true);
  });

  it('what the base reads while it is being constructed: its __init__, what that calls, the threads it starts', () => {
    const hardened = path.resolve(import.meta.dirname, '../templates/runtime/python/amoskys/agents/common/base.py');
    const m = learnFromSource(readFileSync(hardened, 'utf8'), 'HardenedAgentBase', hardened)!;
    // The logger is named by agent_name in __init__; device_id is only stored there (health_summary() reads it later).
    expect(m.readsDuringInit.has('agent_name')).toBe(true);
    expect(m.readsDuringInit.has('device_id')).toBe(false);
    expect(m.readsAfterInit.has('device_id')).toBe(true);
    const threaded = learnFromSource(`import socket, threading, time
class Beat:
    def __init__(self, device_id=None):
        self.device_id = device_id or socket.gethostname()
        self._start()

    def _start(self):
        threading.Thread(target=self._beat, daemon=True).start()

    def _beat(self):
        while True:
            print(self.device_id)
            time.sleep(5)
`, 'Beat', 'beat.py')!;
    expect(threaded.readsDuringInit.has('device_id')).toBe(true);
  });

  it('a base whose registry has a default of its own, or is set outside __init__: no override can carry a legacy default', () => {
    const own = learnFromSource(`import os
class Base:
    def __init__(self):
        self.registry_url = os.environ.get("REGISTRY_URL", "http://registry:7100")
        self._register()

    def _register(self):
        post(self.registry_url + "/register", {"name": "x", "port": 1})
`, 'Base', 'base.py')!;
    expect(own.registryUrl).toBeNull();
    const later = learnFromSource(`import os
class Base:
    def __init__(self):
        self.registry_url = os.environ.get("REGISTRY_URL")
        self._register()

    def configure(self, url):
        self.registry_url = url

    def _register(self):
        post(self.registry_url + "/register", {"name": "x", "port": 1})
`, 'Base', 'base.py')!;
    expect(later.registryUrl).toBeNull();
    // Both still register from __init__: the method that does it is read from their code, whatever its name.
    expect(own.registerMethod).toBe('_register');
    expect(later.registerMethod).toBe('_register');
  });

  it('the method __init__ registers the agent with, by what it reads, not by its name; none for a base registering from its main loop', () => {
    const m = learnFromSource(readFileSync(REFERENCE, 'utf8'), 'BaseAgent', REFERENCE)!;
    expect(m.registerMethod).toBe('_register_service');
    const fleet = learnFromSource(`import os
class FleetBase:
    def __init__(self, name):
        self.name = name
        self._setup_logging()
        self._announce()

    def _setup_logging(self):
        pass

    def _announce(self):
        registry = os.environ.get("FLEET_REGISTRY_URL")
        if registry:
            print("registering", self.name, "with", registry)
`, 'FleetBase', 'base.py')!;
    expect(fleet.registerMethod).toBe('_announce');
    const hardened = path.resolve(import.meta.dirname, '../templates/runtime/python/amoskys/agents/common/base.py');
    const h = learnFromSource(readFileSync(hardened, 'utf8'), 'HardenedAgentBase', hardened)!;
    expect(h.registerMethod).toBeNull();
    expect(h.registrationRecord?.length).toBeGreaterThan(0);
  });

  it('the handler the constructor gives its own logger, and what makes it skip that; none for a base configuring logging in its main loop', () => {
    const ref = learnFromSource(readFileSync(REFERENCE, 'utf8'), 'BaseAgent', REFERENCE)!;
    const stderrLine = readFileSync(REFERENCE, 'utf8').split('\n').findIndex((l) => l.includes('handler = logging.StreamHandler(sys.stderr)')) + 3; // (0-based) its addHandler two lines on
    expect(ref.initLogHandler).toEqual({ method: '_setup_logging', line: stderrLine, loggerName: 'self.name', unlessHandlers: true, unlessRootHandlers: true, propagateOff: true });
    // An unguarded handler: added whatever the logger already has.
    const plain = learnFromSource(`
import logging


class PlainBase:
    def __init__(self, name=None):
        self.name = name
        self.log = logging.getLogger(self.name)
        self.log.addHandler(logging.StreamHandler())
`, 'PlainBase', 'base.py')!;
    expect(plain.initLogHandler).toEqual({ method: '__init__', line: 9, loggerName: 'self.name', unlessHandlers: false, unlessRootHandlers: false, propagateOff: false });
    // HardenedAgentBase adds its handler in run_forever(), after the agent's whole __init__.
    const hardened = path.resolve(import.meta.dirname, '../templates/runtime/python/amoskys/agents/common/base.py');
    expect(learnFromSource(readFileSync(hardened, 'utf8'), 'HardenedAgentBase', hardened)!.initLogHandler).toBeNull();
  });
});

describe('a legacy health payload against the base\'s keys', () => {
  const src = `import json, time
from http.server import BaseHTTPRequestHandler


class Meter:
    def _start_health(self):
        meter = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps({"status": "ok", "uptime_seconds": time.time() - meter.started, "reads": meter.reads})
                self.wfile.write(body.encode())
`;
  const mod = buildModuleModel(src, parsePython(src));
  const agent = mod.classes.find((c) => c.name === 'Meter')!;
  const scope = { agent, classes: new Map(mod.classes.map((c) => [c.name, c] as const)), methods: new Set(agent.methods.keys()) };
  const run = (extra: object) => extractHealthPayload(agent.methods.get('_start_health')!.outer, { ...scope, ...extra });

  it('keys known: one the base lacks moves with the business fields', () => {
    const p = run({ baseKeys: { keys: new Set(['status', 'uptime']), open: false } });
    expect(p && p !== 'untranslatable' ? p.lines.join('\n') : '').toContain('"uptime_seconds": time.time() - self.started');
    expect(p && p !== 'untranslatable' ? p.dropped : null).toEqual([]);
  });

  it('keys unknown (no base source, no template): a usual base key is left to the base, and said', () => {
    const p = run({});
    expect(p && p !== 'untranslatable' ? p.lines.join('\n') : 'x').not.toContain('uptime_seconds');
    expect(p && p !== 'untranslatable' ? p.dropped : null).toEqual([{ key: 'uptime_seconds', line: 11, unknown: true }]);
  });

  it('a computed liveness key on a base that can fail: its own value while the base is healthy, False while not (never bool() of a stamp)', () => {
    const live = `import json
from http.server import BaseHTTPRequestHandler


class Meter:
    def _start_health(self):
        meter = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps({"status": "ok", "initialized": meter.started_at, "ready": True})
                self.wfile.write(body.encode())
`;
    const m = buildModuleModel(live, parsePython(live));
    const a = m.classes.find((c) => c.name === 'Meter')!;
    const p = extractHealthPayload(a.methods.get('_start_health')!.outer, {
      agent: a,
      classes: new Map(m.classes.map((c) => [c.name, c] as const)),
      methods: new Set(a.methods.keys()),
      baseKeys: { keys: new Set(['status']), open: false },
      baseWord: 'healthy',
      baseFails: true,
    });
    const text = p && p !== 'untranslatable' ? p.lines.join('\n') : '';
    expect(text).toContain('"initialized": (self.started_at) if status.get("status") == "healthy" else False');
    expect(text).toContain('"ready": status.get("status") == "healthy"');
  });

  // A conditional reply: a request error beside the health answer is the reply to another request only when the
  // condition tests the request; one reading the agent's state chooses the probe's own answer.
  it('a request-error branch stands aside only when the condition tests the request', () => {
    const loop = (cond: string, reply: string) => `class Geo:
    def _health_payload(self):
        return {"status": "ok", "ranges": len(self.rows), "lookups": self.lookups}

    def _serve_health(self):
        while self.running:
            req = self.health.recv_json()
            self.health.send_json(${reply.replace('COND', cond)})
`;
    const payload = (src: string) => {
      const m = buildModuleModel(src, parsePython(src));
      const a = m.classes.find((c) => c.name === 'Geo')!;
      const p = extractHealthPayload(a.methods.get('_serve_health')!.outer, { agent: a, classes: new Map(m.classes.map((c) => [c.name, c] as const)), methods: new Set(a.methods.keys()) });
      return p && p !== 'untranslatable' ? p.lines.join('\n') : String(p);
    };
    expect(payload(loop('req.get("action") == "health_check"', 'self._health_payload() if COND else {"status": "error"}'))).toContain('self._health_payload()');
    expect(payload(loop('self._failing', '{"status": "error"} if COND else self._health_payload()'))).not.toContain('self._health_payload()');
  });
});

describe('verify: a method reachable in the original stays reachable', () => {
  const profile = loadProfile('base-agent');
  const original = `class Agent:
    def __init__(self, port=7000):
        self.port = port
        self._load()

    def _load(self):
        self.data = {}

    def run(self):
        while True:
            pass


if __name__ == "__main__":
    Agent().run()
`;
  const repo = () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-verify-'));
    temps.push(root);
    mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
    writeFileSync(path.join(root, 'common', 'core', 'base_agent.py'), readFileSync(REFERENCE));
    mkdirSync(path.join(root, 'agents'));
    writeFileSync(path.join(root, 'agents', 'agent.py'), original);
    return root;
  };
  const agent: AgentInfo = { file: 'agents/agent.py', class: 'Agent', status: 'legacy', language: 'python' } as AgentInfo;
  const verify = (root: string, output: string) =>
    pythonAdapter.verify([{ root, agent, output, outputFile: path.join(root, 'agents', 'agent_v2.py'), profile } as never]);

  it('fails an output where a method the constructor reached has no caller any more', async () => {
    const root = repo();
    const dead = `from common.core.base_agent import BaseAgent


class Agent(BaseAgent):
    def __init__(self, port=7000, **kwargs):
        super().__init__(name="Agent", port=port, **kwargs)

    def _agent_load(self):
        self.data = {}


if __name__ == "__main__":
    Agent().run()
`;
    const [err] = await verify(root, dead);
    expect(err).toMatch(/agents\/agent_v2\.py:\d+: _agent_load\(\) ran in the original \(as _load\(\)\) but nothing calls it after the migration/);
  });

  it('accepts it when the renamed method is still called', async () => {
    const root = repo();
    const alive = `from common.core.base_agent import BaseAgent


class Agent(BaseAgent):
    def __init__(self, port=7000, **kwargs):
        super().__init__(name="Agent", port=port, **kwargs)
        self._agent_load()

    def _agent_load(self):
        self.data = {}


if __name__ == "__main__":
    Agent().run()
`;
    const [err] = await verify(root, alive);
    expect(err).toBeNull();
  });

  it('counts the hooks an older base of the same name called: renamed with no caller, the agent fails', async () => {
    const root = repo();
    // Written for an older copy of the base, which ran _setup_logging() itself.
    writeFileSync(path.join(root, 'agents', 'agent.py'), `from src.core.base_agent import BaseAgent


class Agent(BaseAgent):
    def __init__(self, port=7000, **kwargs):
        super().__init__(name="Agent", port=port, **kwargs)

    def _setup_logging(self):
        self.audit = open("audit.log", "a")


if __name__ == "__main__":
    Agent().run()
`);
    const orphaned = `from common.core.base_agent import BaseAgent


class Agent(BaseAgent):
    def __init__(self, port=7000, **kwargs):
        super().__init__(name="Agent", port=port, **kwargs)

    def _agent_setup_logging(self):
        self.audit = open("audit.log", "a")


if __name__ == "__main__":
    Agent().run()
`;
    const [err] = await verify(root, orphaned);
    expect(err).toMatch(/_agent_setup_logging\(\) ran in the original \(as _setup_logging\(\)\) but nothing calls it after the migration/);
    const kept = orphaned.replace('_agent_setup_logging', '_setup_logging');
    const [ok] = await verify(root, kept);
    expect(ok).toBeNull();
  });
});

describe('verify: a method left uncalled by a removal a review item names', () => {
  const profile = loadProfile('base-agent');
  // A health server whose nested handler also answered a business route (/jobs) from job_report().
  const original = (run: string) => `import json
from http.server import BaseHTTPRequestHandler, HTTPServer


class JobAgent:
    def __init__(self, port=7000, health_check_port=7001):
        self.port = port
        self.jobs = {}
        self._serve_health(health_check_port)

    def _serve_health(self, health_port):
        agent = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/health":
                    body = {"status": "ok", "jobs": len(agent.jobs)}
                elif self.path == "/jobs":
                    body = agent.job_report()
                else:
                    body = {}
                self.send_response(200)
                self.end_headers()
                self.wfile.write(json.dumps(body).encode())

        self.httpd = HTTPServer(("", health_port), Handler)

    def job_report(self):
        return dict(self.jobs)

    def run(self):
        while True:
${run}


if __name__ == "__main__":
    JobAgent().run()
`;
  // The handler went with the health server; job_report() stays, and nothing calls it.
  const output = `from common.core.base_agent import BaseAgent


class JobAgent(BaseAgent):
    def __init__(self, port=7000, health_check_port=7001, **kwargs):
        super().__init__(name="JobAgent", port=port, health_check_port=health_check_port, **kwargs)
        self.jobs = {}

    def job_report(self):
        return dict(self.jobs)


if __name__ == "__main__":
    JobAgent().run()
`;
  const handlerLine = original('').split('\n').findIndex((l) => l.includes('class Handler(')) + 1;
  const says = (reason: string, line = handlerLine) => [{ symbol: 'Handler', line, reason }];
  const named = 'the health server also answered /jobs: the _v2 no longer answers it, and job_report(), called only from there, stays uncalled';
  const verify = (run: string, review?: Array<{ symbol: string; line: number; reason: string }>) => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-verify-orphan-'));
    temps.push(root);
    mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
    writeFileSync(path.join(root, 'common', 'core', 'base_agent.py'), readFileSync(REFERENCE));
    mkdirSync(path.join(root, 'agents'));
    writeFileSync(path.join(root, 'agents', 'job_agent.py'), original(run));
    const agent = { file: 'agents/job_agent.py', class: 'JobAgent', status: 'legacy', language: 'python' } as AgentInfo;
    return pythonAdapter.verify([{ root, agent, output, outputFile: path.join(root, 'agents', 'job_agent_v2.py'), profile, review }]);
  };
  const refused = /job_report\(\) ran in the original \(as job_report\(\)\) but nothing calls it after the migration/;

  it('accepts it when the method ran only through the handler the review item names, and the item names the method', async () => {
    expect(await verify('            pass', says(named))).toEqual([null]);
  });

  it('refuses it without that review item', async () => {
    expect((await verify('            pass'))[0]).toMatch(refused);
    expect((await verify('            pass', []))[0]).toMatch(refused);
  });

  it('refuses it when the review item does not name the method', async () => {
    expect((await verify('            pass', says('the health server also answered /jobs: the _v2 no longer answers it')))[0]).toMatch(refused);
  });

  it('refuses it when the item names another definition (its line is not the handler\'s)', async () => {
    expect((await verify('            pass', says(named, handlerLine + 1)))[0]).toMatch(refused);
  });

  it('refuses it when the method also ran from elsewhere (the main loop), not only through the named handler', async () => {
    expect((await verify('            self.job_report()', says(named)))[0]).toMatch(refused);
  });
});

// The host the base's health server binds, read from its source (a monitor on another machine reaches
// only what that host allows): the setting choosing it and its default, also through an attribute.
describe('the host the base binds its health server to', () => {
  const HARDENED = path.resolve(import.meta.dirname, '../templates/runtime/python/amoskys/agents/common/base.py');
  it('the reference base and the hardened base: $AGENT_HOST, default 127.0.0.1, through the attribute __init__ sets', () => {
    const ref = learnFromSource(readFileSync(REFERENCE, 'utf8'), 'BaseAgent', REFERENCE)!;
    expect(ref.healthHost).toMatchObject({ host: '127.0.0.1', env: 'AGENT_HOST', setting: null });
    const hard = learnFromSource(readFileSync(HARDENED, 'utf8'), 'HardenedAgentBase', HARDENED)!;
    expect(hard.healthHost).toMatchObject({ host: '127.0.0.1', env: 'AGENT_HOST' });
  });
  it('a literal host, a config default, and none that can be read', () => {
    const base = (host: string) => `
from http.server import ThreadingHTTPServer
class BaseAgent:
    def __init__(self, port=None, health_check_port=None, **kwargs):
        self.health_check_port = health_check_port
        self.config = dict(kwargs)
        self.server = ThreadingHTTPServer((${host}, self.health_check_port), None)
`;
    expect(learnFromSource(base('"0.0.0.0"'), 'BaseAgent', 'b.py')!.healthHost).toMatchObject({ host: '0.0.0.0', env: null, setting: null, line: 7 });
    expect(learnFromSource(base('self.config.get("bind", "localhost")'), 'BaseAgent', 'b.py')!.healthHost).toMatchObject({ host: 'localhost', env: null, setting: 'self.config.get("bind", "localhost")' });
    expect(learnFromSource(base('pick_host()'), 'BaseAgent', 'b.py')!.healthHost).toBeNull();
  });
});

describe('the hook through which an agent chooses the HTTP code of its health status', () => {
  it('the reference base: _health_http_code(status) holds the 200/503 rule, and its handler calls it', () => {
    const model = learnFromSource(readFileSync(REFERENCE, 'utf8'), 'BaseAgent', 'base_agent.py')!;
    expect(model.healthFailCode).toBe(503);
    expect(model.healthCodeHook).toBe('_health_http_code');
  });

  it('a base deciding the code inline in its handler (an older copy of the reference base): the same code, no hook', () => {
    const inline = readFileSync(REFERENCE, 'utf8')
      .replace(/self\._send\(agent\._health_http_code\(status\),/, 'self._send(200 if str(status.get("status", "")).lower() in ("ok", "healthy") else 503,')
      .replace(/\n    def _health_http_code\(self, status\):[\s\S]*?\n(?=    def )/, '\n');
    expect(inline).not.toContain('_health_http_code');
    const model = learnFromSource(inline, 'BaseAgent', 'base_agent.py')!;
    expect(model.healthFailCode).toBe(503);
    expect(model.healthCodeHook).toBeNull();
  });

  it('the fixture suite\'s production-like base: none', () => {
    const file = path.resolve(import.meta.dirname, '../fixtures/python/_base/common/core/base_agent.py');
    expect(learnFromSource(readFileSync(file, 'utf8'), 'BaseAgent', 'base_agent.py')!.healthCodeHook).toBeNull();
  });
});

describe('what the validator reads as an agent declaring its health code', () => {
  const profile = loadProfile('base-agent');
  const agent = (cls: string) => ({ class: cls, language: 'python' }) as unknown as AgentInfo;
  const repo = (v2: string) => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'declared-code-'));
    temps.push(root);
    mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
    writeFileSync(path.join(root, 'common', '__init__.py'), '');
    writeFileSync(path.join(root, 'common', 'core', '__init__.py'), '');
    writeFileSync(path.join(root, 'common', 'core', 'base_agent.py'), readFileSync(REFERENCE, 'utf8'));
    writeFileSync(path.join(root, 'agent_v2.py'), v2);
    return root;
  };
  const fixture = (name: string) => readFileSync(path.resolve(import.meta.dirname, `../fixtures/python/${name}/expected.py`), 'utf8');
  it('a _v2 overriding the base\'s _health_http_code() declares it; the one keeping the base\'s rule does not', async () => {
    const declaring = repo(fixture('health-degraded-status-answered-200'));
    expect(await declaredHealthCodeHook(declaring, path.join(declaring, 'agent_v2.py'), agent('CatalogSyncAgent'), profile)).toBe('_health_http_code');
    const keeping = repo(fixture('health-degraded-status-answered-503'));
    expect(await declaredHealthCodeHook(keeping, path.join(keeping, 'agent_v2.py'), agent('CatalogSyncAgent'), profile)).toBeUndefined();
    // Another class of the file overriding it is not the agent.
    expect(await declaredHealthCodeHook(declaring, path.join(declaring, 'agent_v2.py'), agent('OtherAgent'), profile)).toBeUndefined();
  });
});

describe('the base model of a base found in several repositories', () => {
  const profile = loadProfile('base-agent');
  const repo = () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-base-twice-'));
    temps.push(root);
    mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
    writeFileSync(path.join(root, 'common', 'core', 'base_agent.py'), readFileSync(REFERENCE));
    return root;
  };

  it('is what the text teaches, told from the file it was read from, and follows an edit that keeps the length', () => {
    const [a, b] = [repo(), repo()];
    const ma = loadBaseModel(a, profile.python!, profile.base_class);
    const mb = loadBaseModel(b, profile.python!, profile.base_class);
    expect(ma.learnedFrom).toBe('source');
    expect(ma.sourceFile).toBe(path.join(a, 'common', 'core', 'base_agent.py'));
    expect(mb.sourceFile).toBe(path.join(b, 'common', 'core', 'base_agent.py'));
    expect({ ...mb, sourceFile: ma.sourceFile }).toEqual(ma);
    expect(ma.methods.has('cleanup')).toBe(true);
    // The same length, another method: the model of that text, not the one kept for the old one.
    const file = path.join(b, 'common', 'core', 'base_agent.py');
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('    def cleanup(');
    writeFileSync(file, text.replace('    def cleanup(', '    def cleanuq('));
    const edited = loadBaseModel(b, profile.python!, profile.base_class);
    expect(edited.methods.has('cleanuq')).toBe(true);
    expect(edited.methods.has('cleanup')).toBe(false);
    expect(edited.sourceFile).toBe(file);
    // The first repository's base is unchanged.
    expect(loadBaseModel(a, profile.python!, profile.base_class).methods.has('cleanup')).toBe(true);
  });
});

