// MIGRATE_COUNT=1 names the Python rewrite's work per step: each transform, the models, the removal
// plan, the output parse and the checks, per pass (the rewrite, its idempotency pass, the lost-method
// check), with the counters each step moved. A regression in one transform is then seen by its name.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, ensureBuilt, initGit, REPO, tempDirsOfThisFile } from './helpers/cli.js';
import { writeFleet } from './bench/fleet/fleet.js';
import { PYTHON_TRANSFORMS } from '../transforms/python/index.js';

const temps = tempDirsOfThisFile();

describe('MIGRATE_COUNT steps of the Python rewrite', () => {
  it('counts calls, thread ms and counters per transform and pass', async () => {
    ensureBuilt();
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-steps-'));
    temps.push(root);
    writeFleet(root, 3, { baseDir: path.join(REPO, 'fixtures', 'python', '_base'), typescriptShare: 0 });
    initGit(root);
    const r = await execa('node', [BIN, 'run', '--all', '--no-validate', '--no-commit', '--run-in-band', '--root', root], {
      cwd: root,
      reject: false,
      stdin: 'ignore',
      env: { FORCE_COLOR: '0', NO_COLOR: '1', MIGRATE_COUNT: '1', MIGRATE_CACHE: '0' },
    });
    const line = r.stderr.split('\n').find((l) => l.startsWith('MIGRATE_COUNT main '));
    expect(line, r.stderr).toBeDefined();
    const counts = JSON.parse(line!.slice('MIGRATE_COUNT main '.length)) as Record<string, number>;
    expect(counts['calls py rewrite']).toBe(3);
    // Every transform that runs is a step of the rewrite, once per agent.
    for (const t of PYTHON_TRANSFORMS.filter((t) => ['remove-health', 'inherit-base', 'super-init', 'add-import'].includes(t.name))) {
      expect(counts[`calls py rewrite > ${t.name}`], t.name).toBe(3);
      expect(counts[`ms py rewrite > ${t.name}`], t.name).toBeGreaterThanOrEqual(0);
    }
    for (const s of ['module model', 'agent model', 'removal plan', 'output parse', 'dangling check']) expect(counts[`calls py rewrite > ${s}`], s).toBe(3);
    // The verification passes run in the rewrite's thread, on its trees.
    expect(counts['calls py idempotency']).toBe(3);
    expect(counts['calls py idempotency > remove-health']).toBe(3);
    expect(counts['calls py lost-method check']).toBe(3);
    // Counters moved during a step are charged to the innermost step running (so they add up to no more than their total).
    const charged = Object.entries(counts).filter(([k]) => k.startsWith('walkTypes: positions passed @ '));
    expect(charged.some(([k]) => k.startsWith('walkTypes: positions passed @ py rewrite > '))).toBe(true);
    expect(charged.reduce((n, [, v]) => n + v, 0)).toBeLessThanOrEqual(counts['walkTypes: positions passed']!);
    // The port plan (a bound-port search of a helper's body per call of it) and remove-health's checks read
    // only a few node types: typed walks, no node object per node (these fleets showed untyped walks 11 k nodes each).
    for (const s of ['py rewrite > port-plan', 'py idempotency > port-plan', 'py rewrite > remove-health', 'py idempotency > remove-health']) {
      expect(counts[`walk: nodes shown @ ${s}`] ?? 0, s).toBe(0);
      expect(counts[`calls ${s}`], s).toBe(3);
    }
    expect(counts['walkTypes: walks @ py rewrite > port-plan']).toBeGreaterThan(0);
  }, 240_000);
});
