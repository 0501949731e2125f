// Run-time check of an agent whose collection is delegated to helper objects of its file
// (sentinel-two-collectors-helper-collect: `for collector in self.collectors: findings.extend(collector.collect())`,
// a ProcessCollector and a SocketCollector). The migration turns the agent's collect() into collect_data() and
// leaves the helpers' collect() calls alone. One python3 driver runs the legacy, then the _v2 on the reference
// base, against one loopback EventBus (the grpc stand-in POSTs /PublishTelemetry): bus up, down for two steps,
// back, then SIGTERM, a listening port added to the socket collector's table at each step. The _v2 must store
// every port, each once, and all the legacy stored: what the helpers found reaches the bus through the base's publish, queue and drain.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { migratedCase, removeRoots } from './helpers/python-hardened.js';

afterAll(removeRoots);

const DRIVER = `
import collections, json, os, signal, subprocess, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

root, legacy, v2 = sys.argv[1:4]
added = json.loads(sys.argv[4])
state = {"up": True, "stored": []}

class Bus(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        up = state["up"]
        if up:
            state["stored"].append(json.loads(body))
        out = b'{"status": "OK"}' if up else b""
        self.send_response(200 if up else 503)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    log_message = lambda self, *args: None

bus = ThreadingHTTPServer(("127.0.0.1", 0), Bus)
threading.Thread(target=bus.serve_forever, daemon=True).start()

def side(name, script):
    table = os.path.join(root, "tcp-" + name)
    with open(table, "w") as f:
        f.write("  sl  local_address rem_address   st\\n   0: 00000000:0016 00000000:0000 0A\\n")
    state.update(up=True, stored=[])
    env = dict(os.environ, EVENTBUS_ADDRESS="127.0.0.1:%d" % bus.server_address[1], SENTINEL_TCP_TABLE=table,
               SENTINEL_QUEUE_PATH=os.path.join(root, "queue-%s.db" % name), AMOSKYS_CERT_DIR=os.path.join(root, "certs"),
               COLLECTION_INTERVAL="0.3", CIRCUIT_RECOVERY_TIMEOUT="0.5", HEALTH_CHECK_PORT="0", REGISTRY_URL="", METRICS_URL="")
    log = open(os.path.join(root, name + ".log"), "w")
    p = subprocess.Popen([sys.executable, script, "--interval", "0.3"], env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    time.sleep(1.5)
    for i, up in enumerate([True, False, False, True]):
        state["up"] = up
        with open(table, "a") as f:
            f.write("   %d: 00000000:%04X 00000000:0000 0A\\n" % (i + 1, added[i]))
        time.sleep(1.5)
    time.sleep(3.0)
    p.send_signal(signal.SIGTERM)
    try:
        code = p.wait(15)
    except subprocess.TimeoutExpired:
        p.kill()
        code = "hung"
    ports = [int(e["attributes"]["port"]) for env in state["stored"] for e in env["device_telemetry"]["events"] if e["event_type"] == "LISTEN_NEW"]
    return {"code": code, "ports": sorted(ports), "twice": sorted(p for p, n in collections.Counter(ports).items() if n > 1)}

print(json.dumps({"legacy": side("legacy", legacy), "v2": side("v2", v2)}))
`;

// The ports added at each step (bus up, down, down, up): plain listeners, and suspicious ones the second case's
// socket collector raises at once through the agent's callback (published apart from the cycle's report).
for (const [name, added] of [
  ['sentinel-two-collectors-helper-collect', [4000, 4001, 4002, 4003]],
  ['sentinel-helper-alert-callback', [4444, 31337, 1337, 6667]],
] as const) {
  it(`${name}: what the helpers find reaches the bus from the _v2 as from the legacy: bus up, down, back, SIGTERM`, async () => {
    const { c, root, v2 } = await migratedCase(name);
    mkdirSync(path.join(root, 'certs'), { recursive: true });
    for (const f of ['ca.crt', 'agent.crt', 'agent.key']) writeFileSync(path.join(root, 'certs', f), 'dummy\n');
    const driver = path.join(root, 'helper_collectors_driver.py');
    writeFileSync(driver, DRIVER);
    const out = execFileSync('python3', [driver, root, path.join(root, c.rel), path.join(root, v2), JSON.stringify(added)], {
      cwd: root,
      env: { ...process.env, PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', no_proxy: '*', NO_PROXY: '*' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as Record<'legacy' | 'v2', { code: number | string; ports: number[]; twice: number[] }>;
    const why = JSON.stringify(r);
    // Every port the socket collector saw, the two added while the bus was down among them, stored once by the
    // _v2, and everything the legacy stored among them. (The legacy's own drain counts each refused attempt
    // against the sqlite queue's max_retries=8 and drops the oldest report after that many cycles down; the
    // base's breaker stops trying while the bus is down, so the _v2 may store more, never less.)
    expect(r.v2.ports, why).toEqual([22, ...added].sort((a, b) => a - b));
    expect(r.v2.twice, why).toEqual([]);
    expect(r.legacy.twice, why).toEqual([]);
    expect(r.v2.ports, why).toEqual(expect.arrayContaining(r.legacy.ports));
    expect(r.legacy.ports.length, why).toBeGreaterThanOrEqual(3);
    // The base ends on SIGTERM with 0 (the legacy had no handler: killed by the signal).
    expect(r.v2.code, why).toBe(0);
  });
}
