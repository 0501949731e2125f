// A folder that is not a git repository (issue: "after a crash mid-run, files were moved").
// Outside git, `run --no-commit` keeps its journal (the files it is about to create or
// replace, with a backup of what --force replaces) in a state folder. That folder was under
// the system's temporary directory, keyed by the root's absolute path: a folder moved (or
// renamed, or /tmp emptied by a reboot) after a crash was never recovered, so the killed
// run's unvalidated _v2 files stayed and the user's own _v2 that --force had replaced was
// lost. The state now lives in the root's own .migrate/ folder, which moves with it.
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync, cpSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cli, cleanupAll, DEMO, ensureBuilt, kill, NEVER_HEALTHY, spawnRun, tag, tagged, tempDir, v2Agents, waitFor } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

const children: number[] = [];
afterEach(() => {
  for (const p of children.splice(0)) kill(p);
});

/** Every file under dir, relative, sorted (no git to ask). */
function files(dir: string, sub = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, sub), { withFileTypes: true })) {
    const rel = path.join(sub, e.name);
    if (e.isDirectory()) {
      if (e.name !== '__pycache__' && rel !== 'state') out.push(...files(dir, rel));
    } else out.push(rel);
  }
  return out.sort();
}

describe('outside git: a run killed with -9, then the folder moved', () => {
  it("the next command where the folder is now puts the user's _v2 back and removes the killed run's", async () => {
    const parent = tempDir('migrate-nogit-');
    const root = path.join(parent, 'fleet');
    cpSync(DEMO, root, { recursive: true });
    const init = await cli(root, ['init', '--lang', 'python']);
    expect(init.exitCode, init.stderr).toBe(0);
    // The _v2 agents never get healthy: the kill lands while they are validated.
    const common = path.join(root, 'agents', 'fleet_common.py');
    writeFileSync(common, `${readFileSync(common, 'utf8')}\n${NEVER_HEALTHY.trim()}\n`);
    const draft = '# my own draft of the migrated agent, not to lose\n';
    writeFileSync(path.join(root, 'agents', 'kv_cache_agent_v2.py'), draft);
    const before = files(root);

    const t = tag();
    const child = spawnRun(root, ['run', 'KVCacheAgent', 'TextStatsAgent', '--no-commit', '--force'], t);
    children.push(child.pid!);
    await waitFor(() => v2Agents(t).length > 0 || child.exitCode !== null, 'a _v2 agent under validation', 120_000);
    expect(child.exitCode, String(child.stderr ?? '')).toBeNull();
    kill(child.pid!, 'SIGKILL');
    await child;
    await waitFor(() => tagged(t).length === 0, 'the watchdog to end the agents', 15_000);
    // The fault: the draft is replaced and an unvalidated _v2 is there.
    expect(readFileSync(path.join(root, 'agents', 'kv_cache_agent_v2.py'), 'utf8')).not.toBe(draft);

    const moved = path.join(parent, 'fleet-moved');
    renameSync(root, moved);
    const t2 = tag();
    const next = await cli(moved, ['run', 'ReminderAgent', '--no-commit', '--no-validate'], { env: { FAULT_TAG: t2 } });
    expect(next.exitCode, next.stderr).toBe(0);
    // Before: nothing recovered here (the journal was keyed by the old path); the draft stayed lost.
    expect(next.stderr).toMatch(/recovered from a killed run/);
    expect(readFileSync(path.join(moved, 'agents', 'kv_cache_agent_v2.py'), 'utf8')).toBe(draft);
    expect(existsSync(path.join(moved, 'agents', 'text_stats_agent_v2.py')), "the killed run's unvalidated _v2").toBe(false);
    // Exactly the files of before, plus the new run's own _v2; no journal, lock or backup left.
    expect(files(moved)).toEqual([...before, path.join('agents', 'reminder_agent_v2.py')].sort());
    expect(existsSync(path.join(moved, '.migrate')), 'no state folder left once the run ended').toBe(false);
    expect(tagged(t2)).toEqual([]);
  }, 240_000);
});
