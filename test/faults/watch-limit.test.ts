// The validation watches (keeps the stat of) at most 20,000 of the untracked and ignored files
// git cannot give back, the most recently written first. Before, the ones past that limit were
// left out of the watch without a word: an agent changing one of them went unseen and unsaid.
// Now they are named as one not_watched entry (how many, of how many, the first few), in --json
// and in one note on stderr, as an ignored folder too large to watch is. Real git, the built CLI.
import { mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, baseline, cleanupAll, commitAll, demoRepo, ensureBuilt, expectIntact, parseRun, resultOf, run, tag } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll, 180_000);

describe('files past the 20,000-file watch limit', () => {
  it('are named in tree_cleanup.not_watched and in one note; the run is otherwise whole', async () => {
    const root = await demoRepo();
    writeFileSync(path.join(root, '.gitignore'), `${readFileSync(path.join(root, '.gitignore'), 'utf8')}spool-*/\n`);
    commitAll(root, 'ignore the spools');
    const committed = baseline(root);
    // 21 spool folders of 1,000 files each: each small enough to be watched file by file (a
    // folder of more than 1,000 is named whole), 21,000 files in all, 1,000 past the limit.
    const now = Date.now() / 1000;
    for (let d = 0; d < 21; d++) {
      const dir = path.join(root, `spool-${String(d).padStart(2, '0')}`);
      mkdirSync(dir);
      for (let i = 0; i < 1000; i++) {
        const f = path.join(dir, `msg-${i}.json`);
        writeFileSync(f, `{"n": ${i}}\n`);
        // Spool 00 is the oldest (a year ago), by file number: its first files are the least recently written.
        const t = d === 0 ? now - 365 * 86400 + i : now - 3600 + d;
        utimesSync(f, t, t);
      }
    }
    const t = tag();
    const r = await run(root, ['run', AGENT, '--json'], t, { MIGRATE_SURVIVAL_WINDOW_S: '2' });
    expect(r.exitCode, r.stderr).toBe(0);
    const res = resultOf(parseRun(r), AGENT);
    expect(res.status).toBe('migrated');
    const cleanup = (res.validation as unknown as { tree_cleanup?: { not_watched?: string[] } }).tree_cleanup;
    const entry = '1000 untracked or ignored files past the 20000-file watch limit (the least recently written of 21000: spool-00/msg-0.json, spool-00/msg-1.json, spool-00/msg-2.json, ...)';
    // Before: no tree_cleanup at all.
    expect(cleanup?.not_watched, JSON.stringify(cleanup)).toEqual([entry]);
    expect(r.stderr.split('\n').filter((l) => l.includes('watch limit')), r.stderr).toEqual([
      `migrate: note: validating ${AGENT} (and any agent validated alongside it): ${entry} were neither copied aside nor watched: what the agents changed there is not known and not put back`,
    ]);
    expect(readFileSync(path.join(root, 'spool-00', 'msg-0.json'), 'utf8')).toBe('{"n": 0}\n');
    for (let d = 0; d < 21; d++) rmSync(path.join(root, `spool-${String(d).padStart(2, '0')}`), { recursive: true });
    expect((await expectIntact(root, committed, [t])).map((c) => c.agent)).toEqual([AGENT]);
  }, 180_000);
});
