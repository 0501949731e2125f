// A crash listener ('uncaughtException') that deregistered through the agent's own #deregister(),
// guarded by a flag only the removed hand-made registration set: on the base it returned at once
// and the crashed process stayed listed (probe-node54). The
// crash-listeners-deregister-through-base-stop fixture, legacy file and _v2, is started for real
// against a loopback registry that records what it is sent, and crashed by a malformed request
// body; each must exit 1 having deregistered once, under the name it registered.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { driveAgent, fixtureRepo, freePort, recordingRegistry } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'crash-listeners-deregister-through-base-stop');
const agent = 'agents/badge-vault.ts';
const v2 = 'agents/badge-vault_v2.ts';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('a crash listener deregisters before it exits, on the base too', () => {
  for (const [side, file] of [['legacy', agent], ['_v2', v2]] as const) {
    it(`${side}: a malformed body crashes it; one deregistration, exit 1`, async () => {
      const root = fixtureRepo(fixture, { [agent]: 'input.ts', [v2]: 'expected.ts' }, roots, true);
      const registry = await recordingRegistry();
      const vaultPort = await freePort();
      try {
        const { code, log } = await driveAgent(root, file, { REGISTRY_URL: registry.url, BADGE_VAULT_PORT: String(vaultPort), BADGE_JOURNAL_DIR: path.join(root, 'journal') }, [], async (child, log, exited) => {
          const end = Date.now() + 30_000;
          const ready = () => registry.requests.some((s) => s.path === '/register') && log().includes('serving on');
          while (Date.now() < end && child.exitCode === null && !ready()) await new Promise((r) => setTimeout(r, 50));
          expect(ready(), log()).toBe(true);
          // The body's JSON.parse throws in the request's 'end' listener: an uncaught exception.
          await fetch(`http://127.0.0.1:${vaultPort}/badges`, { method: 'POST', body: '{not json' }).catch(() => undefined);
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          const code = await exited;
          clearTimeout(timer);
          return code;
        });
        await new Promise((r) => setTimeout(r, 200));
        expect(log).toContain('[badge-vault] uncaught');
        expect(code, log).toBe(1);
        expect(registry.requests.filter((s) => s.path === '/deregister'), log).toEqual([{ path: '/deregister', name: 'badge-vault' }]);
      } finally {
        registry.close();
      }
    }, 60_000);
  }
});
