// Git for the record-keeping: one commit per agent that touches only that
// agent's files, found later from its trailers alone, and reverted with
// `git revert` so later agents' commits are never in the way.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { SimpleGit } from 'simple-git';
import { MigrateError, UsageError } from '../core/errors.js';
import { TOOL_VERSION } from '../core/version.js';
import {
  assertAgentName,
  parseRecord,
  recordPath,
  revertRecordPath,
  serializeRevertRecord,
  toRelative,
  writeFileAtomic,
  type MigrationRecord,
  type RevertRecord,
} from './migration-log.js';
import { shardBranch } from '../pipeline/shard.js';
import type { RunJournal } from '../pipeline/journal.js';
import { describeIndexLock, holdIndexLock, indexLock, LOCK_BACKOFF_MS, staleNextIndexLocks, type HeldIndexLock } from './index-lock.js';
import { forgetOnReset, io } from '../core/invocation.js';
import { gitMissingHere, headRefFromFile, parsePorcelainStatus, revParseFact, type StatusEntry } from './repo-facts.js';
import { describeInterrupted, interruptedLeftovers } from '../validate/leftovers.js';

export const TRAILER_AGENT = 'Migrate-Agent';
export const TRAILER_PROFILE = 'Migrate-Profile';
export const TRAILER_TOOL = 'Migrate-Tool';
export const TRAILER_REVERT = 'Migrate-Revert';
/** On a promotion commit: the migration commit whose `_v2` it cut over to. */
export const TRAILER_PROMOTE = 'Migrate-Promote';

const FALLBACK_IDENTITY = ['user.name=migrate', 'user.email=migrate@localhost'];

/**
 * Our commits start no `git maintenance run --auto` (git starts one after every commit to see
 * whether a gc is due): one more process per agent, 1,000 in a fleet's run. The check is the
 * user's next commit's, as after any scripted series of commits.
 */
const NO_AUTO_MAINTENANCE = ['-c', 'maintenance.auto=false'];

const require = createRequire(import.meta.url);

/** simple-git is loaded on first use (about 65 ms of CPU): scan, status and `run --no-commit` may never call git through it. */
function git(root: string, config: string[] = []): SimpleGit {
  return (require('simple-git') as typeof import('simple-git')).simpleGit({ baseDir: root, config });
}

interface ConfigFacts {
  /** user.name and user.email both set (each its last value, as git takes them). */
  identity: boolean;
  /** commit.gpgsign as git reads it (a bool). */
  gpgsign: boolean;
}

const configKept = new Map<string, { stamp: string; facts: ConfigFacts }>();
forgetOnReset(() => configKept.clear());

/**
 * What git's answer about root's configuration depends on: the text of each config file git
 * reads there (system, global, the repository's and its worktree's) and the environment that
 * names or adds to them. Null when one includes another file (not followed here): ask git.
 */
function configStamp(root: string): string | null {
  const env = process.env;
  const home = env.HOME ?? os.homedir();
  const local = (p: string) => revParseFact(root, ['--git-path', p])?.trim();
  const files = [
    env.GIT_CONFIG_NOSYSTEM ? undefined : (env.GIT_CONFIG_SYSTEM ?? '/etc/gitconfig'),
    ...(env.GIT_CONFIG_GLOBAL !== undefined ? [env.GIT_CONFIG_GLOBAL] : [path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'git', 'config'), path.join(home, '.gitconfig')]),
    local('config'),
    local('config.worktree'),
  ];
  let stamp = JSON.stringify(Object.entries(env).filter(([k]) => k.startsWith('GIT_CONFIG')));
  for (const f of files) {
    if (!f) continue;
    let text: string;
    try {
      text = readFileSync(path.resolve(root, f), 'utf8');
    } catch {
      text = '\0none';
    }
    if (/^\s*\[\s*include/im.test(text)) return null;
    stamp += `\0${f}\0${text}`;
  }
  return stamp;
}

/** git's bool (`git config --bool`): a key without a value is true, as are yes, on and a non-zero number. */
function configBool(value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value.trim().toLowerCase();
  return v === '\0' || v === 'true' || v === 'yes' || v === 'on' || (/^-?\d+$/.test(v) && Number(v) !== 0);
}

/**
 * The committer identity and commit.gpgsign of root's configuration, from one git, asked again
 * only when a config file it comes from (or the environment naming them) changed: every agent's
 * commit asked a git for its identity, 1,000 of them in a fleet's run, for one answer.
 */
async function configFacts(root: string): Promise<ConfigFacts> {
  const abs = path.resolve(root);
  const stamp = configStamp(root);
  const kept = configKept.get(abs);
  if (stamp !== null && kept?.stamp === stamp) return kept.facts;
  const r = await gitText(root, ['config', '--null', '--get-regexp', '^(user\\.(name|email)|commit\\.gpgsign)$']);
  let facts: ConfigFacts;
  if (r.code !== 0 && r.code !== 1) {
    // Not the answer expected of it (1 is "no such key"): ask for each key as before.
    const g = git(root);
    const [name, email] = await Promise.all([g.getConfig('user.name'), g.getConfig('user.email')]);
    const sign = await gitText(root, ['config', '--bool', 'commit.gpgsign']);
    facts = { identity: Boolean(name.value && email.value), gpgsign: sign.stdout.trim() === 'true' };
  } else {
    const last = new Map<string, string>();
    for (const entry of r.stdout.split('\0')) {
      const nl = entry.indexOf('\n');
      // A key without a value (`gpgsign` alone on its line) is given without a line break.
      if (entry) last.set((nl < 0 ? entry : entry.slice(0, nl)).toLowerCase(), nl < 0 ? '\0' : entry.slice(nl + 1));
    }
    const set = (k: string) => Boolean(last.get(k) && last.get(k) !== '\0');
    facts = { identity: set('user.name') && set('user.email'), gpgsign: configBool(last.get('commit.gpgsign')) };
  }
  if (stamp !== null) configKept.set(abs, { stamp, facts });
  return facts;
}

function short(sha: string): string {
  return sha.slice(0, 12);
}

function listSome(files: string[], max = 3): string {
  const shown = files.slice(0, max).join(', ');
  return files.length > max ? `${shown} and ${files.length - max} more` : shown;
}

interface RepoInfo {
  /** Path of root inside the work tree ('' or 'sub/dir/'), as `git rev-parse --show-prefix` gives it. */
  prefix: string;
}

async function repoInfo(root: string): Promise<RepoInfo> {
  if (!existsSync(root)) throw new UsageError(`${root}: no such directory`);
  // One git for both answers, once per command: "true" or "false", then the prefix.
  const out = revParseFact(root, ['--is-inside-work-tree', '--show-prefix']) ?? '';
  const nl = out.indexOf('\n');
  const inside = (nl < 0 ? out : out.slice(0, nl)).trim();
  if (inside !== 'true') {
    const missing = gitMissingHere(root);
    if (missing) throw new UsageError(`${missing} (run --no-commit needs none)`, 'git-missing');
    throw new UsageError(`${root} is not inside a git work tree; migrate commits each agent, so run it in a git repository`, 'not-git');
  }
  return { prefix: nl < 0 ? '' : out.slice(nl + 1).trim() };
}

/** Path of root inside its work tree ('' at the top), as in `git rev-parse --show-prefix`. */
export async function showPrefix(root: string): Promise<string> {
  return (await repoInfo(root)).prefix;
}

/** Fail when git is in the middle of a merge, revert, cherry-pick or rebase. */
async function assertNoOperation(root: string): Promise<void> {
  const markers = ['MERGE_HEAD', 'REVERT_HEAD', 'CHERRY_PICK_HEAD', 'rebase-merge', 'rebase-apply'];
  // One git for the five paths (once per command: where they are, not whether they exist), a
  // line each; asked one by one should a path hold a line break.
  const gitPath = (args: string[]): string => {
    const out = revParseFact(root, args);
    if (out === null) throw new UsageError(`${root} is not inside a git work tree`, 'not-git');
    return out;
  };
  const lines = gitPath(markers.flatMap((m) => ['--git-path', m])).split('\n');
  const paths = lines.length === markers.length + 1 && lines[markers.length] === '' ? lines : markers.map((m) => gitPath(['--git-path', m]));
  for (const [i, marker] of markers.entries()) {
    const p = paths[i]!.trim();
    if (existsSync(path.resolve(root, p))) {
      throw new UsageError(`a git ${marker.replace(/_HEAD$|-.*$/, '').toLowerCase()} is in progress in ${root}; finish or abort it first`);
    }
  }
}


/**
 * `git status --porcelain` that never writes the index: a plain status refreshes stat data of
 * racily clean entries and rewrites the index under index.lock, an optional write that a
 * read-only look must not make (killed mid-write, by a file-size limit, it left that lock and
 * the next agent's commit failed; it also races the user's own git).
 */
function porcelainStatus(root: string): Promise<string> {
  return git(root).raw(['--no-optional-locks', 'status', '--porcelain=v1', '-z', '--untracked-files=all']);
}

async function statusEntries(root: string): Promise<StatusEntry[]> {
  return parsePorcelainStatus(await porcelainStatus(root));
}

const isStaged = (e: StatusEntry) => e.x !== ' ' && e.x !== '?' && e.x !== '!';
const isUntracked = (e: StatusEntry) => e.x === '?';
const isModified = (e: StatusEntry) => !isUntracked(e) && e.y !== ' ';

/**
 * Refuse to start a run on a tree where committing would mix in someone else's
 * work: staged changes, changes to the files the run writes, modified tracked
 * files, or (without allowDirty) untracked files. Throws a one-line UsageError.
 */
export async function checkTree(root: string, filesToWrite: string[], opts: { allowDirty?: boolean } = {}): Promise<void> {
  const { prefix } = await repoInfo(root);
  await assertNoOperation(root);
  // Every commit would fail on it: say so once, up front, with what to do.
  // A live git's lock (an IDE's background status) is waited for a moment; a stale one is not.
  let lock = indexLock(root);
  for (const ms of LOCK_BACKOFF_MS) {
    if (!lock?.holders.length) break;
    await new Promise((r) => setTimeout(r, ms));
    lock = indexLock(root);
  }
  if (lock) throw new UsageError(`refusing to start: ${describeIndexLock(root, lock)}`, 'index-lock');
  const entries = await statusEntries(root);
  const staged = entries.filter(isStaged);
  if (staged.length) {
    throw new UsageError(
      `refusing to start: staged changes in the index (${listSome(staged.map((e) => e.path))}); commit or unstage them first`,
      'dirty-tree',
    );
  }
  const writes = new Set(filesToWrite.map((f) => prefix + toRelative(root, f)));
  const clash = entries.filter((e) => writes.has(e.path) && (isUntracked(e) || isModified(e)));
  if (clash.length) {
    const what = clash.map((e) => `${e.path} (${isUntracked(e) ? 'untracked' : 'modified'})`);
    throw new UsageError(
      `refusing to start: ${listSome(what)} would be written by this run but already ${clash.length > 1 ? 'have' : 'has'} uncommitted content; commit or remove ${clash.length > 1 ? 'them' : 'it'} first`,
      'dirty-tree',
    );
  }
  const modified = entries.filter(isModified);
  const untracked = entries.filter(isUntracked);
  // Files an interrupted validation's agents may have written: named as such (never removed).
  const left = modified.length || (untracked.length && !opts.allowDirty) ? await interruptedLeftovers(root, { tidy: true }) : null;
  const why = left ? `; ${describeInterrupted(left)}` : '';
  if (modified.length) {
    throw new UsageError(
      `refusing to start: uncommitted changes to tracked files (${listSome(modified.map((e) => e.path))}); commit or stash them first (--allow-dirty allows only untracked files)${why}`,
      'dirty-tree',
    );
  }
  if (untracked.length && !opts.allowDirty) {
    throw new UsageError(
      `refusing to start: untracked files (${listSome(untracked.map((e) => e.path))}); commit, remove or ignore them, or pass --allow-dirty${why}`,
      'dirty-tree',
    );
  }
}

/**
 * With commit.gpgsign on, every migration commit is signed: when signing cannot work here (no
 * key, no agent, no gpg), each agent of a run would fail only at its commit, after its rewrite
 * and validation. One signed commit object of HEAD's tree (reachable from nothing) proves it
 * before anything is written (-S: commit-tree does not read commit.gpgsign); refused in one line otherwise,
 * ending with `otherwise`: what the command could do instead (run: --no-commit).
 */
export async function checkSigning(root: string, otherwise = 'or pass --no-commit'): Promise<void> {
  if (!(await configFacts(root)).gpgsign) return;
  const tree = await gitText(root, ['rev-parse', '--verify', '-q', 'HEAD^{tree}']);
  if (tree.code !== 0) return;
  const r = await runGit(root, [...(await identityArgs(root)), 'commit-tree', '-S', '-m', 'migrate: signing check', tree.stdout.trim()]);
  const why = gitFailure('commit-tree', r);
  if (why) {
    throw new UsageError(
      `refusing to start: commit.gpgsign is true but git cannot sign a commit here (${why}); set up signing (user.signingkey, gpg.program), ${otherwise}`,
      'signing',
    );
  }
}

function oneLineField(name: string, value: string): void {
  if (!value || /[\r\n]/.test(value)) throw new UsageError(`${name} must be a non-empty single line, not ${JSON.stringify(value)}`);
}

function normalizeFiles(root: string, files: string[]): string[] {
  if (!files.length) throw new UsageError('nothing to commit: no files given');
  return [...new Set(files.map((f) => toRelative(root, f)))];
}

/** Files a commit touched, relative to the top of the work tree. */
export async function commitFiles(root: string, sha: string): Promise<string[]> {
  const out = await git(root).raw(['diff-tree', '--no-commit-id', '--name-only', '-r', '--root', '-z', sha]);
  return out.split('\0').filter(Boolean);
}

interface GitRun {
  code: number | null;
  signal: string | null;
  stderr: string;
}

/** The environment git runs in: never an outer repository's GIT_DIR or index (as inside a hook). */
function gitEnv(): Record<string, string | undefined> {
  const env = { ...process.env };
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_COMMON_DIR', 'GIT_PREFIX']) delete env[k];
  return env;
}

/**
 * Run git and keep its exit code and signal: the git library fails a call only when
 * the code is non-zero *and* stderr is not empty, so a hook that exits 1 silently, or a
 * git killed by a signal, looked like success.
 */
async function runGit(root: string, args: string[], env: Record<string, string> = {}): Promise<GitRun> {
  const r = await gitText(root, args, env);
  return { code: r.code, signal: r.signal, stderr: r.stderr };
}

/**
 * git with node's own child_process (execa is some 100 modules, ~0.3 s of CPU to load at every
 * start that commits): never rejects; no stdin; stdout and stderr as text, each without its
 * final newline (as execa gave them).
 */
function gitText(root: string, args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const strip = (s: string) => s.replace(/\r?\n$/, '');
  return new Promise((resolve) => {
    const child = spawn('git', args, { cwd: root, env: { ...gitEnv(), ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let spawnError = '';
    child.on('error', (e) => (spawnError = e.message));
    child.on('close', (code, signal) =>
      resolve({ code: spawnError ? null : code, signal, stdout: strip(Buffer.concat(out).toString('utf8')), stderr: strip(Buffer.concat(err).toString('utf8')) || spawnError }),
    );
  });
}

function gitFailure(what: string, r: GitRun): string | null {
  if (r.signal) return `git ${what} was killed by ${r.signal}`;
  if (r.code === 0) return null;
  const said = r.stderr
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith('hint:'));
  return said ?? `git ${what} exited with code ${r.code} and said nothing (a hook that refused it silently?)`;
}

/**
 * The line to say when commits here get the fallback identity: git has no user.name/user.email
 * for root and the environment names no author or committer (GIT_AUTHOR_* / GIT_COMMITTER_*,
 * which git would take over any config); null otherwise. Before, a run committed as
 * `migrate <migrate@localhost>` without a word, and the user found it in `git log` later.
 */
export async function fallbackIdentityNote(root: string, made = 'the commits are made', env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  if ((await configFacts(root)).identity) return null;
  // Only when all four are set: the ones left unset fall back to the -c identity (identityArgs).
  if (['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL'].every((k) => env[k])) return null;
  return `git has no user.name/user.email here: ${made} as ${FALLBACK_IDENTITY.map((c) => c.replace(/^user\.\w+=/, '')).join(' <')}>; \`git config user.name NAME\` and \`git config user.email EMAIL\` make them yours (\`git commit --amend --reset-author\` fixes the last one)`;
}

/**
 * Every command that commits (run, commit, review's accept, promote, revert) says the fallback
 * identity through this, once, as `migrate: warning: ...` on stderr; before, only run and revert
 * did, and a `migrate commit` or `promote` made commits as migrate <migrate@localhost> unsaid.
 */
export async function warnFallbackIdentity(root: string, write: (text: string) => void, made?: string): Promise<void> {
  const note = await fallbackIdentityNote(root, made);
  if (note) write(`migrate: warning: ${note}\n`);
}

async function identityArgs(root: string): Promise<string[]> {
  return (await configFacts(root)).identity ? [] : FALLBACK_IDENTITY.flatMap((c) => ['-c', c]);
}

/**
 * Commit exactly these files (the agent's `_v2` file and its record) as the
 * agent's migration commit; anything else staged or modified stays out (the commit is
 * built in an index of our own, and only these paths of the user's index change, after).
 * Success is proven, not assumed: HEAD must have moved to a new commit whose parent
 * is the old HEAD and which touches exactly these paths. On any failure the user's
 * index is as it was. Returns the new commit's sha.
 */
export async function commitAgent(
  root: string,
  c: {
    agent: string;
    profile: string;
    baseClass: string;
    files: string[];
    body?: string;
    /** Another first line (a promotion's), and trailers after the agent's and profile's. */
    subject?: string;
    trailers?: string[];
    /** Files among `files` this commit deletes. */
    deleted?: string[];
    /**
     * The branch HEAD named when the run began (headBranch; null: detached); undefined: not
     * checked. The agent's files were made and validated from that branch's tree.
     */
    branch?: string | null;
    /** How the files came from `branch`, for the line a commit on another branch fails with (default: a run's). */
    branchOrigin?: BranchOrigin;
  },
): Promise<string> {
  assertAgentName(c.agent);
  oneLineField('profile', c.profile);
  oneLineField('base class', c.baseClass);
  const files = normalizeFiles(root, c.files);
  const { prefix } = await repoInfo(root);
  const deleted = new Set((c.deleted ?? []).map((f) => toRelative(root, f)));
  for (const f of files) {
    if (!deleted.has(f) && !existsSync(path.join(root, f))) throw new MigrateError(`cannot commit ${c.agent}: file does not exist`, f);
  }
  const body = (c.body ?? `Adds ${files.join(', ')}.`).trim();
  const message = [
    c.subject ?? `migrate(${c.agent}): move onto ${c.baseClass}`,
    '',
    body,
    '',
    `${TRAILER_AGENT}: ${c.agent}`,
    `${TRAILER_PROFILE}: ${c.profile}`,
    ...(c.trailers ?? []),
    `${TRAILER_TOOL}: migrate ${TOOL_VERSION}`,
  ].join('\n');
  const fail = (why: string): never => {
    throw new MigrateError(`cannot commit ${c.agent}: ${why}`);
  };
  // What git will store for each file, as the repository's filters and eol rules make it
  // (hash-object applies them as add does): a hook that rewrites a file while it is
  // committed (a formatter that adds it again) is caught below.
  const kept = files.filter((f) => !deleted.has(f));
  const blobsBefore = kept.length ? await blobIds(root, kept) : [];
  // The reflog entry our git writes with the ref names this action: a commit another git made
  // beside the run is told from ours by it.
  const action = `migrate-${process.pid}-${randomBytes(4).toString('hex')}`;
  const identity = await identityArgs(root);
  // The commit is built in an index of our own, never the user's: before, `git add` staged the
  // agent's files in the user's index, and a `git commit -a` of the user landing before our
  // `git commit --only` took them into the user's commit (without the trailer status and
  // revert find a migration by). The user's index.lock is held from before HEAD is read until
  // the index holds the commit's files (as `commit --only` held it): a user's git that writes
  // the index waits or fails on it meanwhile, so it can neither commit on a HEAD we are about
  // to replace nor see HEAD with our files and an index without them (its commit would delete them).
  const lock = await holdIndexLock(root);
  if (typeof lock === 'string') return fail(lock);
  // Beside the index (the git dir is written anyway, and a full or missing TMPDIR must not
  // fail the commit after the lock is taken, nor leave the lock behind).
  let scratch: string | null = null;
  try {
    // Checked under the index lock, which a checkout or switch takes too. A branch switched
    // during the run (the _v2 untracked, so git let it) once took every later agent's commit,
    // made from the first branch's files, onto the other one, reported committed.
    if (c.branch !== undefined) {
      const now = await headBranch(root);
      if (now !== c.branch) return fail(wrongBranch(now, c.branch, c.branchOrigin));
    }
    scratch = mkdtempSync(path.join(path.dirname(lock.index), 'migrate-index-'));
    const privateEnv = { GIT_INDEX_FILE: path.join(scratch, 'index') };
    for (let attempt = 1; ; attempt++) {
      const base = await headSha(root);
      rmSync(privateEnv.GIT_INDEX_FILE, { force: true });
      if (base) {
        const seeded = gitFailure('read-tree', await runGit(root, ['read-tree', base], privateEnv));
        if (seeded) return fail(seeded);
      }
      const add = await runGit(root, ['add', '--', ...files], privateEnv);
      const added = gitFailure('add', add);
      if (added) return fail((/ignored by one of your \.gitignore files/.test(add.stderr) && (await ignoredWhy(root, files))) || added);
      // The user's index takes these paths as they are committed (nothing else of it changes),
      // written into the lock we hold before the commit is made and put in place once it is,
      // as git does: `git status` stays clean, and no commit of the user can delete the
      // agent's files from the branch. Before, it was written after the commit, and a write
      // that failed (a full disk, a file-size limit) left the user's index without the agent's
      // files, its git status showing them staged as deleted, with only a warning on stderr:
      // now that agent fails with one line and nothing is committed.
      const prepared = await prepareUserIndex(root, lock, scratch, files);
      if (prepared) return fail(prepared);
      // Hooks run as with `commit --only`: on an index of HEAD plus these paths (GIT_INDEX_FILE).
      const run = await runGit(root, [...identity, ...NO_AUTO_MAINTENANCE, 'commit', '--cleanup=strip', '-m', message], { ...privateEnv, GIT_REFLOG_ACTION: action });
      // HEAD now, and what proves it ours (null: no HEAD, as a first commit that failed leaves it).
      const facts = await headFacts(root);
      const sha = facts?.sha ?? null;
      if (!facts || !sha || sha === base) return fail(gitFailure('commit', run) ?? 'git commit made no commit');
      const parents = facts.parents;
      const failed = run.code !== 0 || Boolean(run.signal);
      const moved = parents.length === 1 && base !== null && parents[0] !== base;
      // Who made HEAD matters only when our git failed or HEAD's parent is not the base: asked
      // then alone (a git per agent otherwise, whose answer nothing read).
      const ours = failed || moved ? await reflogAction(root, sha, action) : null;
      // HEAD moved although our git failed: ours only when the reflog says so (a killed git may
      // have written the ref); another git's commit is never taken for ours, nor undone.
      if (failed && ours === 'other') {
        return fail(`${gitFailure('commit', run) ?? 'git commit made no commit'}; HEAD moved meanwhile to ${short(sha)}, made by another git`);
      }
      if (ours !== 'other' && moved) {
        // HEAD moved between our read and git's (a ref update that takes no index lock): our
        // tree is the old HEAD's plus ours, so against the new parent it would undo that
        // commit's changes. Taken back (only while HEAD is still ours) and made again on top.
        const undone = await undoOwnCommit(root, sha, parents[0]!);
        if (!undone.startsWith('the commit') || attempt >= 3) return fail(`HEAD moved while ${c.agent}'s commit was made; ${undone}`);
        continue;
      }
      const wrongParent = base ? parents.length !== 1 || parents[0] !== base : parents.length !== 0;
      if (wrongParent) {
        return fail(`HEAD moved to ${short(sha)}, which is not a child of ${base ? short(base) : 'nothing'}; it is not ${c.agent}'s commit, inspect it with git log`);
      }
      // A child of the HEAD before, made by our `git commit`: when a hook changed it (staged
      // another file, rewrote the _v2 or the record, dropped the trailer that finds it again),
      // it is not what was verified. Before, it stayed in history while the agent was reported
      // failed (or, without its trailer, reported migrated while status and revert could not find it).
      const touched = [...facts.blobs.keys()];
      const expected = new Set(files.map((f) => prefix + f));
      const extra = touched.filter((f) => !expected.has(f));
      const missing = [...expected].filter((f) => !touched.includes(f));
      const changed = extra.length || missing.length || blobsBefore.length !== kept.length ? [] : kept.filter((f, i) => facts.blobs.get(prefix + f) !== blobsBefore[i]);
      const trailerKept = facts.agents.includes(c.agent);
      if (extra.length || missing.length || changed.length || !trailerKept) {
        const what = extra.length
          ? `a hook added ${listSome(extra)} to ${c.agent}'s commit`
          : missing.length
            ? `${c.agent}'s commit lacks ${listSome(missing)} (a hook unstaged it?)`
            : changed.length
              ? `a hook changed ${listSome(changed)} as it was committed, so the commit is not what was verified`
              : `the commit message lost its "${TRAILER_AGENT}: ${c.agent}" trailer (a commit-msg hook?), so status and revert could not find the commit`;
        return fail(`${what}; ${await undoOwnCommit(root, sha, base)}`);
      }
      await putIndexInPlace(root, lock, sha, files, c.agent);
      return sha;
    }
  } catch (err) {
    if (err instanceof MigrateError) throw err;
    return fail(firstLine(err));
  } finally {
    lock.release();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * The user's index with `files` as they are now in the work tree, written into the index.lock
 * we hold (the index itself is replaced only by putIndexInPlace). Null, or the line why git
 * could not write it (a git killed mid-write leaves its lock in `scratch`, which goes with it).
 */
async function prepareUserIndex(root: string, lock: HeldIndexLock, scratch: string, files: string[]): Promise<string | null> {
  // Made beside our own index, then copied into the lock: the lock file is empty until then, which
  // git reads as a broken index (a repository with no index yet has nothing to copy into it).
  const next = path.join(scratch, 'user-index');
  try {
    rmSync(next, { force: true });
    if (existsSync(lock.index)) copyFileSync(lock.index, next);
    const failed = gitFailure('add', await runGit(root, ['add', '--', ...files], { GIT_INDEX_FILE: next }));
    if (!failed) copyFileSync(next, lock.file);
    return failed && `cannot write the index (${path.relative(root, lock.index) || lock.index}) for its files: ${failed}`;
  } catch (err) {
    return `cannot write the index (${path.relative(root, lock.index) || lock.index}) for its files: ${firstLine(err)}`;
  }
}

/**
 * Our commit is made: the index the lock holds (prepared before it) replaces the user's. Should
 * that rename fail, the paths are set to HEAD's in the user's index by git; a warning names
 * what is left to do when that fails too.
 */
async function putIndexInPlace(root: string, lock: HeldIndexLock, sha: string, files: string[], agent: string): Promise<void> {
  try {
    lock.commit();
    return;
  } catch (err) {
    lock.release();
    const again = await unstage(root, files);
    if (again) io.stderr.write(`migrate: warning: ${agent}'s commit ${short(sha)} is made, but the index still lacks its files (${firstLine(err)}; ${again}); run \`git reset -q -- ${files.join(' ')}\` before committing\n`);
  }
}

/**
 * Which of the files git ignores, and by which rule (file:line: pattern), in one line: git's
 * own refusal spreads the paths over several lines after "The following paths are ignored".
 */
async function ignoredWhy(root: string, files: string[]): Promise<string | null> {
  const r = await gitText(root, ['check-ignore', '-v', '--', ...files]);
  const said = r.stdout
    .split('\n')
    .map((l) => /^(.*?):(\d+):(.*)\t(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && !m[3]!.startsWith('!'))
    .map((m) => `${m[4]} is ignored by git (${m[1]}:${m[2]}: ${m[3]})`);
  return said.length ? `${said.join('; ')}; un-ignore it to commit` : null;
}

/** The blob id git would store for each file (paths relative to root), filters and eol rules applied. */
async function blobIds(root: string, files: string[]): Promise<string[]> {
  const r = await gitText(root, ['hash-object', '--', ...files]);
  return r.code === 0 ? r.stdout.split('\n') : [];
}

interface CommitFacts {
  sha: string;
  /** The commit's parents, in order. */
  parents: string[];
  /** Each file the commit changes against its parent (all of them for a root commit), relative to the top of the work tree, to its blob id there (zeros for a deletion). */
  blobs: Map<string, string>;
  /** Its Migrate-Agent trailers' values. */
  agents: string[];
}

/**
 * HEAD's commit and what proves it is the one we meant to make, from one git (the proof asked
 * rev-parse for HEAD, rev-list for its parents, diff-tree for its files, rev-parse for their blobs
 * and log for the trailer: five processes at every commit and revert): `diff-tree --always` shows
 * the commit's header in our format (sha, parents, trailers) and then its raw diff against its
 * parent, each entry's new blob id unabbreviated, no rename detection (the plumbing's default,
 * said anyway), paths NUL-ended. Null when there is no HEAD (or git could not answer), as headSha.
 */
async function headFacts(root: string): Promise<CommitFacts | null> {
  const format = `--format=%H%x1f%P%x1f%(trailers:key=${TRAILER_AGENT},valueonly,separator=%x1d)%x1e`;
  const r = await gitText(root, ['diff-tree', '-r', '--root', '--always', '--raw', '--no-abbrev', '--no-renames', '-z', format, 'HEAD']);
  // As headSha: no HEAD (or no answer) is no commit.
  if (r.code !== 0) return null;
  // A message holds no NUL, so the header ends at the first 0x1e before one.
  const end = r.stdout.indexOf('\x1e\0');
  const header = end < 0 ? r.stdout.replace(/\x1e\0?\n?$/, '') : r.stdout.slice(0, end);
  const [sha = '', parentsField = '', ...trailerFields] = header.split('\x1f');
  const agents = trailerFields
    .join('\x1f')
    .split('\x1d')
    .map((v) => v.trim())
    .filter(Boolean);
  const blobs = new Map<string, string>();
  if (end >= 0) {
    const words = r.stdout.slice(end + 2).replace(/^\n/, '').split('\0');
    // ":100644 100644 <old blob> <new blob> M", then the path.
    for (let i = 0; i + 1 < words.length; i += 2) blobs.set(words[i + 1]!, words[i]!.split(' ')[3] ?? '');
  }
  return { sha: sha.trim(), parents: parentsField.split(' ').filter(Boolean), blobs, agents };
}

/**
 * Take back the commit our own `git commit` just made (HEAD moves back only while it is
 * still that commit: update-ref's compare-and-swap); the files stay in the work tree, and
 * the caller unstages them.
 */
async function undoOwnCommit(root: string, sha: string, headBefore: string | null): Promise<string> {
  const r = await runGit(root, headBefore ? ['update-ref', '-m', 'migrate: undo a commit a hook changed', 'HEAD', headBefore, sha] : ['update-ref', '-d', 'HEAD', sha]);
  const failed = gitFailure('update-ref', r);
  return failed ? `and could not undo commit ${short(sha)} (${failed}): inspect it with git log` : `the commit ${short(sha)} was undone`;
}

/**
 * Our own git was killed by a signal: the index.lock it held is ours to remove, when no
 * live git process could own it (otherwise every later git command of the run fails).
 */
function removeOwnLock(root: string): void {
  const lock = indexLock(root);
  if (lock && lock.knowable && lock.holders.length === 0) rmSync(lock.file, { force: true });
  for (const f of staleNextIndexLocks(root)) rmSync(f, { force: true });
}

/**
 * Who moved HEAD to `sha`, by its newest reflog entry: 'ours' when it names the action our
 * commit was given, 'other' when it names another, null when the
 * reflog holds no entry for it (reflogs off): then nothing tells, and it is taken for ours.
 */
async function reflogAction(root: string, sha: string, action: string): Promise<'ours' | 'other' | null> {
  const r = await gitText(root, ['reflog', 'show', '-n', '20', '--format=%H%x09%gs', 'HEAD', '--']);
  if (r.code !== 0) return null;
  const entry = r.stdout.split('\n').find((l) => l.startsWith(`${sha}\t`));
  if (!entry) return null;
  return entry.slice(sha.length + 1).startsWith(`${action}: `) ? 'ours' : 'other';
}

/** Take the files out of the index again (back to HEAD's version); a note when git refused. */
async function unstage(root: string, files: string[]): Promise<string | null> {
  const hasHead = await headSha(root);
  const r = await runGit(root, hasHead ? ['reset', '-q', '--', ...files] : ['rm', '--cached', '-q', '--ignore-unmatch', '--', ...files]);
  // Killed too (the same file-size limit that killed the add): its lock would block every later git command.
  if (r.signal) removeOwnLock(root);
  const failed = gitFailure(hasHead ? 'reset' : 'rm --cached', r);
  return failed ? `and could not unstage ${listSome(files)}: ${failed}` : null;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (
    msg
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l && !l.startsWith('hint:')) ?? msg
  );
}

/**
 * The branch HEAD names (`refs/heads/main`), or null when HEAD is detached: a run notes it once
 * it may write, and each of its commits is made only while HEAD still names it.
 */
export async function headBranch(root: string): Promise<string | null> {
  const fromFile = headRefFromFile(root);
  if (fromFile !== undefined) return fromFile;
  const r = await gitText(root, ['symbolic-ref', '-q', 'HEAD']);
  return r.code === 0 ? r.stdout.trim() || null : null;
}

/** Where a commit's files were made from a branch: "where <it happened> (<how HEAD moved?>)" and what was done from its files. */
export interface BranchOrigin {
  where: string;
  made: string;
}

const RUN_ORIGIN: BranchOrigin = { where: 'where this run began (a checkout during the run?)', made: 'made and validated' };

/** The one line a commit refuses with when HEAD is not on the branch its files were made from. */
export function wrongBranch(now: string | null, want: string | null, origin: BranchOrigin = RUN_ORIGIN): string {
  return `HEAD is on ${branchName(now)}, not on ${branchName(want)} ${origin.where}; nothing committed there, since the _v2 was ${origin.made} from ${branchName(want)}'s files`;
}

/** `main` for refs/heads/main; "no branch (HEAD detached)" for null. */
export function branchName(ref: string | null): string {
  return ref === null ? 'no branch (HEAD detached)' : ref.replace(/^refs\/heads\//, '');
}

async function headSha(root: string): Promise<string | null> {
  try {
    return (await git(root).raw(['rev-parse', '--verify', '-q', 'HEAD^{commit}'])).trim() || null;
  } catch {
    return null;
  }
}

// ---- history --------------------------------------------------------------

export interface MigrationCommit {
  sha: string;
  date: string;
  profile: string | null;
  /** False once a later commit reverted it (and nothing re-applied it). */
  active: boolean;
}

export interface RevertCommit {
  sha: string;
  date: string;
  /** The migration (or promotion) commit this one undid. */
  reverted: string;
  /** True when it undid a promotion. */
  promotion?: boolean;
}

export interface PromotionCommit {
  sha: string;
  date: string;
  /** The migration commit whose `_v2` it cut over to. */
  migration: string;
  /** False once a later commit reverted it. */
  active: boolean;
}

export interface AgentHistory {
  agent: string;
  /** Oldest first. */
  migrations: MigrationCommit[];
  /** Oldest first. */
  reverts: RevertCommit[];
  /** The newest migration commit that has not been reverted. */
  active: MigrationCommit | null;
  /** Oldest first. */
  promotions: PromotionCommit[];
  /** The promotion of the active migration, while it is not reverted. */
  promoted: PromotionCommit | null;
  /** committed when a migration is active; reverted when every migration was undone. */
  state: 'committed' | 'reverted';
  /** The newest commit of either kind (what status shows). */
  last: { sha: string; date: string };
}

export type MigrationHistory = Map<string, AgentHistory>;

const SEP_RECORD = '\x1e';
const SEP_FIELD = '\x1f';
const SEP_VALUE = '\x1d';

/**
 * Every agent's migration and revert commits reachable from HEAD, read from
 * commit trailers alone (plain `git revert`s of a migration commit count too).
 */
export async function readHistory(root: string): Promise<MigrationHistory> {
  await repoInfo(root);
  const history: MigrationHistory = new Map();
  const trailer = (key: string) => `%(trailers:key=${key},valueonly,separator=%x1d)`;
  const format = ['%x1e%H', '%cI', trailer(TRAILER_AGENT), trailer(TRAILER_REVERT), trailer(TRAILER_PROFILE), trailer(TRAILER_PROMOTE), '%B'].join('%x1f');
  const log = await gitText(root, ['log', '--topo-order', '--reverse', '--fixed-strings', `--grep=${TRAILER_AGENT}: `, '--grep=This reverts commit ', `--format=${format}`, 'HEAD', '--']);
  if (log.code !== 0) {
    // No HEAD yet (no commit) is an empty history: asked only when the log failed, where before
    // every history started a git for it first.
    if (!(await headSha(root))) return history;
    throw new MigrateError(`git log failed in ${root}: ${gitFailure('log', log)}`);
  }
  const out = log.stdout;
  // Each commit's effect: which migration it concerns and whether it leaves it applied.
  const effect = new Map<string, StepEffect>();
  const byMigration = new Map<string, MigrationCommit>();
  const byPromotion = new Map<string, PromotionCommit>();
  const values = (s: string) =>
    s
      .split(SEP_VALUE)
      .map((v) => v.trim())
      .filter(Boolean);
  for (const chunk of out.split(SEP_RECORD)) {
    if (!chunk.trim()) continue;
    const [sha, date, agentField, revertField, profileField, promoteField, body = ''] = chunk.split(SEP_FIELD);
    const agent = values(agentField)[0];
    const revertTarget = values(revertField)[0] ?? /This reverts commit ([0-9a-f]{40})/.exec(body)?.[1];
    if (revertTarget) {
      const target = resolveTarget(effect, revertTarget);
      if (!target) continue; // a revert of something that was not a migration
      const e = { ...target, on: !target.on };
      effect.set(sha, e);
      const step = e.promotion ? byPromotion.get(e.migration)! : byMigration.get(e.migration)!;
      step.active = e.on;
      const h = history.get(e.agent)!;
      if (!e.on) h.reverts.push({ sha, date, reverted: e.migration, ...(e.promotion ? { promotion: true } : {}) });
      h.last = { sha, date };
    } else if (agent) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(agent)) continue;
      const promotes = values(promoteField)[0];
      if (promotes) {
        const h = history.get(agent);
        if (!h) continue; // a promotion of a migration this history does not hold
        const p: PromotionCommit = { sha, date, migration: resolveTarget(effect, promotes)?.migration ?? promotes, active: true };
        effect.set(sha, { agent, migration: sha, on: true, promotion: true });
        byPromotion.set(sha, p);
        h.promotions.push(p);
        h.last = { sha, date };
        continue;
      }
      const m: MigrationCommit = { sha, date, profile: values(profileField)[0] ?? null, active: true };
      effect.set(sha, { agent, migration: sha, on: true });
      byMigration.set(sha, m);
      let h = history.get(agent);
      if (!h) {
        h = { agent, migrations: [], reverts: [], active: null, promotions: [], promoted: null, state: 'committed', last: { sha, date } };
        history.set(agent, h);
      }
      h.migrations.push(m);
      h.last = { sha, date };
    }
  }
  for (const h of history.values()) {
    h.active = [...h.migrations].reverse().find((m) => m.active) ?? null;
    h.promoted = [...h.promotions].reverse().find((p) => p.active && p.migration === h.active?.sha) ?? null;
    h.state = h.active ? 'committed' : 'reverted';
  }
  return history;
}

/** What a commit did: applied (on) or undid one migration or promotion (`migration` is that step's sha). */
interface StepEffect {
  agent: string;
  migration: string;
  on: boolean;
  promotion?: boolean;
}

function resolveTarget(effect: Map<string, StepEffect>, target: string) {
  return effect.get(target) ?? [...effect.entries()].find(([sha]) => sha.startsWith(target))?.[1];
}

/** The newest migration commit of the agent that has not been reverted, from history alone. */
export async function findMigrationCommit(root: string, agent: string): Promise<{ sha: string; date: string } | null> {
  assertAgentName(agent);
  const active = (await readHistory(root)).get(agent)?.active;
  return active ? { sha: active.sha, date: active.date } : null;
}

/** The agent's record as the given commit holds it (null when that commit has none). */
export async function recordAtCommit(root: string, sha: string, agent: string): Promise<MigrationRecord | null> {
  const rel = recordPath(agent);
  let text: string;
  try {
    text = await git(root).raw(['show', `${sha}:./${rel}`]);
  } catch {
    return null;
  }
  return parseRecord(text, `${short(sha)}:${rel}`);
}

// ---- revert ---------------------------------------------------------------

/**
 * Undo the agent's newest migration commit with `git revert` (removing its
 * `_v2` file and record) plus a new revert record, as one commit. On a conflict
 * the revert is aborted and the repository is left exactly as it was.
 */
export async function revertAgent(
  root: string,
  agent: string,
  opts: { now?: Date; journal?: RunJournal | null } = {},
): Promise<{ revertSha: string; migrationSha: string; undid: 'migration' | 'promotion' }> {
  assertAgentName(agent);
  const { prefix } = await repoInfo(root);
  await assertNoOperation(root);
  const entries = await statusEntries(root);
  const dirty = entries.filter((e) => isStaged(e) || isModified(e));
  if (dirty.length) {
    throw new UsageError(
      `refusing to revert ${agent}: uncommitted changes (${listSome(dirty.map((e) => e.path))}); commit or stash them first`,
      'dirty-tree',
    );
  }
  const h = (await readHistory(root)).get(agent);
  if (!h) {
    throw new UsageError(`${agent} was never migrated: no commit with the trailer "${TRAILER_AGENT}: ${agent}" in the history of HEAD`, 'unknown-agent');
  }
  if (!h.active) {
    const r = h.reverts[h.reverts.length - 1];
    throw new UsageError(`${agent} is already reverted (by ${short(r.sha)} on ${r.date}); nothing to revert`);
  }
  // A promoted agent is cut over first: undo the promotion, and the migration on the next revert.
  const undid = h.promoted ? 'promotion' : 'migration';
  const migrationSha = h.promoted?.sha ?? h.active.sha;
  const files = await commitFiles(root, migrationSha);
  const record = await recordAtCommit(root, migrationSha, agent).catch(() => null);

  const fromTop = (f: string) => (prefix && f.startsWith(prefix) ? f.slice(prefix.length) : f);

  const at = opts.now ?? new Date();
  let rel = revertRecordPath(agent, at);
  for (let n = 2; existsSync(path.join(root, rel)); n++) rel = rel.replace(/(-\d+)?\.json$/, `-${n}.json`);
  // In the run journal before git touches them: a revert killed (kill -9, a closed terminal)
  // while git commits is put back by the next command, lock included (the user's index.lock
  // is held from here on, so its commit is in flight from here on).
  const touched = [...files.map(fromTop), rel];
  try {
    opts.journal?.willCreateAll(touched);
  } catch (err) {
    // The backups of what the revert deletes cannot be written (a full disk, a file-size limit):
    // refused before git touches anything, said like every other refusal of a revert (before,
    // the raw EFBIG/ENOSPC line, with no word of the repository's state).
    throw new MigrateError(`cannot revert ${agent}: cannot back up ${listSome(touched.filter((f) => existsSync(path.join(root, f))))} first: ${firstLine(err)}; the repository is unchanged`);
  }
  opts.journal?.committing(touched);
  // As an agent's commit: the user's index.lock is held throughout (waited for a moment while
  // another git holds it), and the revert is made in an index of our own. Before, `git revert`
  // failed at once on another git's lock, and a lock taken between our revert and its commit
  // failed the commit and then the abort too, leaving the revert half done.
  const lock = await holdIndexLock(root);
  if (typeof lock === 'string') {
    opts.journal?.commitFailed();
    opts.journal?.settled(touched);
    throw new MigrateError(`cannot revert ${agent}: ${lock}`);
  }
  let scratch: string | null = null;
  try {
    scratch = mkdtempSync(path.join(path.dirname(lock.index), 'migrate-index-'));
    const env = { GIT_INDEX_FILE: path.join(scratch, 'index') };
    // Read once the lock is held: no git writes the index meanwhile, so what the revert leaves
    // is compared with this, and our index starts as the user's, stat data included.
    const headBefore = await headSha(root);
    const statusBefore = await porcelainStatus(root);
    const staged = parsePorcelainStatus(statusBefore).filter((e) => isStaged(e) || isModified(e));
    if (staged.length) throw new UsageError(`refusing to revert ${agent}: uncommitted changes (${listSome(staged.map((e) => e.path))}); commit or stash them first`, 'dirty-tree');
    if (existsSync(lock.index)) copyFileSync(lock.index, env.GIT_INDEX_FILE);
    else if (headBefore) await runGit(root, ['read-tree', headBefore], env);
    return await revertInIndex(root, { agent, migrationSha, undid, files, record, rel, at, touched, headBefore, statusBefore, fromTop, prefix, lock, env, journal: opts.journal });
  } catch (err) {
    if (!(err instanceof MigrateError)) throw new MigrateError(`cannot revert ${agent}: ${firstLine(err)}`);
    throw err;
  } finally {
    // No commit of ours is in flight any more (made, failed, or never started: a dirty tree).
    opts.journal?.commitFailed();
    lock.release();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * "<files> changed after <migration> (in <commits>) and conflicted": the commits since the migration
 * that touched the conflicting files, so the user knows whose change stands in the way.
 */
async function conflictWhy(root: string, migrationSha: string, conflicted: string[], fromTop: (f: string) => string): Promise<string> {
  const log = await gitText(root, ['log', '--format=%H %s', `${migrationSha}..HEAD`, '--', ...conflicted.map((f) => `:(top,literal)${f}`)]);
  const lines = log.code === 0 ? log.stdout.split('\n').filter(Boolean) : [];
  const commits = lines.map((l) => `${short(l)} "${l.slice(l.indexOf(' ') + 1)}"`);
  const by = commits.length ? ` (in ${listSome(commits)})` : '';
  return `${listSome(conflicted.map(fromTop))} changed after ${short(migrationSha)}${by} and conflicted`;
}

/** The revert itself, in migrate's own index (`env`) while the user's index lock is held. */
async function revertInIndex(
  root: string,
  r: {
    agent: string;
    migrationSha: string;
    undid: 'migration' | 'promotion';
    files: string[];
    record: MigrationRecord | null;
    rel: string;
    at: Date;
    touched: string[];
    headBefore: string | null;
    statusBefore: string;
    fromTop: (f: string) => string;
    prefix: string;
    lock: HeldIndexLock;
    env: Record<string, string>;
    journal?: RunJournal | null;
  },
): Promise<{ revertSha: string; migrationSha: string; undid: 'migration' | 'promotion' }> {
  const { agent, migrationSha, undid, files, record, rel, at, touched, headBefore, statusBefore, fromTop, prefix, lock, env } = r;
  // runGit, not the git library: it resolves a git killed by a signal (Ctrl-C reaches the
  // whole foreground group) or a hook that refused silently as success. A killed git's lock
  // is on our own index, which goes with its folder.
  const reverted = await runGit(root, ['revert', '--no-commit', migrationSha], env);
  const revertFailed = gitFailure('revert', reverted);
  if (revertFailed) {
    const diff = await gitText(root, ['diff', '--name-only', '--diff-filter=U', '-z'], env);
    const conflicted = diff.code === 0 ? diff.stdout.split('\0').filter(Boolean) : [];
    await abortRevert(root, files, env);
    await assertUnchanged(root, headBefore, statusBefore);
    const why = conflicted.length ? await conflictWhy(root, migrationSha, conflicted, fromTop) : revertFailed;
    r.journal?.commitFailed();
    r.journal?.settled(touched);
    const next = conflicted.length
      ? `; to undo it anyway: \`git revert ${short(migrationSha)}\`, settle ${listSome(conflicted.map(fromTop))} (\`git rm\` drops a _v2), then \`git revert --continue\` (migrate status counts a plain git revert)`
      : '';
    throw new MigrateError(`cannot revert ${agent}: ${why}; the revert was aborted and the repository is unchanged${next}`);
  }
  // The changes stay staged; git forgets the revert in progress (REVERT_HEAD), which would
  // otherwise outlive a killed commit and refuse every later revert.
  await runGit(root, ['revert', '--quit'], env);
  const revertRecord: RevertRecord = {
    record_version: 1,
    agent,
    reverted_commit: migrationSha,
    reverted_at: at.toISOString(),
    tool_version: TOOL_VERSION,
    files: files.map(fromTop),
    ...(record ? { source: record.source, output: record.output } : {}),
    ...(undid === 'promotion' ? { undid } : {}),
  };
  const message = [
    `migrate(${agent}): revert ${undid} ${short(migrationSha)}`,
    '',
    `This reverts commit ${migrationSha}.`,
    `${undid === 'promotion' ? 'Restores' : 'Removes'} ${listSome(files.map(fromTop), 10)}; the revert is recorded in ${rel}.`,
    '',
    `${TRAILER_AGENT}: ${agent}`,
    `${TRAILER_REVERT}: ${migrationSha}`,
    `${TRAILER_TOOL}: migrate ${TOOL_VERSION}`,
  ].join('\n');
  let revertSha = '';
  try {
    writeFileAtomic(path.join(root, rel), serializeRevertRecord(revertRecord));
    const added = gitFailure('add', await runGit(root, ['add', '--', rel], env));
    if (added) throw new MigrateError(added);
    // The index held nothing but HEAD before the revert, so it now holds exactly the revert and
    // its record: the user's index once the commit is made, written into the lock before it is
    // (a write that fails, a full disk, then fails the revert with nothing committed).
    copyFileSync(env.GIT_INDEX_FILE!, lock.file);
    const run = await runGit(root, [...(await identityArgs(root)), ...NO_AUTO_MAINTENANCE, 'commit', '--cleanup=strip', '-m', message], env);
    // Success is proven: HEAD moved to a child of the HEAD before (a git killed after
    // writing the ref did make the commit).
    const facts = await headFacts(root);
    const sha = facts?.sha ?? null;
    const parents = facts?.parents ?? [];
    if (!sha || sha === headBefore || parents.length !== 1 || parents[0] !== headBefore) {
      throw new MigrateError(sha && sha !== headBefore ? `HEAD moved to ${short(sha)}, which is not a child of ${headBefore ? short(headBefore) : 'nothing'}` : (gitFailure('commit', run) ?? 'git commit made no commit'));
    }
    // Our commit, but a hook may have changed it (as in commitAgent): another file staged
    // into it (a pre-commit `git add -A` sweeping in an untracked file of the user), or the
    // trailer that lets status and the next revert find it gone. Taken back, nothing kept.
    const expected = new Set([...files, prefix + rel]);
    const extra = [...facts!.blobs.keys()].filter((f) => !expected.has(f));
    const trailerKept = extra.length ? true : facts!.agents.includes(agent);
    if (extra.length || !trailerKept) {
      const undone = await undoOwnCommit(root, sha, headBefore);
      throw new MigrateError(
        extra.length
          ? `a hook added ${listSome(extra.map(fromTop))} to the revert commit (${undone})`
          : `the commit message lost its "${TRAILER_AGENT}: ${agent}" trailer (a commit-msg hook?) (${undone})`,
      );
    }
    // A hook that staged a file it then took out again leaves the private index unlike HEAD:
    // the user's index takes HEAD's version of the reverted paths either way.
    await putIndexInPlace(root, lock, sha, [...files.map(fromTop), rel], agent);
    revertSha = sha;
  } catch (err) {
    rmSync(path.join(root, rel), { force: true });
    try {
      rmdirSync(path.dirname(path.join(root, rel))); // the reverts folder, when this record made it
    } catch {
      // other revert records are in it
    }
    await abortRevert(root, files, env);
    await assertUnchanged(root, headBefore, statusBefore);
    r.journal?.commitFailed();
    r.journal?.settled(touched);
    throw new MigrateError(`cannot revert ${agent}: ${firstLine(err)}; the repository is unchanged`);
  }
  r.journal?.committed(touched);
  // The commit proven ours above (HEAD asked again named whatever moved it since).
  return { revertSha, migrationSha, undid };
}

/** Undo a `git revert --no-commit` in progress (in our own index): the sequencer's abort, else restore the touched paths. */
async function abortRevert(root: string, topFiles: string[], env: Record<string, string>): Promise<void> {
  const aborted = await runGit(root, ['revert', '--abort'], env);
  // A clean --no-commit revert leaves no sequencer state to abort.
  if (aborted.code === 0) return;
  const top = revParseFact(root, ['--show-toplevel'])?.trim();
  // assertUnchanged, which always follows, reports what is left
  if (top) await runGit(top, ['restore', '--source=HEAD', '--staged', '--worktree', '--', ...topFiles], env);
}

async function assertUnchanged(root: string, head: string | null, status: string): Promise<void> {
  const headNow = await headSha(root);
  const statusNow = await porcelainStatus(root);
  if (headNow !== head || statusNow !== status) {
    throw new MigrateError(`the aborted revert left ${root} different from before (HEAD ${head} -> ${headNow}); inspect it with git status`);
  }
}

// ---- shard branches -------------------------------------------------------

/** Check out the branch a shard commits on (migrate/shard-i-of-n), creating it from HEAD when missing. */
export async function checkoutShardBranch(root: string, spec: string): Promise<{ branch: string; created: boolean }> {
  const branch = shardBranch(spec);
  await repoInfo(root);
  const g = git(root);
  const current = (await g.raw(['rev-parse', '--abbrev-ref', 'HEAD']).catch(() => '')).trim();
  if (current === branch) return { branch, created: false };
  const exists = await g
    .raw(['rev-parse', '--verify', '-q', `refs/heads/${branch}`])
    .then((s) => s.trim() !== '')
    .catch(() => false);
  try {
    await g.raw(exists ? ['checkout', '-q', branch] : ['checkout', '-q', '-b', branch]);
  } catch (err) {
    throw new UsageError(`cannot check out shard branch ${branch}: ${firstLine(err)}`);
  }
  return { branch, created: !exists };
}
