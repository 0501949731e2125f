// A second registry entry named from the agent's name (`${this.name}-http`, the quote API's public
// endpoint the gateway routes by) stays registered by hand, and the base is given the name it is
// built from. The registry-second-entry-named-from-agent-name fixture, legacy file and _v2, is
// started for real against a recording registry: both register quote-api and quote-api-http (before,
// the _v2 registered quote-api-http alone: the suffixed name had gone to super()), and on SIGTERM
// both deregister the endpoint; the _v2's base deregisters quote-api as well.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, recordingRegistry, stopWhen } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'registry-second-entry-named-from-agent-name');
const agent = 'agents/quote-api.ts';
const v2 = 'agents/quote-api_v2.ts';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('a second entry named from the agent name keeps its name', () => {
  it('legacy and _v2 register quote-api and quote-api-http, and deregister the endpoint on SIGTERM', async () => {
    const root = fixtureRepo(fixture, { [agent]: 'input.ts', [v2]: 'expected.ts' }, roots);
    const seen: Record<string, Array<{ path: string; name: string }>> = {};
    for (const file of [agent, v2]) {
      const registry = await recordingRegistry();
      try {
        const env = { REGISTRY_URL: registry.url, QUOTE_PORT: '0', QUOTE_HEALTH_PORT: '0' };
        const registered = () => new Set(registry.requests.filter((r) => r.path === '/register').map((r) => r.name)).size >= 2;
        const { log } = await stopWhen(root, file, env, (out) => registered() && /serving quotes/.test(out));
        seen[file] = [...registry.requests];
        expect(registered(), log).toBe(true);
      } finally {
        registry.close();
      }
    }
    const names = (file: string, p: string) => seen[file]!.filter((r) => r.path === p).map((r) => r.name).sort();
    expect(names(agent, '/register')).toEqual(['quote-api', 'quote-api-http']);
    expect(names(v2, '/register')).toEqual(names(agent, '/register'));
    expect(names(agent, '/deregister')).toEqual(['quote-api-http']);
    // The base deregisters the agent's own entry too (the legacy left it to expire).
    expect(names(v2, '/deregister')).toEqual(['quote-api', 'quote-api-http']);
  }, 90_000);
});
