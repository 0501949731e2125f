// `-j N` (issue 15): the scan and the rewrite use N worker threads, 1 keeps them in this
// process; the results and every `_v2` byte are the same whatever N. A fleet of 60 generated
// agents is past the size where the scan goes to worker threads (48 files).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliInProcess, ensureBuilt, git, initGit, REPO, tempDirsOfThisFile } from './helpers/cli.js';
import { writeFleet } from './bench/fleet/fleet.js';

const temps = tempDirsOfThisFile();

let fleet: string | undefined;
/** The fleet, made once for this file: each test leaves its tree as committed (git clean). */
function fleetRepo(): string {
  if (fleet) return fleet;
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-jobs-'));
  temps.push(root);
  writeFleet(root, 60, { baseDir: path.join(REPO, 'fixtures', 'python', '_base'), typescriptShare: 0.1, minLines: 80, maxLines: 160, seed: 7 });
  // A module tree-sitter parses but CPython refuses: its verdict comes from a worker's python3 with -j 2.
  writeFileSync(path.join(root, 'common', 'stats_helpers.py'), 'import math\n\n\ndef mean(xs):\n    return sum(xs) / len(xs)\n\n\nreturn math.pi\n');
  initGit(root);
  return (fleet = root);
}

/** The run's JSON without its clock readings, and the text of every `_v2` it wrote. */
function runOutcome(root: string, stdout: string): { results: unknown; outputs: Record<string, string> } {
  const json = JSON.parse(stdout) as { results: Array<{ output: string | null }> };
  const outputs: Record<string, string> = {};
  for (const r of json.results) if (r.output) outputs[r.output] = readFileSync(path.join(root, r.output), 'utf8');
  return { results: JSON.parse(JSON.stringify(json.results, (k, v) => (/ms$|_ms|duration/i.test(k) ? undefined : v))), outputs };
}

describe('-j N', () => {
  it('gives the same scan and the same rewrite with 1 and with 2 worker threads', { timeout: 600_000 }, async () => {
    ensureBuilt();
    const root = fleetRepo();
    const scans = [];
    for (const j of ['1', '2']) {
      const r = await cliInProcess(root, ['scan', '--json', '-j', j], { timeout: 300_000 });
      expect(r.exitCode, r.stderr).toBe(0);
      scans.push(JSON.parse(r.stdout));
    }
    expect(scans[1]).toEqual(scans[0]);
    const scan = scans[0] as { agents: unknown[]; skipped: Array<{ file: string; reason: string; error?: boolean }> };
    expect(scan.agents.length).toBe(60);
    expect(scan.skipped.filter((s) => s.error)).toEqual([
      { file: 'common/stats_helpers.py', reason: "common/stats_helpers.py:8: python3 refuses it: SyntaxError: 'return' outside function; file refused, not rewritten", line: 8, error: true },
    ]);

    const runs = [];
    for (const j of ['1', '2']) {
      const r = await cliInProcess(root, ['run', '--all', '--no-validate', '--no-commit', '--json', '-j', j], { timeout: 300_000 });
      // The refused module fails (exit 1); every agent is rewritten.
      expect(r.exitCode, r.stderr).toBe(1);
      runs.push(runOutcome(root, r.stdout));
      git(root, ['clean', '-fdxq']);
    }
    expect(Object.keys(runs[0]!.outputs).length).toBeGreaterThan(40);
    expect(runs[1]).toEqual(runs[0]);
  });

  it('refuses 0 as a usage error, before any work', async () => {
    ensureBuilt();
    const root = fleetRepo();
    const before = git(root, ['status', '--porcelain', '--untracked-files=all']);
    const head = git(root, ['rev-parse', 'HEAD']);
    const r = await cliInProcess(root, ['run', '--all', '-j', '0']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('--jobs takes a whole number of at least 1, not "0"');
    // Before any work: no file written, no commit.
    expect(git(root, ['status', '--porcelain', '--untracked-files=all'])).toBe(before);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
  });
});
