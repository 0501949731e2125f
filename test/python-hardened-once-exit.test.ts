// A one-shot mode whose legacy cycle could raise (zombie-once-cycle-may-raise: `if args.once: agent.collect()`,
// collect() not wrapped) exits 1 on a failed cycle. On the base it calls run_cycle(), which never raises, and
// then exits 1 when health_summary()["errors"] counted a failure: run here for real on the reference base,
// beside the legacy file, with a proc root that is missing (the cycle fails) and one that is there.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { migratedCase, removeRoots } from './helpers/python-hardened.js';

afterAll(removeRoots);

function once(root: string, file: string, procRoot: string) {
  const r = spawnSync('python3', [file, '--once'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      ...process.env,
      PYTHONPATH: root,
      PYTHONDONTWRITEBYTECODE: '1',
      EVENTBUS_ADDRESS: '127.0.0.1:9',
      AMOSKYS_CERT_DIR: path.join(root, 'certs'),
      ZOMBIE_QUEUE_PATH: path.join(root, 'data/queue/zombie_agent.db'),
      ZOMBIE_PROC_ROOT: procRoot,
      COLLECTION_INTERVAL: '0.3',
    },
  });
  return { code: r.status, log: `${r.stdout}${r.stderr}` };
}

it('--once keeps its exit status on the base: 1 when the cycle fails, as the legacy raise gave, 0 when it does not', async () => {
  const { c, root, v2 } = await migratedCase('zombie-once-cycle-may-raise');
  const legacy = path.join(root, c.rel);
  mkdirSync(path.join(root, 'certs'), { recursive: true });
  for (const n of ['ca.crt', 'agent.crt', 'agent.key']) writeFileSync(path.join(root, 'certs', n), `test ${n}\n`);
  const missing = path.join(root, 'no-such-proc');
  const before = once(root, legacy, missing);
  expect(before.code, before.log).toBe(1);
  const after = once(root, v2, missing);
  expect(after.code, after.log).toBe(1);
  expect(after.log).toContain('collect_data failed');
  // A proc root with one zombie: the cycle succeeds (the bus is down, so the batch is queued), exit 0.
  const proc = path.join(root, 'fake-proc');
  mkdirSync(path.join(proc, '4242'), { recursive: true });
  writeFileSync(path.join(proc, '4242', 'stat'), '4242 (defunct) Z 1 4242 4242 0 -1\n');
  const ok = once(root, v2, proc);
  expect(ok.code, ok.log).toBe(0);
  expect(ok.log).not.toContain('collect_data failed');
}, 120_000);

// netdev-once-exit-from-publish-answer: `ok = agent.collect(); return 0 if ok else 3`, collect() answering its
// publish. On the base: run_cycle(), then ok = not health_summary()["events_queued"]. Both files, the bus down
// (exit 3: queued), answering RETRY (3: the legacy answer False, the _v2 publish() raising and queueing) and OK (0).
it('--once exits with the status its publish answer gave on the base: 3 when queued or refused, 0 when taken', async () => {
  const { c, root, v2 } = await migratedCase('netdev-once-exit-from-publish-answer');
  const legacy = path.join(root, c.rel);
  mkdirSync(path.join(root, 'certs'), { recursive: true });
  for (const n of ['ca.crt', 'agent.crt', 'agent.key']) writeFileSync(path.join(root, 'certs', n), `test ${n}\n`);
  let status = 'OK';
  const bus = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status })));
  });
  await new Promise<void>((resolve) => bus.listen(0, '127.0.0.1', resolve));
  const at = `127.0.0.1:${(bus.address() as AddressInfo).port}`;
  try {
    for (const file of [legacy, v2]) {
      // Each run on a fresh queue: the legacy drain raises on a backlog the bus refuses (a separate story).
      const down = await inChild(root, file, '127.0.0.1:9', 'down');
      expect(down.code, `${file} bus down: ${down.log}`).toBe(3);
      status = 'RETRY';
      const refused = await inChild(root, file, at, 'refused');
      expect(refused.code, `${file} refused: ${refused.log}`).toBe(3);
      status = 'OK';
      const taken = await inChild(root, file, at, 'taken');
      expect(taken.code, `${file} taken: ${taken.log}`).toBe(0);
    }
  } finally {
    bus.close();
  }
}, 120_000);

/** netdevOnce off the test's event loop (the fake bus answers on it while the child runs). */
function inChild(root: string, file: string, bus: string, run: string): Promise<{ code: number | null; log: string }> {
  return new Promise((resolve) => {
    const child = spawn('python3', [file, '--once'], {
      cwd: root,
      env: {
        ...process.env,
        PYTHONPATH: root,
        PYTHONDONTWRITEBYTECODE: '1',
        EVENTBUS_ADDRESS: bus,
        AMOSKYS_CERT_DIR: path.join(root, 'certs'),
        NETDEV_QUEUE_PATH: path.join(root, `data/queue/${path.basename(file, '.py')}-${run}.db`),
        NETDEV_LOG_DIR: path.join(root, 'logs'),
      },
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('close', (code) => resolve({ code, log }));
  });
}
