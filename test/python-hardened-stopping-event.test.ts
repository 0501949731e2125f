// The agent's last "agent_stopping" event, published from run()'s finally: through its own publish, reaches
// the bus when the migrated agent stops, at run time: the migrated mounts-stopping-event-run-finally fixture
// runs on the reference base against a loopback bus answering OK; on SIGTERM the base runs shutdown() (the
// moved finally:, calling _publish_stopping(), now through _publish_with_retry()) before it closes the
// publisher, so the stopping event is the last envelope the bus receives, and the agent exits 0.
// (Before: the event went with run() as transport, migrated silently; then a review item and no _v2.)
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { migratedCase, recordingRegistry, removeRoots, startOnBase } from './helpers/python-hardened.js';

afterAll(removeRoots);

it('on SIGTERM the agent_stopping event of the moved finally: reaches the bus, last, exit 0', async () => {
  const { root, v2 } = await migratedCase('mounts-stopping-event-run-finally');
  mkdirSync(path.join(root, 'proc'), { recursive: true });
  writeFileSync(path.join(root, 'proc/mounts'), '/dev/sda1 / ext4 rw,relatime 0 0\n/dev/sda2 /srv xfs ro,relatime 0 0\n');
  const bodies: string[] = [];
  const bus = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      bodies.push(body);
      res.setHeader('Content-Type', 'application/json');
      res.end('{"status": "OK"}');
    });
  });
  await new Promise<void>((r) => bus.listen(0, '127.0.0.1', r));
  const paths: string[] = [];
  const { server, url } = await recordingRegistry(paths);
  try {
    const { child, exited, output: log } = startOnBase(root, v2, url, {
      COLLECTION_INTERVAL: '0.2',
      MOUNTS_FILE: path.join(root, 'proc/mounts'),
      EVENTBUS_ADDRESS: `127.0.0.1:${(bus.address() as AddressInfo).port}`,
      no_proxy: '*',
      NO_PROXY: '*',
    });
    const end = Date.now() + 20_000;
    while (Date.now() < end && child.exitCode === null && !bodies.some((b) => b.includes('mount_summary'))) await new Promise((r) => setTimeout(r, 100));
    expect(bodies.some((b) => b.includes('mount_summary')), log()).toBe(true);
    expect(bodies.some((b) => b.includes('agent_stopping')), log()).toBe(false);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code, log()).toBe(0);
    expect(bodies.filter((b) => b.includes('agent_stopping')), log()).toHaveLength(1);
    expect(bodies.at(-1), log()).toContain('"agent_stopping"');
    expect(log()).toContain('agent_stopping published');
  } finally {
    server.close();
    bus.close();
  }
}, 90_000);
