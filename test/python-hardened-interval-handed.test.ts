// ntp-drift-interval-attr-set-by-entry-handed-to-construction: the legacy entry point sets
// `agent.interval = args.interval` after constructing the agent, and run() slept self.interval. The rewrite
// hands that value to the construction (collection_interval=args.interval), which super().__init__ takes from
// **kwargs (the class's 300 its default). Run here for real, beside the legacy file, with --interval 0.5
// against a silent NTP server on loopback (each check waits its 2 s timeout): the legacy and the _v2 both run
// several cycles in a few seconds, and the _v2's base says it runs every 0.5 s; without --interval the _v2
// keeps the legacy's 300 s (one cycle). Before probe-py68 the agent was kept for review (run() held).
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { migratedCase, removeRoots, runAgentFor } from './helpers/python-hardened.js';

afterAll(removeRoots);

/** Start `file` with `args` against a silent NTP server on loopback, SIGTERM it after `ms`: its output. */
const runFor = (root: string, file: string, args: string[], ms: number) =>
  runAgentFor(root, file, { args, ms, env: { NTP_SERVERS: '127.0.0.1', NTP_QUEUE_PATH: path.join(root, 'data/queue/ntp_drift.db'), COLLECTION_INTERVAL: '' } });

const cycles = (log: string) => log.match(/NTP_SERVER_SILENT 127\.0\.0\.1/g)?.length ?? 0;

it('an interval the entry point sets on the agent after constructing it: the _v2 runs at --interval as the legacy did', async () => {
  const { c, root, v2 } = await migratedCase('ntp-drift-interval-attr-set-by-entry-handed-to-construction');
  const legacy = path.join(root, c.rel);
  const [before, after] = await Promise.all([runFor(root, legacy, ['--interval', '0.5'], 7_500), runFor(root, v2, ['--interval', '0.5'], 7_500)]);
  expect(cycles(before.log), before.log).toBeGreaterThanOrEqual(2);
  expect(after.log, after.log).toMatch(/NTPDriftAgent running every 0\.5 s/);
  expect(cycles(after.log), after.log).toBeGreaterThanOrEqual(2);
  // Without --interval: the class's own 300 s, as the legacy (one check, then the long wait).
  const plain = await runFor(root, v2, [], 5_500);
  expect(plain.log, plain.log).toMatch(/NTPDriftAgent running every 300\.0 s/);
  expect(cycles(plain.log), plain.log).toBe(1);
}, 120_000);
