// tls-endpoint-narrow-oserror-loop: the legacy run() caught only OSError around collect(), so any other
// exception ended the agent (exit 1); HardenedAgentBase's loop catches every exception from collect_data().
// The rewrite's warning says so: run here for real, beside the legacy file, on a configuration whose typo'd
// port makes int() raise ValueError in every cycle: the legacy exits 1, the _v2 logs "collect_data failed"
// and keeps running until SIGTERM, which it answers with exit 0. On a good configuration both run.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { migratedCase, removeRoots, runAgentFor } from './helpers/python-hardened.js';

afterAll(removeRoots);

/** Start `file` on `config`, wait `ms` (or its exit), then SIGTERM it: its exit code (null: killed) and output. */
const runFor = (root: string, file: string, config: string, ms: number) =>
  runAgentFor(root, file, { ms, env: { TLS_AGENT_CONFIG: config, TLS_QUEUE_PATH: path.join(root, 'data/queue/tls_endpoint.db'), COLLECTION_INTERVAL: '0.3' } });

it('a loop catching only OSError: the legacy dies of a ValueError in its cycle, the _v2 on the base logs it and runs on, as its warning says', async () => {
  const { c, root, v2 } = await migratedCase('tls-endpoint-narrow-oserror-loop');
  const legacy = path.join(root, c.rel);
  mkdirSync(path.join(root, 'config'), { recursive: true });
  const bad = path.join(root, 'config', 'typo.json');
  writeFileSync(bad, JSON.stringify({ endpoints: [{ host: '127.0.0.1', port: 'tls' }], scan: { interval_seconds: 0.3, timeout_seconds: 1 } }));
  const good = path.join(root, 'config', 'good.json');
  writeFileSync(good, JSON.stringify({ endpoints: [{ host: '127.0.0.1', port: 9 }], scan: { interval_seconds: 0.3, timeout_seconds: 1 } }));

  const before = await runFor(root, legacy, bad, 15_000);
  expect(before.exitedAlone, before.log).toBe(true);
  expect(before.code, before.log).toBe(1);
  expect(before.log).toMatch(/ValueError: invalid literal for int\(\) with base 10: 'tls'/);

  const after = await runFor(root, v2, bad, 4_000);
  expect(after.exitedAlone, after.log).toBe(false);
  expect(after.code, after.log).toBe(0);
  expect(after.log.match(/collect_data failed/g)?.length ?? 0, after.log).toBeGreaterThanOrEqual(2);

  // An unreachable endpoint (OSError inside the probe) stops neither.
  for (const file of [legacy, v2]) {
    const ok = await runFor(root, file, good, 3_000);
    expect(ok.exitedAlone, `${file}: ${ok.log}`).toBe(false);
  }
}, 120_000);
