// teardown-super guards a teardown once when another file's entry point calls it on the agent (a
// package's __main__.py: `finally: agent.cleanup()`). Before 25d7447, any other file's `.cleanup(` or
// `.shutdown(` counted: in hands-off.mjs's old shared fleet (five fixtures' files laid in one repository,
// later ones overwriting agents/inventory_sync_agent.py), PriceSyncAgent's own entry point
// (`agent.cleanup()` on a PriceSyncAgent) and the other InventorySyncAgent module's (`agent.shutdown()` in
// agents/inventory/) guarded both InventorySyncAgents' teardowns, and the pass over the output that checks
// a second run changes nothing refused them: failed 'not idempotent'. The same layout, through the CLI.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { cliInProcess, ensureBuilt, REPO } from './helpers/cli.js';
// @ts-expect-error: a plain .mjs script module, no types
import { fixtureCases } from '../scripts/fixture-fleets.mjs';

const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-teardown-callers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// In name order, as the old layout wrote them: sidecar-given-the-agent's agents/inventory_sync_agent.py is the one left.
const CASES = [
  'entry-keyboard-interrupt-teardown-beside-sigterm-handler',
  'same-file-mixin-health-server',
  'same-file-mixin-shared-by-other-file',
  'same-file-mixin-shared-by-second-agent',
  'sidecar-given-the-agent',
];

it('other agents\' own teardown calls in other files guard no teardown: both InventorySyncAgents stay idempotent', async () => {
  ensureBuilt();
  cpSync(path.join(REPO, 'templates', 'runtime', 'python', 'common'), path.join(root, 'common'), { recursive: true });
  const cases = (fixtureCases('reference', REPO) as Array<{ name: string; files: Map<string, Buffer> }>).filter((c) => CASES.includes(c.name));
  expect(cases.map((c) => c.name)).toEqual(CASES);
  for (const c of cases) {
    for (const [rel, bytes] of c.files) {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), bytes);
    }
  }
  // The two callers the old guard counted are there.
  expect(readFileSync(path.join(root, 'agents', 'price_sync_agent.py'), 'utf8')).toMatch(/agent\.cleanup\(\)/);
  expect(readFileSync(path.join(root, 'agents', 'inventory', 'inventory_sync_agent.py'), 'utf8')).toMatch(/agent\.shutdown\(\)/);
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: root });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'fleet');
  const run = await cliInProcess(root, ['run', 'agents/inventory_sync_agent.py', 'agents/inventory/inventory_sync_agent.py', '--dry-run', '--no-validate', '--json']);
  const results = (JSON.parse(run.stdout) as { results: Array<{ file: string; status: string; error: string | null }> }).results;
  const byFile = Object.fromEntries(results.map((r) => [r.file, r]));
  for (const file of ['agents/inventory_sync_agent.py', 'agents/inventory/inventory_sync_agent.py']) {
    expect(byFile[file]?.error ?? null, file).toBeNull();
    expect(['migrated', 'needs-review'], `${file}: ${byFile[file]?.status}`).toContain(byFile[file]?.status);
  }
}, 120_000);
