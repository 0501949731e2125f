// What git says about where a repository is — its git dir, its top level, the root's prefix,
// the path of one of git's own files (`--git-path`) — does not change while a command runs,
// yet the record-keeping asked it again at every agent, commit and lock check: a demo run
// started some 150 gits for a couple of dozen different answers. Each answer is kept per
// absolute root for the command (forgotten when the next command starts, see
// resetProcessState). Nothing that commits change (HEAD, status, the index) is ever kept here.
// Outside git, every such question failed and was asked again: a validation of one agent started
// five gits for the same "not a git repository".
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { forgetOnReset } from '../core/invocation.js';

interface Fact {
  /** The repository's git dir when the answer was given: gone, the answer is asked again. */
  gitDir: string;
  out: string;
}

const facts = new Map<string, Fact>();
/** Absolute roots git found in no repository during this command (see mayBecomeRepository). */
const outside = new Set<string>();
/** No `git` could be started this command (ENOENT on PATH). */
let gitNotFound = false;
forgetOnReset(() => {
  facts.clear();
  outside.clear();
  gitNotFound = false;
});

/**
 * Could git now find a repository from `abs`, where it found none before? Git looks for `.git`
 * (a folder, or a file naming one) in the folder and each parent, or takes a folder holding
 * `HEAD` for a bare repository (or a git dir) itself; GIT_DIR names one wherever it is. None of
 * these there: git would fail again, and is not asked (a command may still `git init` meanwhile,
 * which makes a `.git`).
 */
function mayBecomeRepository(abs: string): boolean {
  if (process.env.GIT_DIR) return true;
  for (let dir = abs; ; dir = path.dirname(dir)) {
    // A .git (folder, or file naming one), or a folder that is itself a git dir (HEAD and objects: a stray HEAD file is not).
    if (existsSync(path.join(dir, '.git')) || (existsSync(path.join(dir, 'HEAD')) && existsSync(path.join(dir, 'objects')))) return true;
    if (path.dirname(dir) === dir) return false;
  }
}

/**
 * `git rev-parse <args>` in root, its standard output as git printed it (one line per
 * argument), or null when git fails (not a git work tree). A success is remembered for the
 * command, while the repository's git dir is still there. "Not a repository" (git's fatal exit
 * 128 with nothing git could take for one at or above root) is remembered for the command until
 * something git could take for one appears there; any other failure is asked again. Only
 * location questions belong here.
 */
export function revParseFact(root: string, args: string[]): string | null {
  const abs = path.resolve(root);
  const key = `${abs}\0${args.join('\0')}`;
  const known = facts.get(key);
  if (known && existsSync(known.gitDir)) return known.out;
  if (outside.has(abs)) {
    if (!mayBecomeRepository(abs)) return null;
    outside.delete(abs);
  }
  // Nothing git could take for a repository at or above root (as given, nor its real folder, the one
  // git looks up from): git would answer "not a git repository", and is not started to say it (a
  // fork of this large process, and git's own start: each validation outside git paid one).
  if (!known && !gitMayFindRepository(abs)) {
    outside.add(abs);
    return null;
  }
  const batched = fromBatch(root, abs, args);
  if (batched !== undefined) return batched;
  let out: string;
  try {
    // The absolute git dir comes first, for telling a kept answer is still the repository's.
    out = execFileSync('git', ['rev-parse', '--absolute-git-dir', ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    facts.delete(key);
    failed(abs, err);
    return null;
  }
  const nl = out.indexOf('\n');
  if (nl < 0) return null;
  const fact = { gitDir: out.slice(0, nl), out: out.slice(nl + 1) };
  facts.set(key, fact);
  return fact.out;
}

/**
 * Could git find a repository from `root`: something it could take for one at or above the folder as
 * given or its real folder (git looks up from the real one: a symlinked root into a repository is in
 * it). Without, a git asked there only fails: the listing and location questions do not start one.
 */
export function gitMayFindRepository(root: string): boolean {
  const abs = path.resolve(root);
  return mayBecomeRepository(abs) || mayBecomeRepository(realpathOr(abs));
}

function realpathOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** What a failed rev-parse in abs tells: no git on PATH, or (exit 128 with nothing git could take for one) no repository. */
function failed(abs: string, err: unknown): void {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') gitNotFound = true;
  if ((err as { status?: number | null }).status === 128 && !mayBecomeRepository(abs)) outside.add(abs);
}

/**
 * The location questions a command asks of a work tree, each printing one line: asked all in one
 * git the first time any of them is (a run asked six gits for them: where the top is, the prefix,
 * the git dir, the paths of the index, its lock and the markers of an operation in progress).
 */
const BATCHED: string[][] = [
  ['--show-toplevel'],
  ['--is-inside-work-tree'],
  ['--show-prefix'],
  ['--git-dir'],
  ...['index', 'index.lock', 'MERGE_HEAD', 'REVERT_HEAD', 'CHERRY_PICK_HEAD', 'rebase-merge', 'rebase-apply', 'config', 'config.worktree'].map((p) => ['--git-path', p]),
];
/** Roots (absolute) whose batch git refused this command (not a work tree: a bare repository, a git dir): asked one by one. */
const unbatched = new Set<string>();
forgetOnReset(() => unbatched.clear());

/** args split into the questions of BATCHED (a flag, or `--git-path` and its path); null when one is not among them. */
function batchQuestions(args: string[]): string[][] | null {
  const out: string[][] = [];
  for (let i = 0; i < args.length; i++) {
    const q = args[i] === '--git-path' ? [args[i]!, args[++i] ?? ''] : [args[i]!];
    if (!BATCHED.some((b) => b.join('\0') === q.join('\0'))) return null;
    out.push(q);
  }
  return out.length ? out : null;
}

/**
 * The answer to args from the batch of location questions (asked now when not yet, and each
 * answer kept as its own fact), or undefined to ask git for args alone: another question, a
 * root the batch failed in, or an answer that did not come one line per question.
 */
function fromBatch(root: string, abs: string, args: string[]): string | null | undefined {
  const wanted = batchQuestions(args);
  if (!wanted || unbatched.has(abs)) return undefined;
  const keyOf = (q: string[]) => `${abs}\0${q.join('\0')}`;
  const answer = () => {
    const parts = wanted.map((q) => facts.get(keyOf(q)));
    if (parts.some((p) => !p || !existsSync(p.gitDir))) return undefined;
    return parts.map((p) => p!.out).join('');
  };
  const kept = answer();
  if (kept !== undefined) return kept;
  let out: string;
  try {
    out = execFileSync('git', ['rev-parse', '--absolute-git-dir', ...BATCHED.flat()], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    failed(abs, err);
    // Outside git, or no git: asking args alone would fail the same way.
    if (gitNotFound || outside.has(abs)) return null;
    unbatched.add(abs);
    return undefined;
  }
  const lines = out.split('\n');
  // A line per question after the git dir, and the final newline: else (a path with a line break) one by one.
  if (lines.length !== BATCHED.length + 2 || lines[lines.length - 1] !== '') {
    unbatched.add(abs);
    return undefined;
  }
  const gitDir = lines[0]!;
  BATCHED.forEach((q, i) => facts.set(keyOf(q), { gitDir, out: `${lines[i + 1]}\n` }));
  return answer();
}

/**
 * Why git could not tell where root's repository is, when the cause is that no `git` starts
 * here (not on PATH) while a repository is there: its questions all failed as if outside git,
 * and "not inside a git work tree" sent the user looking at a repository that is fine. Null
 * otherwise (git ran and found none, or nothing at or above root looks like one).
 */
export function gitMissingHere(root: string): string | null {
  if (!gitNotFound || !mayBecomeRepository(path.resolve(root))) return null;
  return `git not found on PATH, so the git repository at ${root} cannot be read or committed to; install git or put it on PATH`;
}

/** The absolute git dir of the repository holding root (`git rev-parse --git-dir` from root), or null outside git. */
export function gitDirOf(root: string): string | null {
  const out = revParseFact(root, ['--git-dir']);
  return out === null ? null : path.resolve(root, out.trim());
}

/**
 * The ref HEAD names (`refs/heads/main`), null when HEAD is detached or outside git, as `git
 * symbolic-ref -q HEAD` answers, read from the HEAD file of the git dir each time it is asked
 * (never kept: a checkout may move it at any moment). A run asked git twice per agent, and each
 * start of git from this process is a fork of a large Node process (most of a run's system
 * time). Undefined when the file does not tell (a reftable repository, whose HEAD file names
 * `refs/heads/.invalid`; an unreadable or unexpected HEAD): ask git.
 */
export function headRefFromFile(root: string): string | null | undefined {
  const gitDir = gitDirOf(root);
  if (gitDir === null) return null; // git would fail there as well
  let text: string;
  try {
    text = readFileSync(path.join(gitDir, 'HEAD'), 'utf8');
  } catch {
    return undefined;
  }
  const ref = /^ref:\s*(refs\/\S+)\s*$/.exec(text);
  if (ref) return ref[1] === 'refs/heads/.invalid' ? undefined : ref[1]!;
  return /^(?:[0-9a-f]{40}|[0-9a-f]{64})\s*$/.test(text) ? null : undefined;
}

export interface StatusEntry {
  /** Index state (X of porcelain v1). */
  x: string;
  /** Work-tree state (Y of porcelain v1). */
  y: string;
  /** Path relative to the top of the work tree. */
  path: string;
}

/** `git status --porcelain=v1 -z` output as entries (a rename's or copy's source path, its own field, skipped). */
export function parsePorcelainStatus(out: string): StatusEntry[] {
  const fields = out.split('\0');
  const entries: StatusEntry[] = [];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.length < 4) continue;
    entries.push({ x: f[0]!, y: f[1]!, path: f.slice(3) });
    if (f[0] === 'R' || f[0] === 'C') i++;
  }
  return entries;
}
