// scripts/hands-off.mjs lays the Python fixture cases out as fleets. Before, every case of a base was
// copied into one repository in name order, so a case overwrote a file an earlier case had laid at
// the same path: same-file-mixin-health-server's agents/inventory_sync_agent.py was replaced by
// later cases', and PriceSyncAgent (same-file-mixin-shared-by-other-file) failed to start ("cannot
// import name 'HealthServerMixin' from 'agents.inventory_sync_agent'"). Each case must find every
// one of its files, byte for byte, in one of the fleets.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script module, no types
import { fixtureCases, pythonFixturesRepos } from '../scripts/fixture-fleets.mjs';

const REPO = path.resolve(import.meta.dirname, '..');
const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

type Case = { name: string; files: Map<string, Buffer> };

it.each(['model', 'reference'])('every %s-base case finds all its files intact in one fleet', (base) => {
  const dirs = pythonFixturesRepos(base, REPO) as string[];
  made.push(...dirs);
  const intact = (dir: string, c: Case) =>
    [...c.files].every(([rel, bytes]) => {
      try {
        return readFileSync(path.join(dir, rel)).equals(bytes);
      } catch {
        return false;
      }
    });
  const cases = fixtureCases(base, REPO) as Case[];
  expect(cases.length).toBeGreaterThan(20);
  expect(cases.filter((c) => !dirs.some((d) => intact(d, c))).map((c) => c.name)).toEqual([]);
  // Packed, not one fleet per case: a fleet is one CLI run.
  expect(dirs.length).toBeLessThan(cases.length / 4);
});
