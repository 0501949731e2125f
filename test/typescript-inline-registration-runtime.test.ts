// A start() that does business work and registers inline (`await fetch(`${REGISTRY_URL}/register`,
// ...).catch(...)`) stays as onStart(); its request stayed too, so the _v2 registered twice (its
// own POST and the base's). The start-inline-registration fixture, legacy and _v2, is started for
// real against a recording registry: each registers once and deregisters once, as 'gate-pass-issuer'.
// In start-inline-registration-extra-field the request also sent `gate`: the one registration left
// (the base's, its record overridden) still carries it.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, recordingRegistry, stopWhen } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '..', 'fixtures', 'typescript');
const agent = 'services/gate-pass-issuer.ts';
const v2 = 'services/gate-pass-issuer_v2.ts';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('an inline registration in a start() that stays', () => {
  for (const [fixture, gate] of [['start-inline-registration', undefined], ['start-inline-registration-extra-field', 'north-1']] as const) {
    for (const [side, file] of [['legacy', agent], ['_v2', v2]] as const) {
      it(`${fixture}, ${side}: registers once${gate ? ' with its gate' : ''} and deregisters once`, async () => {
        const root = fixtureRepo(path.join(fixtures, fixture), { [agent]: 'input.ts', [v2]: 'expected.ts' }, roots);
        const registry = await recordingRegistry();
        try {
          // Ready once a second pass was issued: the loop runs, and a second registration had time to land.
          const { log } = await stopWhen(root, file, { REGISTRY_URL: registry.url, HEALTH_PORT: '0' }, (l) => /gate pass 2 issued/.test(l));
          const paths = registry.requests.map((r) => `${r.path} ${r.name}`);
          expect(paths.filter((p) => p.startsWith('/register ')), log).toEqual(['/register gate-pass-issuer']);
          expect(paths.filter((p) => p.startsWith('/deregister ')), log).toEqual(['/deregister gate-pass-issuer']);
          expect((registry.registrations[0] as { gate?: string }).gate, log).toBe(gate);
        } finally {
          registry.close();
        }
      }, 60_000);
    }
  }
});
