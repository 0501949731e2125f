// The user's own state in the repository, which git cannot give back. Validation starts the
// legacy agent (its baseline run) and the `_v2` from the root, as production starts them, so
// they read and rewrite the state files they find there: the demo KVCacheAgent loads
// state/kv_cache.json (a snapshot the operator's last run left; `state/` is gitignored, as such
// folders are) and saves its own at shutdown, dropping expired keys and rewriting the rest.
// Before, the cleanup after a validation never looked at ignored files (nor at untracked or
// dirty ones that were there before), so `migrate run` exited 0 with the user's snapshot
// replaced by the validation's and not a word said (probe-faults68: a webhook relay's spool of
// pending deliveries came back empty). Now the validation copies those files aside first and
// puts back each one it changed, as it was, saying so; one too large to copy is named instead.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBuilt } from '../helpers/cli.js';
import { AGENT, baseline, cleanupAll, commitAll, demoRepo, ensureBuilt, expectIntact, kill, parseRun, REPO, resultOf, run, spawnRun, stray, tag, tagged, waitFor } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

const SNAPSHOT = 'state/kv_cache.json';
const ENV = { MIGRATE_SURVIVAL_WINDOW_S: '2' };

interface Cleanup {
  removed: string[];
  restored: string[];
  put_back?: string[];
  saved_in?: string;
  kept?: string[];
}

function writeSnapshot(root: string, text: string): { bytes: Buffer; mtimeMs: number } {
  const file = path.join(root, SNAPSHOT);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  // Written by the operator's last run, a week ago.
  const then = new Date(Date.now() - 7 * 24 * 3600 * 1000);
  utimesSync(file, then, then);
  return { bytes: readFileSync(file), mtimeMs: statSync(file).mtimeMs };
}

describe('a gitignored state file the agent rewrites at shutdown', () => {
  it('the run puts it back byte for byte (its time too), says so in one line and in --json; the validation\'s version is kept aside', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    // One live key, one expired: the agent drops the expired one and writes its own format.
    const user = writeSnapshot(root, '{"config:theme": ["dark", null], "session:7": ["c2Vzc2lvbg==", 1]}\n');
    const t = tag();
    const r = await run(root, ['run', AGENT, '--json'], t, ENV);
    expect(r.exitCode, r.stderr).toBe(0);
    const res = resultOf(parseRun(r), AGENT);
    expect(res.status).toBe('migrated');
    const cleanup = (res.validation as unknown as { tree_cleanup?: Cleanup }).tree_cleanup;
    expect(cleanup?.put_back, JSON.stringify(cleanup)).toEqual([SNAPSHOT]);
    // Before: the file held the validation's snapshot ({"config:theme": ...} alone, indented).
    expect(readFileSync(path.join(root, SNAPSHOT)).equals(user.bytes)).toBe(true);
    expect(Math.abs(statSync(path.join(root, SNAPSHOT)).mtimeMs - user.mtimeMs)).toBeLessThan(1);
    const theirs = readFileSync(path.join(cleanup!.saved_in!, SNAPSHOT), 'utf8');
    expect(theirs).toContain('config:theme');
    expect(theirs).not.toContain('session:7');
    expect(r.stderr).toContain(`put back: brought back ${SNAPSHOT} as it was before the validation (git could not give it back)`);
    expect(r.stderr.split('\n').filter((l) => l.includes(SNAPSHOT))).toHaveLength(1);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual([AGENT]);
  }, 150_000);

  it('one too large to copy aside is not touched and is named in the report', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    // 9 MiB of live keys: over the 8 MiB a single file is copied up to.
    const keys: Record<string, [string, null]> = {};
    for (let i = 0; i < 9 * 1024; i++) keys[`blob:${i}`] = ['x'.repeat(1000), null];
    writeSnapshot(root, JSON.stringify(keys));
    const t = tag();
    const r = await run(root, ['run', AGENT, '--json'], t, ENV);
    expect(r.exitCode, r.stderr).toBe(0);
    const cleanup = (resultOf(parseRun(r), AGENT).validation as unknown as { tree_cleanup?: Cleanup }).tree_cleanup;
    expect(cleanup?.put_back ?? []).toEqual([]);
    expect(cleanup?.kept, JSON.stringify(cleanup)).toEqual([`${SNAPSHOT} (changed by the validation; git cannot give it back and it was too large to copy before: not put back)`]);
    expect(r.stderr).toContain(`left ${SNAPSHOT} (changed by the validation`);
    await expectIntact(root, before, [t]);
  }, 150_000);

  it('a dependency tree git ignores (a folder of more than 1000 files) is not copied aside; the state beside it is', async () => {
    const leftovers = await importBuilt<typeof import('../../src/validate/leftovers.js')>('validate/leftovers.js');
    const root = await demoRepo();
    writeFileSync(path.join(root, '.gitignore'), `${readFileSync(path.join(root, '.gitignore'), 'utf8')}node_modules/\n`);
    commitAll(root, 'ignore node_modules');
    for (let i = 0; i < 1001; i++) {
      const dir = path.join(root, 'node_modules', `pkg-${i % 40}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `m${i}.js`), `module.exports = ${i};\n`);
    }
    writeSnapshot(root, '{"config:theme": ["dark", null]}\n');
    const guard = await leftovers.enterTreeGuard(root, []);
    const copies = path.join(root, '.git', 'migrate', 'validation-baseline');
    const [folder] = readdirSync(copies);
    const manifest = JSON.parse(readFileSync(path.join(copies, folder!, 'manifest.json'), 'utf8')) as Array<{ path: string; saved: boolean }>;
    // Before the folder limit, each of the 1001 modules was copied at every validation's start.
    expect(manifest.map((f) => [f.path, f.saved])).toEqual([[SNAPSHOT, true]]);
    expect(await guard.leave()).toEqual({ removed: [], restored: [] });
    expect(existsSync(copies)).toBe(false);
  }, 60_000);

  it('a state folder of more than 1000 files is neither copied nor watched: the run says so on stderr and in --json (a dependency tree is not named)', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    // The agent's snapshot beside a history of 1001 earlier ones: state/ is past the folder limit.
    writeSnapshot(root, '{"config:theme": ["dark", null], "session:7": ["c2Vzc2lvbg==", 1]}\n');
    mkdirSync(path.join(root, 'state', 'history'), { recursive: true });
    for (let i = 0; i < 1001; i++) writeFileSync(path.join(root, 'state', 'history', `kv_cache.${i}.json`), `{"n": ${i}}\n`);
    // A dependency tree of its own beside it: regenerable, not named.
    writeFileSync(path.join(root, '.gitignore'), `${readFileSync(path.join(root, '.gitignore'), 'utf8')}node_modules/\n`);
    commitAll(root, 'ignore node_modules');
    const committed = baseline(root);
    for (let i = 0; i < 1001; i++) {
      mkdirSync(path.join(root, 'node_modules', `pkg-${i % 40}`), { recursive: true });
      writeFileSync(path.join(root, 'node_modules', `pkg-${i % 40}`, `m${i}.js`), `module.exports = ${i};\n`);
    }
    const t = tag();
    const r = await run(root, ['run', AGENT, '--json'], t, ENV);
    expect(r.exitCode, r.stderr).toBe(0);
    const cleanup = (resultOf(parseRun(r), AGENT).validation as unknown as { tree_cleanup?: Cleanup & { not_watched?: string[] } }).tree_cleanup;
    // Before: no tree_cleanup at all, not a word; the snapshot was silently the validation's.
    expect(cleanup?.not_watched, JSON.stringify(cleanup)).toEqual(['state/ (more than 1000 files)']);
    const note = r.stderr.split('\n').filter((l) => l.includes('state/ (more than 1000 files)'));
    expect(note, r.stderr).toEqual([
      `migrate: note: validating ${AGENT} (and any agent validated alongside it): state/ (more than 1000 files), ignored by git, was neither copied aside nor watched: what the agents changed there is not known and not put back`,
    ]);
    expect(r.stderr).not.toContain('node_modules');
    expect(before.head).not.toBe(committed.head);
    rmSync(path.join(root, 'node_modules'), { recursive: true });
    expect((await expectIntact(root, committed, [t])).map((c) => c.agent)).toEqual([AGENT]);
  }, 150_000);

  it('kill -9 of the run after its legacy baseline rewrote the file: status names it and where its copy from before is; nothing is put back by guess', async () => {
    const root = await demoRepo();
    const user = writeSnapshot(root, '{"config:theme": ["dark", null], "session:7": ["c2Vzc2lvbg==", 1]}\n');
    const t = tag();
    const child = spawnRun(root, ['run', AGENT, '--json'], t, { MIGRATE_SURVIVAL_WINDOW_S: '30' });
    // The legacy baseline run saves its snapshot when it is stopped, two seconds in.
    await waitFor(() => !readFileSync(path.join(root, SNAPSHOT)).equals(user.bytes), 'the baseline run to rewrite the snapshot', 90_000);
    kill(child.pid!);
    await child;
    await waitFor(() => tagged(t).length === 0, 'the watchdog to end the agents', 10_000);
    const status = await run(root, ['status'], tag());
    expect(status.exitCode, status.stderr).toBe(0);
    const note = status.stderr.split('\n').find((l) => l.includes(SNAPSHOT));
    // Before: not a word of it (ignored, the file is not among what status lists).
    expect(note, status.stderr).toMatch(/^migrate: note: .*changed since .*validation that was interrupted .*not put back \(git cannot give them back\): state\/kv_cache\.json; their copies from before it are in (\S+) \(copy one back/);
    const copies = /their copies from before it are in (\S+) /.exec(note!)![1]!;
    expect(readFileSync(path.join(copies, SNAPSHOT)).equals(user.bytes)).toBe(true);
    // Not put back by anyone: after a kill the user may have changed it since.
    expect(readFileSync(path.join(root, SNAPSHOT)).equals(user.bytes)).toBe(false);
  }, 150_000);
});

// The copies under the git dir (up to 64 MiB per validation start) go with the record that
// names them. Before 4f027f1c a tidied record (dropped by the next `migrate run` once nothing it
// named was left) left its folder of copies behind for good, named by nothing, and a new guard
// replacing an interrupted record that had itself set an older one aside lost the newer's
// folder from the record but not from the disk.
describe('the copies of an interrupted validation', () => {
  const copiesOf = (root: string) => {
    const dir = path.join(root, '.git', 'migrate', 'validation-baseline');
    return existsSync(dir) ? readdirSync(dir).sort() : [];
  };
  const guardOf = (root: string) => JSON.parse(readFileSync(path.join(root, '.git', 'migrate', 'tree-guard.json'), 'utf8')) as { own?: string; previous?: { own?: string } };

  /** A validation start in another process, killed (-9) while it holds the guard: its record stays, interrupted. */
  async function killedValidationStart(root: string): Promise<void> {
    const url = pathToFileURL(path.join(REPO, 'dist', 'src', 'validate', 'leftovers.js')).href;
    const child = execa(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(url)}); await m.enterTreeGuard(${JSON.stringify(root)}, []); console.log('in'); setInterval(() => {}, 1000);`], { reject: false, buffer: false });
    stray(child.pid);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('in') && resolve());
      child.on('exit', () => reject(new Error('the validation start ended before it held the guard')));
    });
    child.kill('SIGKILL');
    await child;
  }

  it('the run that drops the tidied record drops its copies: nothing of them is left under the git dir', async () => {
    const leftovers = await importBuilt<typeof import('../../src/validate/leftovers.js')>('validate/leftovers.js');
    const root = await demoRepo();
    const user = writeSnapshot(root, '{"config:theme": ["dark", null]}\n');
    await killedValidationStart(root);
    expect(copiesOf(root)).toHaveLength(1);
    // The snapshot is as it was: the record names nothing, and the next run's check drops it.
    expect(readFileSync(path.join(root, SNAPSHOT)).equals(user.bytes)).toBe(true);
    expect(await leftovers.interruptedLeftovers(root, { tidy: true })).toBeNull();
    expect(existsSync(path.join(root, '.git', 'migrate', 'tree-guard.json'))).toBe(false);
    expect(existsSync(path.join(root, '.git', 'migrate', 'validation-baseline'))).toBe(false);
  }, 60_000);

  it('a new guard replacing an interrupted record keeps the copies a record still names or that differ, and drops the rest', async () => {
    const leftovers = await importBuilt<typeof import('../../src/validate/leftovers.js')>('validate/leftovers.js');
    for (const changed of [false, true]) {
      const root = await demoRepo();
      writeSnapshot(root, '{"config:theme": ["dark", null]}\n');
      // The first killed start leaves a record with its copies (the older); the second sets it aside and leaves its own.
      await killedValidationStart(root);
      const [older] = copiesOf(root);
      await killedValidationStart(root);
      const newer = copiesOf(root).find((c) => c !== older)!;
      expect(guardOf(root).own).toContain(newer);
      expect(guardOf(root).previous?.own).toContain(older);
      // The user changes the file after both copies were taken: it differs from either.
      if (changed) writeSnapshot(root, '{"config:theme": ["light", null]}\n');
      const guard = await leftovers.enterTreeGuard(root, []);
      const mine = copiesOf(root).filter((c) => c !== older && c !== newer);
      expect(mine).toHaveLength(1);
      // The older record stays (set aside again) with its copies; the newer's are named by nothing
      // now, so they go unless a file still differs from them (then they are the user's only copy).
      expect(guardOf(root).previous?.own).toContain(older);
      expect(copiesOf(root), changed ? 'a differing file keeps the copies' : 'nothing differs: the copies go').toEqual([older!, ...(changed ? [newer] : []), mine[0]!].sort());
      await guard.leave();
    }
  }, 120_000);
});
