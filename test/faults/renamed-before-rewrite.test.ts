// An agent's file renamed between the scan and its rewrite (an editor's rename, a checkout beside the
// run): the agent failed with Node's raw "ENOENT: no such file or directory, open '/tmp/.../x.py'".
// Now it fails alone with one line naming the file and what to do, writes nothing (no _v2, record
// or commit), and the other agents of the run are migrated and committed as usual.
import { existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBatch } from '../../src/pipeline/batch.js';
import { loadProfile } from '../../src/profile/profile.js';
import { AGENT, AGENT_FILE, AGENT_V2, cleanupAll, demoRepo, ensureBuilt, git, migrateCommits } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

describe('29. the legacy file renamed between scan and rewrite', () => {
  it('that agent fails in one line naming the file, nothing of it written; the other agent commits', { timeout: 120_000 }, async () => {
    const root = await demoRepo();
    const head = git(root, ['rev-parse', 'HEAD']);
    const renamed = 'agents/kv_cache_agent_renamed.py';
    const outcome = await runBatch({
      root,
      profile: loadProfile('base-agent', root),
      agents: [AGENT, 'TextStatsAgent'],
      all: false,
      dryRun: false,
      validate: false,
      commit: true,
      force: false,
      allowDirty: false,
      concurrency: 1,
      runInBand: true,
      previews: 'unwritten',
      // The scan is done and found both agents: the rename lands right before the first file is read again.
      onProgress: (e) => {
        if (e.stage === 'rewrite' && existsSync(path.join(root, AGENT_FILE))) renameSync(path.join(root, AGENT_FILE), path.join(root, renamed));
      },
    });
    const kv = outcome.results.find((r) => r.agent === AGENT)!;
    expect(kv).toMatchObject({ status: 'failed', output: null, commit: null });
    expect(kv.error).toBe(`${AGENT_FILE} was moved or deleted after the scan found ${AGENT} in it, before its rewrite: nothing written; run again to migrate it where it is now`);
    expect(existsSync(path.join(root, AGENT_V2))).toBe(false);
    expect(existsSync(path.join(root, 'migration-log', `${AGENT}.json`))).toBe(false);
    // The other agent: one commit of its _v2 and record, nothing else.
    expect(outcome.results.find((r) => r.agent === 'TextStatsAgent')?.status).toBe('migrated');
    expect(migrateCommits(root, head).map((c) => c.agent)).toEqual(['TextStatsAgent']);
    // The rename is the user's, untouched; nothing else is left in the tree or under .git.
    expect(git(root, ['status', '--porcelain', '--untracked-files=all']).split('\n').sort()).toEqual([` D ${AGENT_FILE}`, `?? ${renamed}`]);
    expect(existsSync(path.join(root, '.git', 'migrate-run.json'))).toBe(false);
    expect(existsSync(path.join(root, '.git', 'migrate-run.lock'))).toBe(false);
  });
});
