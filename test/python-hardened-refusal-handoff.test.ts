// A cycle that sends a refused batch to a second destination (`if not self._post(batch): self._relay(batch)`,
// _relay() sending it to a syslog relay over UDP) must keep doing so on the base: the base's refusal lands in
// its local_queue, which the migration puts behind a front handing each refused batch to _relay() first
// (hardened-refusal-handoff) and told it took the batch (keep=False): the legacy never re-posted a relayed
// batch, so the ingest must not get it later too.
// One python3 process runs the legacy agent and then its _v2 (expected.py, on the reference HardenedAgentBase)
// through the same cycles against a loopback ingest whose answer is scripted per cycle and a loopback UDP
// relay, and prints what each of them received. Validation cannot tell this apart: its bus takes everything.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { migratedCase, removeRoots } from './helpers/python-hardened.js';

afterAll(removeRoots);

/** Writes a driver into the fixture's repository, runs it with python3 (the repository on the import path) and reads the JSON it prints last. */
function runDriver(root: string, name: string, text: string, args: string[]): unknown {
  const driver = path.join(root, name);
  writeFileSync(driver, text);
  const out = execFileSync('python3', [driver, ...args], {
    cwd: root,
    env: { ...process.env, PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', no_proxy: '*', NO_PROXY: '*' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

// A loopback syslog receiver (UDP) and the JSON payload after \`sep\` of each line it has received so far.
const SYSLOG = `
import json, socket

def syslog_listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    return sock

def payloads(sock, sep):
    got = []
    while True:
        try:
            line = sock.recv(65536).decode()
        except socket.timeout:
            return got
        got.append(json.loads(line.split(sep, 1)[1]))
`;

// What both drivers share: a loopback ingest answering state["answer"] (its bodies kept when it is 200),
// loading a module from a path, and one base cycle with the retries' back-off cut to a millisecond.
const PRELUDE = SYSLOG + `
import importlib.util, json, os, socket, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

state = {"answer": 200, "stored": [], "posts": 0}

class Ingest(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        state["posts"] += 1
        if state["answer"] == 200:
            state["stored"].append(body)
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

def v2_cycle(agent):
    agent.retry_backoff_s = agent.retry_backoff_max_s = 0.001
    agent.run_cycle()
`;

const DRIVER = PRELUDE + `legacy_path, v2_path, cls_name, log_path = sys.argv[1:5]
answers = json.loads(sys.argv[5])
relay = syslog_listener()
os.environ["FWDROP_RELAY_PORT"] = str(relay.getsockname()[1])
os.environ["FWDROP_LOG"] = log_path

def relayed():
    return [{k: v for k, v in event.items() if k != "ts"} for event in payloads(relay, " - - - ")]

def drive(cls, cycle, extra):
    open(log_path, "w").close()
    state.update(answer=200, stored=[], posts=0)
    agent = cls()
    cycles = []
    for i, code in enumerate(answers):
        with open(log_path, "a") as f:
            f.write("Dec  5 10:00:0%d gw kernel: IN=eth0 SRC=198.51.100.%d DST=10.0.0.2 PROTO=TCP DROP\\n" % (i, i))
        state["answer"] = code
        posts = state["posts"]
        cycle(agent)
        cycles.append(dict(extra(agent), answer=code, posts=state["posts"] - posts, relayed=relayed()))
    stored = [{k: v for k, v in e.items() if k != "ts"} for body in state["stored"] for e in body["events"]]
    return {"stored": stored, "cycles": cycles}

legacy = drive(getattr(load("legacy_agent", legacy_path), cls_name), lambda a: a.collect(), lambda a: {})

def v2_extra(agent):
    h = agent.health_summary()
    return {"breaker": agent.circuit_breaker.state, "queue_size": h["queue_size"], "queued": h.get("events_queued", 0)}

v2 = drive(getattr(load("migrated_v2", v2_path), cls_name), v2_cycle, v2_extra)
print(json.dumps({"legacy": legacy, "v2": v2}))
`;

// 500 is a refusal; the third refusal in a row finds the base's breaker open (5 failures: 3 attempts a cycle).
const ANSWERS = [500, 200, 500, 500, 500];

it('a refused batch still goes to the relay once, after the retries or at once with the breaker open, as the legacy cycle sent it, and never to the ingest later', async () => {
  const { root, c, v2 } = await migratedCase('fwdrop-refused-batch-udp-relay');
  const r = runDriver(root, 'handoff_driver.py', DRIVER, [path.join(root, c.rel), path.join(root, v2), 'FirewallDropAgent', path.join(root, 'netfilter.log'), JSON.stringify(ANSWERS)]) as {
    legacy: { stored: unknown[]; cycles: Array<{ answer: number; posts: number; relayed: unknown[] }> };
    v2: { stored: unknown[]; cycles: Array<{ answer: number; posts: number; relayed: unknown[]; breaker: string; queue_size: number; queued: number }> };
  };
  const why = JSON.stringify(r);
  const batch = (i: number) => ({ type: 'fw_drops', src: `198.51.100.${i}`, count: 1 });
  ANSWERS.forEach((answer, i) => {
    const legacy = r.legacy.cycles[i]!;
    const v2 = r.v2.cycles[i]!;
    // Each cycle's batch reached the relay exactly when the legacy sent it there: once per refused cycle.
    expect(v2.relayed, why).toEqual(legacy.relayed);
    expect(v2.relayed, why).toEqual(answer === 200 ? [] : [batch(i)]);
  });
  // The ingest stored what the legacy stored: the relayed batch of cycle 0 was not re-sent when it took
  // events again (cycle 1: one post, its own batch), nor are the later ones kept for it.
  expect(r.legacy.stored, why).toEqual([batch(1)]);
  expect(r.v2.stored, why).toEqual(r.legacy.stored);
  expect(r.v2.cycles[1]!.posts, why).toBe(1);
  expect(r.v2.cycles.map((c) => c.queue_size), why).toEqual([0, 0, 0, 0, 0]);
  // The last refusal found the breaker open: no post at all, the batch relayed all the same.
  expect(r.v2.cycles[4]!.breaker, why).toBe('OPEN');
  expect(r.v2.cycles[4]!.posts, why).toBe(0);
  expect(r.v2.cycles[0]!.posts, why).toBe(3);
}, 120_000);

// The agent's own store for a refused report counts what its full backlog drops (`_keep()`: `if
// len(self.backlog) == self.backlog.maxlen: self.dropped += 1`, then append), and /health reads that count.
// The base now hands a refused report to _keep() (RefusedEventsHandOff(..., keep=False)) and drains the same
// deque: legacy and _v2, against an ingest refusing 4 cycles then taking them, with a backlog of 2, must
// report the same backlog and dropped count after every cycle, and store the same reports.
const KEEPER_DRIVER = PRELUDE + `
legacy_path, v2_path = sys.argv[1:3]
answers = json.loads(sys.argv[3])
os.environ.update(RESOLVER_BACKLOG_MAX="2", RESOLVER_PROBE_NAMES="localhost", CIRCUIT_RECOVERY_TIMEOUT="0")

def drive(cls, cycle, health):
    state.update(stored=[])
    agent = cls()
    out = []
    for code in answers:
        state["answer"] = code
        cycle(agent)
        h = health(agent)
        out.append({"answer": code, "backlog": h["backlog"], "dropped": h["dropped"], "stored": len(state["stored"])})
    return out

legacy = drive(load("legacy_agent", legacy_path).ResolverLatencyAgent, lambda a: a.collect(), lambda a: a._health_status())
v2 = drive(load("migrated_v2", v2_path).ResolverLatencyAgent, v2_cycle, lambda a: a.health_summary())
print(json.dumps({"legacy": legacy, "v2": v2}))
`;

it("a refused report the agent's own backlog drops on overflow is still counted in /health's dropped, and the backlog drains as before", async () => {
  const { root, c, v2 } = await migratedCase('resolver-backlog-overflow-drop-count');
  const answers = [500, 500, 500, 500, 200];
  const r = runDriver(root, 'keeper_driver.py', KEEPER_DRIVER, [path.join(root, c.rel), path.join(root, v2), JSON.stringify(answers)]) as { legacy: unknown[]; v2: unknown[] };
  expect(r.v2, JSON.stringify(r)).toEqual(r.legacy);
  // Two refused reports overflowed the backlog of 2 and were counted; the last cycle drained the two kept and sent its own.
  expect(r.legacy, JSON.stringify(r)).toEqual([
    { answer: 500, backlog: 1, dropped: 0, stored: 0 },
    { answer: 500, backlog: 2, dropped: 0, stored: 0 },
    { answer: 500, backlog: 2, dropped: 1, stored: 0 },
    { answer: 500, backlog: 2, dropped: 2, stored: 0 },
    { answer: 200, backlog: 0, dropped: 2, stored: 3 },
  ]);
}, 120_000);

// A publish that mirrors the telemetry it failed to publish to the SOC's SIEM (UDP syslog) on every failure
// path, then queues it: the base's refusal reaches _mirror_to_siem() through RefusedEventsHandOff in front of
// the sqlite queue (kept: the legacy re-sent it too). Legacy and _v2, each on its own queue file, against a
// loopback gRPC stand-in answering per cycle OK / not OK (ack RETRY) / HTTP 500 (RpcError), one new failed
// login a cycle: the SIEM must get the same lines in the same cycles, and the bus the same telemetry.
const MIRROR_DRIVER = SYSLOG + `
import importlib.util, json, os, re, socket, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

state = {"answer": "OK", "stored": [], "posts": 0}

class Bus(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        state["posts"] += 1
        if state["answer"] == 500:
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if state["answer"] == "OK":
            state["stored"].extend(re.findall(r"198\\.51\\.100\\.\\d+", body))
        out = json.dumps({"status": state["answer"]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass

bus = ThreadingHTTPServer(("127.0.0.1", 0), Bus)
threading.Thread(target=bus.serve_forever, daemon=True).start()
siem = syslog_listener()
legacy_path, v2_path, root = sys.argv[1:4]
answers = json.loads(sys.argv[4])
os.makedirs(os.path.join(root, "certs"), exist_ok=True)
for name in ("ca.crt", "agent.crt", "agent.key"):
    open(os.path.join(root, "certs", name), "w").write("dummy")
log_path = os.path.join(root, "auth.log")
os.environ.update(EVENTBUS_ADDRESS="127.0.0.1:%d" % bus.server_address[1], AMOSKYS_CERT_DIR=os.path.join(root, "certs"),
                  AUTH_DUAL_LOG=log_path, SIEM_PORT=str(siem.getsockname()[1]))

def mirrored():
    return [payload["source_ip"] for payload in payloads(siem, " AUTHFAIL - ")]

def drive(name, path, cycle):
    os.environ["AUTH_DUAL_QUEUE_PATH"] = os.path.join(root, name + ".db")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    open(log_path, "w").close()
    state.update(answer="OK", stored=[], posts=0)
    agent = module.AuthFailureAgent()
    cycles = []
    for i, answer in enumerate(answers):
        with open(log_path, "a") as f:
            f.write("Dec  1 10:00:0%d bastion sshd[9%d]: Failed password for admin from 198.51.100.%d port 4000%d ssh2\\n" % (i, i, i, i))
        state["answer"] = answer
        posts = state["posts"]
        cycle(agent)
        extra = {"breaker": agent.circuit_breaker.state} if hasattr(agent, "circuit_breaker") else {}
        cycles.append(dict(extra, answer=answer, posts=state["posts"] - posts, mirrored=mirrored()))
    return {"stored": state["stored"], "cycles": cycles}

def v2_cycle(agent):
    agent.retry_backoff_s = agent.retry_backoff_max_s = 0.001
    agent.run_cycle()

legacy = drive("legacy_agent", legacy_path, lambda a: a.collect())
v2 = drive("migrated_v2", v2_path, v2_cycle)
print(json.dumps({"legacy": legacy, "v2": v2}))
`;

it("telemetry the bus refused is still mirrored to the SIEM once, in the same cycle, on every failure path, and still queued and re-sent to the bus", async () => {
  const { root, c, v2 } = await migratedCase('auth-siem-mirror-on-publish-failure');
  // OK; ack not OK; OK (drains the refused one first); then HTTP 500 three times: the third finds the base's breaker open.
  const answers = ['OK', 'RETRY', 'OK', 500, 500, 500];
  const r = runDriver(root, 'mirror_driver.py', MIRROR_DRIVER, [path.join(root, c.rel), path.join(root, v2), root, JSON.stringify(answers)]) as {
    legacy: { stored: string[]; cycles: Array<{ mirrored: string[] }> };
    v2: { stored: string[]; cycles: Array<{ mirrored: string[]; breaker: string; posts: number }> };
  };
  const why = JSON.stringify(r);
  const ip = (i: number) => `198.51.100.${i}`;
  expect(r.legacy.cycles.map((x) => x.mirrored), why).toEqual([[], [ip(1)], [], [ip(3)], [ip(4)], [ip(5)]]);
  expect(r.v2.cycles.map((x) => x.mirrored), why).toEqual(r.legacy.cycles.map((x) => x.mirrored));
  // The refused telemetry of cycle 1 was queued and re-sent before cycle 2's, by both.
  expect(r.legacy.stored, why).toEqual([ip(0), ip(1), ip(2)]);
  expect(r.v2.stored, why).toEqual(r.legacy.stored);
  // The last refusal found the base's breaker open: nothing posted, the SIEM reached all the same.
  expect(r.v2.cycles[5]!.breaker, why).toBe('OPEN');
  expect(r.v2.cycles[5]!.posts, why).toBe(0);
}, 120_000);
