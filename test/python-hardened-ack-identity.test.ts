// Two run-time checks of migrated fixtures on the reference HardenedAgentBase, each one cycle of the real _v2 in
// one python3 process (a driver beside it imports the _v2, constructs the agent, runs the base's run_cycle()
// once against a loopback EventBus that answers every PublishTelemetry with the status it is given, and prints
// health_summary()). Validation cannot tell either apart: its bus always acks OK, and it never reads device_id.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { migratedCase, removeRoots } from './helpers/python-hardened.js';

afterAll(removeRoots);

const DRIVER = `
import importlib.util, json, os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

v2, cls_name, answer = sys.argv[1:4]

class Bus(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"status": answer}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

bus = ThreadingHTTPServer(("127.0.0.1", 0), Bus)
threading.Thread(target=bus.serve_forever, daemon=True).start()
os.environ["EVENTBUS_ADDRESS"] = "127.0.0.1:%d" % bus.server_address[1]
spec = importlib.util.spec_from_file_location("migrated_v2", v2)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
agent = getattr(module, cls_name)()
agent.retry_backoff_s = agent.retry_backoff_max_s = 0.01
agent.run_cycle()
print(json.dumps(agent.health_summary()))
`;

function oneCycle(root: string, v2: string, cls: string, answer: string, env: Record<string, string>): Record<string, unknown> {
  // The dummy certificates the fixtures' gRPC stand-in reads (runtime `certs: true`).
  mkdirSync(path.join(root, 'certs'), { recursive: true });
  for (const n of ['ca.crt', 'agent.crt', 'agent.key']) writeFileSync(path.join(root, 'certs', n), `test ${n}\n`);
  const driver = path.join(root, 'one_cycle_driver.py');
  writeFileSync(driver, DRIVER);
  const out = execFileSync('python3', [driver, path.join(root, v2), cls, answer], {
    cwd: root,
    env: { ...process.env, PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', no_proxy: '*', NO_PROXY: '*', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
}

// The legacy _publish_telemetry() answered False for a missing channel and for a refusing ack alike, and its
// cycle ignored both: the migrated publish() raises on both, so the base queues a refused event too (before:
// `self._publish_telemetry(t)` unchecked, a RETRY ack counted in events_published, nothing queued).
it('a non-OK ack is a failed publish on the base: queued, not counted as published', async () => {
  const { root, v2 } = await migratedCase('tlsprobe-health-server-returned-to-run-local');
  const env = { AMOSKYS_CERT_DIR: path.join(root, 'certs'), TLS_PROBE_TARGETS: '127.0.0.1:9' };
  const refused = oneCycle(root, v2, 'TlsProbeAgent', 'RETRY', env);
  expect(refused.events_queued, JSON.stringify(refused)).toBe(1);
  expect(refused.events_published ?? 0, JSON.stringify(refused)).toBe(0);
  expect(refused.queue_size, JSON.stringify(refused)).toBe(1);
  const taken = oneCycle(root, v2, 'TlsProbeAgent', 'OK', env);
  expect(taken.events_published, JSON.stringify(taken)).toBe(1);
  expect(taken.events_queued ?? 0, JSON.stringify(taken)).toBe(0);
}, 120_000);

// `self.device_id = self.cfg.get("agent", "device_id") or socket.gethostname()` after super().__init__() stays
// (no review item): the base stores the device_id it is given and reads it only once running, so it reports
// the configured identity (before: kept for review, no _v2 committed).
it("the identity __init__ sets after super().__init__() is the one the base reports", async () => {
  const { root, v2 } = await migratedCase('sshd-ini-configparser-interval-attribute');
  mkdirSync(path.join(root, 'etc/ssh'), { recursive: true });
  writeFileSync(path.join(root, 'etc/ssh/sshd_config'), 'PermitRootLogin no\n');
  const env = { SSHD_WATCH_AGENT_DEVICE_ID: 'edge-gw-7', SSHD_WATCH_QUEUE_PATH: path.join(root, 'data/queue/sshd_ini.db'), SSHD_WATCH_WATCH_FILES: path.join(root, 'etc/ssh/sshd_config') };
  const configured = oneCycle(root, v2, 'SshdIniAgent', 'OK', env);
  expect(configured.device_id, JSON.stringify(configured)).toBe('edge-gw-7');
  const host = execFileSync('python3', ['-c', 'import socket; print(socket.gethostname())'], { encoding: 'utf8' }).trim();
  const unset = oneCycle(root, v2, 'SshdIniAgent', 'OK', { ...env, SSHD_WATCH_AGENT_DEVICE_ID: '' });
  expect(unset.device_id, JSON.stringify(unset)).toBe(host);
}, 120_000);
