// A batch that does not validate verifies and writes each Python output as its
// rewrite comes back (its CPython precheck already started then) and lets go of its texts, so
// what a run holds is bounded by the pipeline's depth, not the fleet. These check that outputs
// are on disk and final while later rewrites are still to come, that every agent is finished
// exactly once, that a committing run still commits each in file order, and that an interruption
// in the middle leaves only whole outputs it lists, no temporary file and no journal.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBatch, type BatchOptions, type BatchProgress } from '../src/pipeline/batch.js';
import { loadProfile } from '../src/profile/profile.js';
import { git, initGit, REPO, tempDirsOfThisFile } from './helpers/cli.js';
import { writeFleet } from './bench/fleet/fleet.js';

const temps = tempDirsOfThisFile();

function fleet(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-streaming-'));
  temps.push(root);
  writeFleet(root, 8, { baseDir: path.join(REPO, 'fixtures', 'python', '_base'), typescriptShare: 0, minLines: 80, maxLines: 140, seed: 11 });
  initGit(root);
  return root;
}

function options(root: string, extra: Partial<BatchOptions>): BatchOptions {
  return { root, profile: loadProfile('base-agent', root), agents: [], all: true, dryRun: false, validate: false, commit: false, force: false, allowDirty: false, concurrency: 1, runInBand: true, previews: 'unwritten', ...extra };
}

/** Every file under `root` outside .git. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => !f.startsWith('.git'));
}

describe('streaming verify and write', () => {
  it('an output is written and final while later agents are still being rewritten; each agent finishes once', { timeout: 120_000 }, async () => {
    const root = fleet();
    const events: BatchProgress[] = [];
    // Whether the agent's _v2 was on disk when the event said it was finished.
    const onDiskWhenFinished: boolean[] = [];
    const outcome = await runBatch(
      options(root, {
        onProgress: (e) => {
          events.push(e);
          if (e.finished?.output) onDiskWhenFinished.push(existsSync(path.join(root, e.finished.output)));
        },
      }),
    );
    const migrated = outcome.results.filter((r) => r.status === 'migrated' || r.status === 'needs-review');
    expect(migrated.filter((r) => r.output).length).toBeGreaterThanOrEqual(4);
    // Finished during the rewrite stage with agents not yet past it: streamed, not held to the end.
    const early = events.filter((e) => e.stage === 'rewrite' && e.finished?.output && e.past < e.total);
    expect(early.length, 'outputs finished before the last rewrite').toBeGreaterThan(0);
    expect(onDiskWhenFinished.every(Boolean), 'a finished agent listed an output not on disk').toBe(true);
    // Each agent finished exactly once; the run ends with every agent done.
    const finished = events.filter((e) => e.finished).map((e) => e.finished!.file);
    expect([...finished].sort()).toEqual(outcome.results.map((r) => r.file).sort());
    expect(events[events.length - 1]!.done).toBe(outcome.results.length);
    // Results in file order, as the stages print them.
    expect(outcome.results.map((r) => r.file)).toEqual([...outcome.results.map((r) => r.file)].sort((a, b) => a.localeCompare(b)));
    // No previews: every output is on disk.
    expect(outcome.previews).toEqual([]);
    for (const r of migrated) if (r.output) expect(existsSync(path.join(root, r.output)), r.output).toBe(true);
    expect(filesUnder(root).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(path.join(root, '.git', 'migrate-run.json'))).toBe(false);
  });

  it('a committing run (--no-validate) writes as rewrites come back and commits every agent, one commit each, in file order', { timeout: 180_000 }, async () => {
    const root = fleet();
    const outcome = await runBatch(options(root, { commit: true }));
    const committed = outcome.results.filter((r) => r.commit);
    expect(committed.length).toBeGreaterThanOrEqual(4);
    expect(outcome.results.filter((r) => r.status === 'failed')).toEqual([]);
    // git log lists the newest first: the commits went in file order.
    const subjects = git(root, ['log', '--format=%s', `-${committed.length}`]).split('\n').reverse();
    expect(subjects.map((s) => committed.findIndex((r) => s.includes(r.agent)))).toEqual(committed.map((_, k) => k));
    expect(git(root, ['status', '--porcelain'])).toBe('');
  });

  it('interrupted after the first output is written: outputs listed are whole and on disk, the rest interrupted, no temporary file or journal', { timeout: 120_000 }, async () => {
    const root = fleet();
    const abort = new AbortController();
    const outcome = await runBatch(
      options(root, {
        signal: abort.signal,
        onProgress: (e) => {
          if (e.finished?.output) abort.abort();
        },
      }),
    );
    expect(outcome.interrupted).toBe(true);
    const listed = outcome.results.filter((r) => r.output);
    expect(listed.length).toBeGreaterThanOrEqual(1);
    for (const r of listed) expect(existsSync(path.join(root, r.output!)), r.output!).toBe(true);
    const interrupted = outcome.results.filter((r) => r.status === 'failed');
    expect(interrupted.length, 'agents never written').toBeGreaterThan(0);
    for (const r of interrupted) expect(r.error).toMatch(/interrupted/);
    // Only the listed outputs exist: nothing half-written, nothing unlisted.
    const outputs = filesUnder(root).filter((f) => /_v2\.py$/.test(f)).sort();
    expect(outputs).toEqual(listed.map((r) => r.output!).sort());
    expect(filesUnder(root).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(path.join(root, '.git', 'migrate-run.json'))).toBe(false);
  });
});
