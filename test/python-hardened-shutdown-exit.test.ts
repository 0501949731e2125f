// A kept shutdown() that ended the legacy agent with sys.exit(0) must not cut HardenedAgentBase's
// teardown short, at run time: the migrated sudo-log-shutdown-exit-entry-signal fixture runs on the
// reference base with a loopback registry; on SIGTERM the base calls shutdown() inside its teardown,
// and the teardown must go on to deregister the agent and log "<name> stopped", exit status 0.
// Before the fix the exit stayed and raised SystemExit inside the base's teardown: registered, never
// deregistered, no "stopped" line, still exit 0 (so the validator's shutdown check passed).
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { migratedCase, recordingRegistry, removeRoots, startOnBase } from './helpers/python-hardened.js';

afterAll(removeRoots);

it("a shutdown() ending in sys.exit(0) lets the base's teardown deregister the agent", async () => {
  const { root, v2 } = await migratedCase('sudo-log-shutdown-exit-entry-signal');
  const paths: string[] = [];
  const { server, url } = await recordingRegistry(paths);
  try {
    const { child, exited, output: log } = startOnBase(root, v2, url, {
      COLLECTION_INTERVAL: '0.2',
      SUDOLOG_AUTH_LOG: path.join(root, 'var/log/auth.log'),
      SUDOLOG_QUEUE_PATH: path.join(root, 'data/queue/sudolog.db'),
    });
    const end = Date.now() + 20_000;
    while (Date.now() < end && child.exitCode === null && !paths.includes('POST /register')) await new Promise((r) => setTimeout(r, 100));
    expect(paths, log()).toContain('POST /register');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code, log()).toBe(0);
    expect(paths, log()).toContain('POST /deregister');
    expect(log()).toContain('SudoLogAgent stopped');
  } finally {
    server.close();
  }
}, 90_000);
