// A legacy stop() that deregistered from REGISTRY_URL by hand became the base's onStop() hook with
// the request still in it, and the base's stop() deregisters right after the hook: the registry
// got two deregistrations per SIGTERM (probe-node53, 3 of 7 agents). The
// stop-deregisters-base-registry-by-hand fixture, legacy file and _v2, is started for real against
// a loopback registry that counts what it is sent; each must register once and, on SIGTERM,
// deregister exactly once, under the same name.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, recordingRegistry, stopWhen } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'stop-deregisters-base-registry-by-hand');
const agent = 'agents/manifest-archiver.ts';
const v2 = 'agents/manifest-archiver_v2.ts';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const materialize = () => fixtureRepo(fixture, { [agent]: 'input.ts', [v2]: 'expected.ts' }, roots, true);

describe('a hand-written deregistration the base repeats is sent once', () => {
  for (const [side, file] of [['legacy', agent], ['_v2', v2]] as const) {
    it(`${side}: one registration, one deregistration on SIGTERM`, async () => {
      const root = materialize();
      const registry = await recordingRegistry();
      const seen = registry.requests;
      try {
        const { code, log } = await stopWhen(
          root,
          file,
          { REGISTRY_URL: registry.url, MANIFEST_SPOOL: path.join(root, 'spool'), MANIFEST_ARCHIVE: path.join(root, 'archive') },
          // Registered, and start() done: the legacy installs its SIGTERM handler right after it (a
          // SIGTERM between the two ended it by the default action, exit code null, under load).
          (log) => seen.some((s) => s.path === '/register') && log.includes('archiving '),
        );
        // The last request may land just after the exit: give it a moment.
        await new Promise((r) => setTimeout(r, 200));
        expect(code, log).toBe(0);
        expect(seen.filter((s) => s.path === '/register'), log).toEqual([{ path: '/register', name: 'manifest-archiver' }]);
        expect(seen.filter((s) => s.path === '/deregister'), log).toEqual([{ path: '/deregister', name: 'manifest-archiver' }]);
      } finally {
        registry.close();
      }
    }, 60_000);
  }
});
