// A registration through a helper of another module (`await registerWithRegistry(REGISTRY_URL,
// SERVICE_NAME, this.port, this.healthPort)` in start(), deregisterFromRegistry() in stop()) was
// kept beside the base's own registration: the registry got two entries, one under the class name,
// and two deregistrations. When the helper provably only POSTs what it is handed, the calls go and
// the base registers under the helper's name (imported-registration.ts). Legacy and _v2 of the
// fixtures, with their helper modules, are started for real against a loopback registry that
// records every request: each registers once and deregisters once on SIGTERM, under the same name,
// and (InventorySync) with the same port and health port.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, freePort, recordingRegistry, stopWhen } from './helpers/ts-agent-process.js';
import { removeRepos } from './helpers/fixture-repo.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '..', 'fixtures', 'typescript');
const roots: string[] = [];
afterAll(() => removeRepos(roots));

interface Side {
  requests: Array<{ path: string; name: string }>;
  registrations: Array<Record<string, unknown>>;
}

async function runSide(fixture: string, files: Record<string, string>, file: string, esm: boolean, env: Record<string, string>, started: string): Promise<Side> {
  const root = fixtureRepo(path.join(fixtures, fixture), files, roots, esm);
  const registry = await recordingRegistry();
  try {
    const { code, log } = await stopWhen(root, file, { REGISTRY_URL: registry.url, ...env }, (log) => registry.requests.some((r) => r.path === '/register') && log.includes(started));
    // The deregistration may land just after the exit.
    await new Promise((r) => setTimeout(r, 300));
    expect(code, log).toBe(0);
    return { requests: [...registry.requests], registrations: registry.registrations as Array<Record<string, unknown>> };
  } finally {
    registry.close();
  }
}

describe('registration through an imported helper goes to the base: one registration, one deregistration', () => {
  it('InventorySync (positional helper arguments): legacy and _v2 register and deregister once, same name and ports', async () => {
    const agent = 'services/inventory-sync.ts';
    const files = { [agent]: 'input.ts', 'services/inventory-sync_v2.ts': 'expected.ts', 'lib/registry.ts': 'lib/registry.ts' };
    const sides: Side[] = [];
    for (const file of [agent, 'services/inventory-sync_v2.ts']) {
      const env = { AGENT_PORT: String(await freePort()), HEALTH_CHECK_PORT: String(await freePort()) };
      const side = await runSide('registration-helper-positional-args', files, file, false, env, '[inventory] serving stock');
      const only = (p: string) => side.requests.filter((r) => r.path === p);
      expect(only('/register'), file).toEqual([{ path: '/register', name: 'inventory-sync' }]);
      expect(only('/deregister'), file).toEqual([{ path: '/deregister', name: 'inventory-sync' }]);
      // The ports it registered are the ones it was given, on both sides.
      expect(side.registrations[0]!.port, file).toBe(Number(env.AGENT_PORT));
      expect(side.registrations[0]!.health_check_port, file).toBe(Number(env.HEALTH_CHECK_PORT));
      sides.push(side);
    }
    expect(sides).toHaveLength(2);
  }, 180_000);

  it('GeoEnricher (a record literal, ESM): legacy and _v2 register and deregister once as geo-enricher', async () => {
    const agent = 'services/geo-enricher.ts';
    const files = { [agent]: 'input.ts', 'services/geo-enricher_v2.ts': 'expected.ts', 'lib/registry-client.ts': 'lib/registry-client.ts' };
    for (const file of [agent, 'services/geo-enricher_v2.ts']) {
      const port = String(await freePort());
      // The legacy's health port is its own variable; the _v2 passes HEALTH_PORT (read from it) to the base.
      const side = await runSide('registration-through-imported-helper', files, file, true, { GEO_HEALTH_PORT: port, HEALTH_CHECK_PORT: port }, '[geo] health on');
      expect(side.requests.filter((r) => r.path === '/register'), file).toEqual([{ path: '/register', name: 'geo-enricher' }]);
      expect(side.requests.filter((r) => r.path === '/deregister'), file).toEqual([{ path: '/deregister', name: 'geo-enricher' }]);
    }
  }, 180_000);
});
