// A batch that does not validate verifies TypeScript outputs in groups as their rewrites come back
// (one program a group, let go before the next) instead of all of them after the last rewrite,
// which set the run's peak memory. These check that the groups are verified one at a time while
// rewrites are still to come, and that a family subclass rewritten before its parent waits for the
// parent's output and is checked with it: the run writes exactly what verifying all outputs after
// the rewrites wrote.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runBatch, type BatchOptions } from '../src/pipeline/batch.js';
import { loadProfile } from '../src/profile/profile.js';
import { typescriptAdapter } from '../src/lang/typescript/adapter.js';
import type { VerifyRequest } from '../src/pipeline/language.js';
import { initGit, REPO, tempDirsOfThisFile } from './helpers/cli.js';

const temps = tempDirsOfThisFile();
const fx = (name: string, file: string) => readFileSync(path.join(REPO, 'fixtures', 'typescript', name, file), 'utf8');

/** A Node repository: a family (the subclass's file sorts before its parent's, so it is rewritten first) and another agent. */
function repository(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-grouped-verify-'));
  temps.push(root);
  const put = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  put('agents/thermostat_supervisor.ts', fx('abstract-family-subclass', 'input.ts'));
  put('lib/device-supervisor.ts', fx('abstract-family-parent', 'input.ts'));
  put('services/order_router.ts', fx('http-health-interval', 'input.ts'));
  initGit(root);
  return root;
}

function options(root: string, extra: Partial<BatchOptions> = {}): BatchOptions {
  return { root, profile: loadProfile('base-agent', root), agents: [], all: true, dryRun: false, validate: false, commit: false, force: false, allowDirty: false, concurrency: 1, runInBand: true, previews: 'unwritten', ...extra };
}

/** Every `_v2` file under `root`, by path, with its text. */
function outputs(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(root, { recursive: true, encoding: 'utf8' })) if (!f.startsWith('.git') && /_v2\.[a-z]+$/.test(f)) out[f] = readFileSync(path.join(root, f), 'utf8');
  return out;
}

const groupSize = typescriptAdapter.verifyGroupSize;
const verify = typescriptAdapter.verify;
afterEach(() => {
  typescriptAdapter.verifyGroupSize = groupSize;
  typescriptAdapter.verify = verify;
});

describe('TypeScript outputs verified in groups as they arrive', () => {
  it('one group at a time during the rewrites; a subclass waits for its parent and writes what verifying after the rewrites wrote', { timeout: 240_000 }, async () => {
    // Verified after the last rewrite, as every output was before (the adapter verifies no groups).
    const before = repository();
    typescriptAdapter.verifyGroupSize = undefined;
    const whole = await runBatch(options(before));
    const wholeOutputs = outputs(before);
    expect(whole.results.filter((r) => r.status === 'failed')).toEqual([]);
    expect(Object.keys(wholeOutputs).sort()).toEqual(['agents/thermostat_supervisor_v2.ts', 'lib/device-supervisor_v2.ts', 'services/order_router_v2.ts']);

    // Groups of one: the subclass (first in file order) can only be checked with its parent's output.
    const root = repository();
    typescriptAdapter.verifyGroupSize = 1;
    const calls: Array<{ files: string[]; companions: string[]; rewritesLeft: number }> = [];
    let inFlight = 0;
    let mostInFlight = 0;
    let rewritesLeft = 3;
    typescriptAdapter.verify = async (reqs: VerifyRequest[]) => {
      calls.push({ files: reqs.map((r) => path.relative(root, r.outputFile)), companions: reqs.flatMap((r) => (r.companions ?? []).map((c) => path.relative(root, c.file))), rewritesLeft });
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      try {
        return await verify(reqs);
      } finally {
        inFlight--;
      }
    };
    const grouped = await runBatch(
      options(root, {
        onProgress: (e) => {
          if (e.stage === 'rewrite') rewritesLeft = e.total - e.past;
        },
      }),
    );
    expect(grouped.results).toEqual(whole.results);
    expect(outputs(root)).toEqual(wholeOutputs);
    // One output a program, one program at a time, the first while rewrites were still to come.
    expect(calls.map((c) => c.files.length)).toEqual([1, 1, 1]);
    expect(mostInFlight).toBe(1);
    expect(calls[0]!.rewritesLeft).toBeGreaterThan(0);
    // The subclass, rewritten first, was checked after its parent came back, with the parent's output.
    const child = calls.findIndex((c) => c.files[0] === 'agents/thermostat_supervisor_v2.ts');
    const parent = calls.findIndex((c) => c.files[0] === 'lib/device-supervisor_v2.ts');
    expect(child).toBeGreaterThanOrEqual(0);
    expect(parent).toBeGreaterThanOrEqual(0);
    expect(calls[child]!.companions).toEqual(['lib/device-supervisor_v2.ts']);
    expect(calls.filter((c) => c.companions.length).length).toBe(1);
  });
});
