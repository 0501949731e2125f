// The scan's findings name a registration made through a module-level client (`registry.register()` with
// `registry` imported from a sibling module, `catalog_registry.announce()` on an instance built at the top of
// the agent's file) as `registry`, and asyncio's `loop.add_signal_handler()` as `signal`, each at its line in
// the method making it (probe-py56's fixtures; before, the scan listed neither).
import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { loadProfile } from '../src/profile/profile.js';
import { scanRepository } from '../src/discover/scan.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

async function findings(name: string, kind: string) {
  const c = listCases().find((x) => x.name === name)!;
  const root = materialize(c);
  roots.push(root);
  const scan = await scanRepository(root, loadProfile('base-agent', root));
  const agent = scan.agents.find((a) => a.file === c.rel)!;
  return agent.findings.filter((f) => f.kind === kind).map((f) => [f.symbol, f.line, f.detail ?? null]);
}

it('lists a registration through a module-level client, imported or built in the agent file, as registry findings', async () => {
  expect(await findings('own-registration-module-singleton-client', 'registry')).toEqual([
    ['start', 145, 'registry.register() on a module-level client'],
    ['stop', 166, 'registry.deregister() on a module-level client'],
  ]);
  expect(await findings('own-registration-module-singleton-client-same-file', 'registry')).toEqual([
    ['start', 171, 'catalog_registry.announce() on a module-level client'],
    ['stop', 192, 'catalog_registry.withdraw() on a module-level client'],
  ]);
});

it("lists asyncio's loop.add_signal_handler() as a signal finding", async () => {
  expect(await findings('asyncio-health-listener-in-server-list', 'signal')).toContainEqual(['serve', 94, 'loop.add_signal_handler(sig, self._request_stop)']);
});
