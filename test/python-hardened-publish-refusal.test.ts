// A refusal that a moved publish only returns (`return self._post(...)`, `_post` answering
// `response.status == 200`) must reach the base as a failed publish. One python3 process per fixture
// runs the legacy agent and then its _v2 (the fixture's expected.py, on the reference HardenedAgentBase)
// through the same cycles against one loopback ingest whose answer is scripted per cycle (202 = buffered,
// not stored; 500; 200 = stored), and prints what the ingest stored and what each side kept after each cycle.
// Validation cannot tell this apart: its bus takes everything.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { migratedCase, removeRoots } from './helpers/python-hardened.js';

afterAll(removeRoots);

const DRIVER = `
import importlib.util, json, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

legacy_path, v2_path, cls_name, watched, first, line, kept_attr, legacy_cycle = sys.argv[1:9]
answers = json.loads(sys.argv[9])
state = {"answer": 200, "stored": [], "posts": 0}

class Ingest(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        state["posts"] += 1
        if state["answer"] == 200:
            # Only what the ingest stored; the per-send timestamps differ between the two runs.
            state["stored"] += [{k: v for k, v in e.items() if k != "ts"} for e in body["events"]]
        self.send_response(state["answer"])
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

ingest = ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
threading.Thread(target=ingest.serve_forever, daemon=True).start()
os.environ["EVENTBUS_URL"] = "http://127.0.0.1:%d" % ingest.server_address[1]

def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

class OnePass(Exception):
    pass

class PassClock:
    """The legacy module's time: its run() loop ends its pass at the sleep."""
    def __getattr__(self, name):
        return getattr(time, name)

    def sleep(self, seconds):
        raise OnePass()

def run_pass(agent):
    try:
        agent.run()
    except OnePass:
        pass

def drive(cls, cycle, kept):
    with open(watched, "w") as f:
        f.write(first)
    state.update(answer=200, stored=[], posts=0)
    agent = cls()
    cycle(agent)  # the baseline pass: nothing to send yet
    after = []
    for i, code in enumerate(answers):
        with open(watched, "a") as f:
            f.write(line.format(i=i) + "\\n")
        state["answer"] = code
        posts = state["posts"]
        cycle(agent)
        after.append(dict(kept(agent), answer=code, posts=state["posts"] - posts))
    return {"stored": sorted(state["stored"], key=json.dumps), "cycles": after}

legacy_module = load("legacy_agent", legacy_path)
# The legacy cycle: collect() where it publishes, else one pass of run()'s loop (which publishes).
if legacy_cycle == "run":
    legacy_module.time = PassClock()
legacy = drive(getattr(legacy_module, cls_name), run_pass if legacy_cycle == "run" else (lambda a: a.collect()), lambda a: {"kept": len(getattr(a, kept_attr))})

def v2_cycle(agent):
    agent.retry_backoff_s = agent.retry_backoff_max_s = 0.001
    agent.run_cycle()

def v2_kept(agent):
    h = agent.health_summary()
    return {"kept": h["queue_size"], "published": h.get("events_published", 0), "queued": h.get("events_queued", 0),
            "breaker_failures": agent.circuit_breaker.failures, "breaker": agent.circuit_breaker.state, "max_retries": agent.max_retries}

v2 = drive(getattr(load("migrated_v2", v2_path), cls_name), v2_cycle, v2_kept)
print(json.dumps({"legacy": legacy, "v2": v2}))
`;

interface Cycle { answer: number; posts: number; kept: number; published?: number; queued?: number; breaker_failures?: number; breaker?: string; max_retries?: number }
interface Side { stored: unknown[]; cycles: Cycle[] }

interface Run {
  cls: string;
  /** The file the agent watches: written with `first`, then `line` ({i}: the cycle) appended before each cycle. */
  watched: string;
  first: string;
  line: string;
  /** The legacy agent's own store of what the bus did not take. */
  keptAttr: string;
  /** The legacy cycle that publishes: collect(), or one pass of run()'s loop. */
  legacyCycle: 'collect' | 'run';
  env: Record<string, string>;
}

function legacyAndV2(root: string, legacy: string, v2: string, r: Run): { legacy: Side; v2: Side } {
  const driver = path.join(root, 'refusal_driver.py');
  writeFileSync(driver, DRIVER);
  const env = r.env;
  const out = execFileSync('python3', [driver, path.join(root, legacy), path.join(root, v2), r.cls, r.watched, r.first, r.line, r.keptAttr, r.legacyCycle, JSON.stringify(ANSWERS)], {
    cwd: root,
    env: { ...process.env, PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', no_proxy: '*', NO_PROXY: '*', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as { legacy: Side; v2: Side };
}

// 202 (buffered, not stored) and 500 are refusals the legacy kept for the next cycle; 200 stores.
const ANSWERS = [202, 200, 500, 200];

/** The legacy kept a refused batch and re-sent it on the next 200; the _v2 must have the base do the same. */
function expectSameDelivery(r: { legacy: Side; v2: Side }): void {
  const why = JSON.stringify(r);
  // Same events stored in the end, each refused cycle's among them (the 202 one was lost before the fix).
  expect(r.v2.stored, why).toEqual(r.legacy.stored);
  expect(r.legacy.stored.length, why).toBeGreaterThanOrEqual(ANSWERS.length);
  let published = 0;
  ANSWERS.forEach((answer, i) => {
    const legacy = r.legacy.cycles[i]!;
    const v2 = r.v2.cycles[i]!;
    if (answer === 200) {
      expect(legacy.kept, why).toBe(0);
      expect(v2.kept, why).toBe(0);
      expect(v2.breaker_failures, why).toBe(0);
      expect(v2.published!, why).toBeGreaterThan(published);
      published = v2.published!;
      return;
    }
    // Refused: kept for the next cycle, not counted as published; every attempt counted by the breaker.
    expect(legacy.kept, why).toBeGreaterThan(0);
    expect(v2.kept, why).toBeGreaterThan(0);
    expect(v2.published ?? 0, why).toBe(published);
    expect(v2.posts, why).toBe(v2.max_retries);
    expect(v2.breaker_failures, why).toBe(v2.max_retries);
    expect(v2.breaker, why).toBe('CLOSED');
  });
}

it('a refusal returned through a moved helper (_publish() -> return self._post(...)) is queued and re-sent by the base, as the legacy kept it in its pending list', async () => {
  const { root, c, v2 } = await migratedCase('sessions-guarded-publish-pending-trim');
  const table = path.join(root, 'sessions');
  const env = { SESSIONS_TABLE: table, SESSIONS_SECRETS_FILE: path.join(root, 'secrets.json') };
  expectSameDelivery(legacyAndV2(root, c.rel, v2, { cls: 'LoginSessionsAgent', watched: table, first: 'ops pts/0 10.0.0.4 1764900000\n', line: 'u{i} pts/{i} 10.0.0.{i} 176490000{i}', keptAttr: 'pending', legacyCycle: 'collect', env }));
}, 120_000);

it("a refusal from a helper that also answers False itself (_publish_events() -> return self._post_json(...)) is queued and re-sent by the base, as the legacy backlogged it", async () => {
  const { root, c, v2 } = await migratedCase('bluetooth-webhook-accepted-not-stored');
  const paired = path.join(root, 'bt-paired');
  expectSameDelivery(legacyAndV2(root, c.rel, v2, { cls: 'BluetoothAgent', watched: paired, first: 'AA:BB:CC:00:00:01 keyboard\n', line: 'AA:BB:CC:00:01:0{i} headset{i}', keptAttr: 'backlog', legacyCycle: 'collect', env: { BT_PAIRED_LIST: paired } }));
}, 120_000);

// run()'s loop published and backlogged (hardened-loop-publish): one pass of the legacy loop per cycle.
it("run()'s `if kills and not self._post(kills): self.backlog.append(kills)` becomes the base's publish and queue: same delivery as the legacy loop", async () => {
  const { root, c, v2 } = await migratedCase('oom-loop-guarded-post-backlog');
  const log = path.join(root, 'kern.log');
  const kill = 'Dec  5 10:00:0{i} h kernel: Out of memory: Killed process 90{i} (worker{i}) total-vm:100kB, anon-rss:51{i}kB, file-rss:0kB';
  expectSameDelivery(legacyAndV2(root, c.rel, v2, { cls: 'OomKillerAgent', watched: log, first: '', line: kill, keptAttr: 'backlog', legacyCycle: 'run', env: { OOM_KERN_LOG: log } }));
}, 120_000);

it("run()'s publish in a try whose handler backlogs too (raised or refused, kept) becomes the base's publish and queue: same delivery as the legacy loop", async () => {
  const { root, c, v2 } = await migratedCase('authkeys-loop-try-publish-backlog');
  const keys = path.join(root, 'authorized_keys');
  expectSameDelivery(legacyAndV2(root, c.rel, v2, { cls: 'AuthorizedKeysAgent', watched: keys, first: 'ssh-ed25519 AAAAbaseline ops@laptop\n', line: 'ssh-ed25519 AAAA{i}x intruder{i}@host', keptAttr: 'backlog', legacyCycle: 'run', env: { AUTHKEYS_FILES: keys } }));
}, 120_000);
