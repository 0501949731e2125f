// Real temporary git repositories: per-agent commits, history from trailers,
// reverts (including after later agents and on conflict), tree checks.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { CommandFailure, MigrateError, UsageError } from '../src/core/errors.js';
import {
  checkTree,
  checkoutShardBranch,
  commitAgent,
  findMigrationCommit,
  readHistory,
  recordAtCommit,
  revertAgent,
} from '../src/record/git.js';
import { buildRecord, parseRecord, recordPath, sha256, validateRevertRecord, writeRecord } from '../src/record/migration-log.js';
import { computeStatus } from '../src/record/status.js';
import { revertCommand } from '../src/commands/revert.js';
import type { ScanResult, ValidationReport } from '../src/core/types.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  vi.restoreAllMocks();
});

function sh(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' });
}

const AGENTS = ['Alpha', 'Beta', 'Gamma'];
const legacyFile = (a: string) => `agents/${a.toLowerCase()}_agent.py`;
const v2File = (a: string) => `agents/${a.toLowerCase()}_agent_v2.py`;

/** The legacy fleet's repository, made once per identity option for this file and copied (with its .git) per test. */
const templates = new Map<boolean, string>();
afterAll(() => {
  for (const t of templates.values()) rmSync(t, { recursive: true, force: true });
});

function makeRepo(opts: { identity?: boolean } = {}): string {
  const identity = opts.identity !== false;
  let template = templates.get(identity);
  if (!template) {
    template = mkdtempSync(path.join(os.tmpdir(), 'migrate-record-template-'));
    templates.set(identity, template);
    sh(template, 'init', '-q', '-b', 'main');
    if (identity) {
      sh(template, 'config', 'user.name', 'Test');
      sh(template, 'config', 'user.email', 'test@example.com');
    }
    sh(template, 'config', 'commit.gpgsign', 'false');
    mkdirSync(path.join(template, 'agents'));
    for (const a of AGENTS) {
      writeFileSync(path.join(template, legacyFile(a)), `class ${a}Agent:\n    def run(self):\n        pass\n`);
    }
    writeFileSync(path.join(template, 'README.md'), '# fleet\n');
    if (identity) {
      sh(template, 'add', '-A');
      sh(template, 'commit', '-q', '-m', 'legacy fleet');
    }
  }
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-record-'));
  dirs.push(root);
  cpSync(template, root, { recursive: true });
  return root;
}

const okValidation: ValidationReport = {
  ok: true,
  ms: 812.5,
  checks: [
    { name: 'health', ok: true, ms: 40, detail: 'GET /health 200 {"status":"ok"}' },
    { name: 'registry', ok: true, ms: 310, detail: 'registered after 310 ms' },
    { name: 'metrics', ok: true, ms: 20, detail: '3 samples' },
    { name: 'shutdown', ok: true, ms: 120, detail: 'exited 0 after SIGTERM' },
    { name: 'log', ok: true, ms: 1, detail: 'no new ERROR lines', skipped: false },
  ],
  ports: { health: 40123, agent: 40124 },
};

/** What the pipeline does for one agent: write the _v2 file and the record, then commit both. */
async function migrate(root: string, agent: string, validation: ValidationReport | null = okValidation): Promise<string> {
  writeFileSync(path.join(root, v2File(agent)), `from common.core.base_agent import BaseAgent\n\nclass ${agent}Agent(BaseAgent):\n    pass\n`);
  const record = buildRecord(root, {
    agent,
    language: 'python',
    profile: 'base-agent',
    source: legacyFile(agent),
    output: v2File(agent),
    removed: ['_health_loop', 'start_health_server'],
    kept_for_review: [{ symbol: '_retry', line: 12, reason: 'used by poll()' }],
    warnings: [],
    validation,
  });
  const rec = writeRecord(root, record);
  return commitAgent(root, { agent, profile: 'base-agent', baseClass: 'BaseAgent', files: [v2File(agent), rec] });
}

const head = (root: string) => sh(root, 'rev-parse', 'HEAD').trim();
const porcelain = (root: string) => sh(root, 'status', '--porcelain', '--untracked-files=all');
const namesIn = (root: string, sha: string) => sh(root, 'show', '--name-only', '--format=', sha).trim().split('\n').sort();

describe('commitAgent', () => {
  it('makes one commit per agent containing only its _v2 file and record, with trailers', async () => {
    const root = makeRepo();
    const shas: string[] = [];
    for (const a of AGENTS) shas.push(await migrate(root, a));
    expect(new Set(shas).size).toBe(3);
    for (const [i, a] of AGENTS.entries()) {
      expect(namesIn(root, shas[i])).toEqual([v2File(a), `migration-log/${a}.json`].sort());
      expect(sh(root, 'log', '-1', '--format=%s', shas[i]).trim()).toBe(`migrate(${a}): move onto BaseAgent`);
      const trailers = sh(root, 'log', '-1', '--format=%(trailers:only,unfold)', shas[i]);
      expect(trailers).toContain(`Migrate-Agent: ${a}\n`);
      expect(trailers).toContain('Migrate-Profile: base-agent\n');
      expect(trailers).toMatch(/Migrate-Tool: migrate \d+\.\d+\.\d+/);
    }
    expect(sh(root, 'rev-list', '--count', 'HEAD').trim()).toBe('4');
    expect(porcelain(root)).toBe('');
  });

  it('keeps other staged and modified files out of the commit', async () => {
    const root = makeRepo();
    writeFileSync(path.join(root, 'notes.txt'), 'staged by someone else\n');
    sh(root, 'add', 'notes.txt');
    writeFileSync(path.join(root, 'README.md'), '# fleet, edited\n');
    const sha = await migrate(root, 'Alpha');
    expect(namesIn(root, sha)).toEqual([v2File('Alpha'), 'migration-log/Alpha.json'].sort());
    expect(porcelain(root)).toBe(' M README.md\nA  notes.txt\n');
  });

  it('commits without a configured identity, as migrate', async () => {
    const root = makeRepo({ identity: false });
    // simple-git drops ambient GIT_* variables, so hide the global config by moving HOME.
    const saved = { home: process.env.HOME, xdg: process.env.XDG_CONFIG_HOME };
    process.env.HOME = mkdtempSync(path.join(os.tmpdir(), 'migrate-home-'));
    dirs.push(process.env.HOME);
    delete process.env.XDG_CONFIG_HOME;
    try {
      expect(() => sh(root, 'config', 'user.name')).toThrow();
      const sha = await migrate(root, 'Beta');
      expect(sh(root, 'log', '-1', '--format=%an <%ae>', sha).trim()).toBe('migrate <migrate@localhost>');
      expect(namesIn(root, sha)).toEqual([v2File('Beta'), 'migration-log/Beta.json'].sort());
      expect(sh(root, 'config', '--local', '--list')).not.toContain('user.');
      // A name without an email is no identity either; both make the repository's own.
      sh(root, 'config', 'user.name', 'Only Name');
      const gamma = await migrate(root, 'Gamma');
      expect(sh(root, 'log', '-1', '--format=%an <%ae>', gamma).trim()).toBe('migrate <migrate@localhost>');
      sh(root, 'config', 'user.email', 'only@example.com');
      const alpha = await migrate(root, 'Alpha');
      expect(sh(root, 'log', '-1', '--format=%an <%ae>', alpha).trim()).toBe('Only Name <only@example.com>');
    } finally {
      for (const [k, v] of [['HOME', saved.home], ['XDG_CONFIG_HOME', saved.xdg]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('works when --root is a subdirectory of the work tree', async () => {
    const top = makeRepo();
    const root = path.join(top, 'svc');
    mkdirSync(path.join(root, 'agents'), { recursive: true });
    writeFileSync(path.join(root, legacyFile('Alpha')), 'class AlphaAgent:\n    pass\n');
    sh(top, 'add', 'svc');
    sh(top, 'commit', '-q', '-m', 'svc');
    const sha = await migrate(root, 'Alpha');
    expect(namesIn(top, sha)).toEqual([`svc/${v2File('Alpha')}`, 'svc/migration-log/Alpha.json'].sort());
    expect((await findMigrationCommit(root, 'Alpha'))?.sha).toBe(sha);
    await revertAgent(root, 'Alpha');
    expect(existsSync(path.join(root, v2File('Alpha')))).toBe(false);
    expect(existsSync(path.join(top, v2File('Alpha')))).toBe(false);
  });
});

describe('records', () => {
  it('match the commits: the committed files hash to what the record says', async () => {
    const root = makeRepo();
    for (const a of AGENTS) {
      const sha = await migrate(root, a);
      const record = await recordAtCommit(root, sha, a);
      expect(record).not.toBeNull();
      const committed = execFileSync('git', ['show', `${sha}:${record!.output.path}`], { cwd: root });
      expect(sha256(committed)).toBe(record!.output.sha256);
      const source = execFileSync('git', ['show', `${sha}:${record!.source.path}`], { cwd: root });
      expect(sha256(source)).toBe(record!.source.sha256);
      expect(record!.validation?.checks.map((c) => [c.name, c.ms])).toEqual(okValidation.checks.map((c) => [c.name, c.ms]));
      // the working-tree copy is byte-identical to the committed one
      expect(readFileSync(path.join(root, recordPath(a)), 'utf8')).toBe(sh(root, 'show', `${sha}:${recordPath(a)}`));
    }
  });
});

describe('history and revert', () => {
  it('reverts the first of three migrated agents and leaves the other two intact', async () => {
    const root = makeRepo();
    const shas: Record<string, string> = {};
    for (const a of AGENTS) shas[a] = await migrate(root, a);
    const betaBefore = readFileSync(path.join(root, v2File('Beta')), 'utf8');

    const { revertSha, migrationSha } = await revertAgent(root, 'Alpha', { now: new Date('2026-11-21T05:00:00Z') });
    expect(migrationSha).toBe(shas.Alpha);
    expect(head(root)).toBe(revertSha);
    expect(porcelain(root)).toBe('');
    expect(existsSync(path.join(root, v2File('Alpha')))).toBe(false);
    expect(existsSync(path.join(root, recordPath('Alpha')))).toBe(false);
    expect(existsSync(path.join(root, legacyFile('Alpha')))).toBe(true);
    for (const a of ['Beta', 'Gamma']) {
      expect(existsSync(path.join(root, v2File(a)))).toBe(true);
      expect(existsSync(path.join(root, recordPath(a)))).toBe(true);
    }
    expect(readFileSync(path.join(root, v2File('Beta')), 'utf8')).toBe(betaBefore);

    const revertRecord = 'migration-log/reverts/Alpha-20261121T050000Z.json';
    expect(namesIn(root, revertSha)).toEqual([v2File('Alpha'), recordPath('Alpha'), revertRecord].sort());
    const rr = JSON.parse(readFileSync(path.join(root, revertRecord), 'utf8'));
    validateRevertRecord(rr);
    expect(rr.reverted_commit).toBe(shas.Alpha);
    expect(rr.files.sort()).toEqual([v2File('Alpha'), recordPath('Alpha')].sort());
    const trailers = sh(root, 'log', '-1', '--format=%(trailers:only,unfold)', revertSha);
    expect(trailers).toContain('Migrate-Agent: Alpha\n');
    expect(trailers).toContain(`Migrate-Revert: ${shas.Alpha}\n`);

    expect(await findMigrationCommit(root, 'Alpha')).toBeNull();
    expect((await findMigrationCommit(root, 'Beta'))?.sha).toBe(shas.Beta);
    const h = await readHistory(root);
    expect(h.get('Alpha')?.state).toBe('reverted');
    expect(h.get('Alpha')?.last.sha).toBe(revertSha);
    expect(h.get('Gamma')?.state).toBe('committed');

    // migrated again after the revert: the new commit is the active one, and it reverts cleanly too
    const again = await migrate(root, 'Alpha');
    expect((await findMigrationCommit(root, 'Alpha'))?.sha).toBe(again);
    const second = await revertAgent(root, 'Alpha', { now: new Date('2026-11-21T05:10:00Z') });
    expect(second.migrationSha).toBe(again);
    expect(readdirSync(path.join(root, 'migration-log/reverts')).sort()).toEqual([
      'Alpha-20261121T050000Z.json',
      'Alpha-20261121T051000Z.json',
    ]);
  });

  it('refuses to revert twice, or an agent never migrated, with one clear line', async () => {
    const root = makeRepo();
    await migrate(root, 'Alpha');
    await revertAgent(root, 'Alpha');
    const before = head(root);
    await expect(revertAgent(root, 'Alpha')).rejects.toThrow(UsageError);
    await expect(revertAgent(root, 'Alpha')).rejects.toThrow(/^Alpha is already reverted \(by [0-9a-f]{12} on .*\); nothing to revert$/);
    await expect(revertAgent(root, 'Beta')).rejects.toThrow(/^Beta was never migrated: no commit with the trailer "Migrate-Agent: Beta"/);
    // a name that is a prefix of a migrated one is not confused with it
    await migrate(root, 'Gamma');
    await expect(revertAgent(root, 'Gam')).rejects.toThrow(/never migrated/);
    expect(head(root)).not.toBe(before); // Gamma's commit only
    expect(porcelain(root)).toBe('');
  });

  it('refuses a dirty tree and changes nothing', async () => {
    const root = makeRepo();
    await migrate(root, 'Alpha');
    writeFileSync(path.join(root, 'README.md'), '# edited but not committed\n');
    const [h, s] = [head(root), porcelain(root)];
    await expect(revertAgent(root, 'Alpha')).rejects.toThrow(/^refusing to revert Alpha: uncommitted changes \(README\.md\)/);
    expect(head(root)).toBe(h);
    expect(porcelain(root)).toBe(s);
    expect(existsSync(path.join(root, v2File('Alpha')))).toBe(true);

    sh(root, 'checkout', '--', 'README.md');
    writeFileSync(path.join(root, 'other.txt'), 'x\n');
    sh(root, 'add', 'other.txt');
    await expect(revertAgent(root, 'Alpha')).rejects.toThrow(/uncommitted changes \(other\.txt\)/);
    expect(porcelain(root)).toBe('A  other.txt\n');
  });

  it('aborts on a conflict, names the file, and leaves the repository exactly as it was', async () => {
    const root = makeRepo();
    await migrate(root, 'Alpha');
    await migrate(root, 'Beta');
    writeFileSync(path.join(root, v2File('Alpha')), 'class AlphaAgent:\n    hand_edited = True\n');
    sh(root, 'commit', '-q', '-am', 'hand edit of the migrated agent');
    writeFileSync(path.join(root, 'scratch.txt'), 'untracked, unrelated\n');
    const [h, s] = [head(root), porcelain(root)];
    const content = readFileSync(path.join(root, v2File('Alpha')), 'utf8');

    const err = await revertAgent(root, 'Alpha').catch((e) => e);
    expect(err).toBeInstanceOf(MigrateError);
    expect(err).not.toBeInstanceOf(UsageError);
    // It names the commit that changed the file since and the steps that undo the migration anyway.
    const edit = sh(root, 'rev-parse', '--short=12', 'HEAD').trim();
    const migration = (await readHistory(root)).get('Alpha')!.active!.sha.slice(0, 12);
    expect(err.message).toBe(
      `cannot revert Alpha: agents/alpha_agent_v2.py changed after ${migration} (in ${edit} "hand edit of the migrated agent") and conflicted; the revert was aborted and the repository is unchanged; ` +
        `to undo it anyway: \`git revert ${migration}\`, settle agents/alpha_agent_v2.py (\`git rm\` drops a _v2), then \`git revert --continue\` (migrate status counts a plain git revert)`,
    );
    expect(head(root)).toBe(h);
    expect(porcelain(root)).toBe(s);
    expect(readFileSync(path.join(root, v2File('Alpha')), 'utf8')).toBe(content);
    expect(existsSync(path.join(root, 'migration-log/reverts'))).toBe(false);
    expect(existsSync(path.join(sh(root, 'rev-parse', '--absolute-git-dir').trim(), 'REVERT_HEAD'))).toBe(false);
    // Beta is unaffected and still revertible
    sh(root, 'clean', '-fq', 'scratch.txt');
    await revertAgent(root, 'Beta');
    expect(existsSync(path.join(root, v2File('Beta')))).toBe(false);
    // The steps the message gives undo Alpha's migration, and the history then reads it reverted.
    expect(() => sh(root, 'revert', migration)).toThrow();
    sh(root, 'rm', '-q', v2File('Alpha'));
    execFileSync('git', ['-c', 'core.editor=true', 'revert', '--continue'], { cwd: root, stdio: 'ignore' });
    expect((await readHistory(root)).get('Alpha')!.state).toBe('reverted');
    expect(existsSync(path.join(root, 'migration-log/Alpha.json'))).toBe(false);
  });

  it('treats a plain git revert of a migration commit as a revert', async () => {
    const root = makeRepo();
    const sha = await migrate(root, 'Gamma');
    sh(root, 'revert', '--no-edit', sha);
    expect(await findMigrationCommit(root, 'Gamma')).toBeNull();
    expect((await readHistory(root)).get('Gamma')?.state).toBe('reverted');
    // and reverting that revert brings the migration back
    sh(root, 'revert', '--no-edit', 'HEAD');
    expect((await findMigrationCommit(root, 'Gamma'))?.sha).toBe(sha);
  });
});

describe('revertCommand', () => {
  it('resolves AGENT by class name, legacy path or _v2 path and prints the result', async () => {
    const root = makeRepo();
    const shas: Record<string, string> = {};
    for (const a of AGENTS) shas[a] = await migrate(root, a);
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));

    expect(await revertCommand(legacyFile('Alpha'), { root, json: true })).toBe(0);
    const json = JSON.parse(out[0]);
    expect(json).toEqual({ agent: 'Alpha', reverted: shas.Alpha, revert_commit: head(root) });

    expect(await revertCommand(`./${v2File('Beta')}`, { root })).toBe(0);
    expect(out[1]).toBe(`reverted Beta: migration commit ${shas.Beta.slice(0, 12)} undone by ${head(root).slice(0, 12)}\n`);

    expect(await revertCommand('Gamma', { root })).toBe(0);
    // after the revert only history knows Alpha; it is still resolved (and refused as already reverted)
    await expect(revertCommand(legacyFile('Alpha'), { root })).rejects.toThrow(/Alpha is already reverted/);
    await expect(revertCommand('agents/nothing.py', { root })).rejects.toThrow(/^agents\/nothing\.py: no migrated agent/);
    await expect(revertCommand('NeverMigrated', { root })).rejects.toThrow(/^NeverMigrated was never migrated/);
  });

  it('fails with exit code 1 and one line on a conflict', async () => {
    const root = makeRepo();
    await migrate(root, 'Alpha');
    writeFileSync(path.join(root, v2File('Alpha')), 'edited\n');
    sh(root, 'commit', '-q', '-am', 'edit');
    // The command throws its failure; the CLI prints it as one line (and, with --json, one error
    // document: test/faults/json-errors.test.ts).
    const failure = await revertCommand('Alpha', { root }).then(
      () => null,
      (e: unknown) => e as CommandFailure,
    );
    expect(failure).toBeInstanceOf(CommandFailure);
    expect(failure!.exitCode).toBe(1);
    expect(failure!.message).toMatch(/^cannot revert Alpha: agents\/alpha_agent_v2\.py changed after/);
    expect(failure!.message.split('\n')).toHaveLength(1);
    expect(sh(root, 'status', '--porcelain')).toBe('');
  });
});

describe('checkTree', () => {
  it('reads the tree without writing the index (no optional lock; racily clean entries stay as they are)', async () => {
    const root = makeRepo();
    const index = path.join(root, '.git', 'index');
    // A tracked file touched, its content unchanged: a plain `git status` would refresh its stat
    // data and rewrite the index under index.lock.
    const later = new Date(Date.now() + 5000);
    utimesSync(path.join(root, 'README.md'), later, later);
    const before = statSync(index).mtimeMs;
    const bytes = readFileSync(index);
    await expect(checkTree(root, [v2File('Alpha')], {})).resolves.toBeUndefined();
    expect(statSync(index).mtimeMs).toBe(before);
    expect(readFileSync(index).equals(bytes)).toBe(true);
  });

  it('passes a clean tree and refuses each kind of dirt with one line', async () => {
    const root = makeRepo();
    const writes = [v2File('Alpha'), recordPath('Alpha')];
    await expect(checkTree(root, writes, {})).resolves.toBeUndefined();

    writeFileSync(path.join(root, 'unrelated.txt'), 'x\n');
    await expect(checkTree(root, writes, {})).rejects.toThrow(/^refusing to start: untracked files \(unrelated\.txt\); .*--allow-dirty$/);
    await expect(checkTree(root, writes, { allowDirty: true })).resolves.toBeUndefined();

    writeFileSync(path.join(root, v2File('Alpha')), 'leftover\n');
    await expect(checkTree(root, writes, { allowDirty: true })).rejects.toThrow(
      /^refusing to start: agents\/alpha_agent_v2\.py \(untracked\) would be written by this run/,
    );
    rmSync(path.join(root, v2File('Alpha')));

    writeFileSync(path.join(root, 'README.md'), 'edited\n');
    await expect(checkTree(root, writes, { allowDirty: true })).rejects.toThrow(/^refusing to start: uncommitted changes to tracked files \(README\.md\)/);
    sh(root, 'add', 'README.md');
    await expect(checkTree(root, writes, { allowDirty: true })).rejects.toThrow(/^refusing to start: staged changes in the index \(README\.md\)/);
  });

  it('refuses a committed _v2 file that was modified, and a directory that is not a repository', async () => {
    const root = makeRepo();
    await migrate(root, 'Alpha');
    writeFileSync(path.join(root, v2File('Alpha')), 'changed\n');
    await expect(checkTree(root, [v2File('Alpha')], { allowDirty: true })).rejects.toThrow(/\(modified\) would be written/);
    const plain = mkdtempSync(path.join(os.tmpdir(), 'migrate-nogit-'));
    dirs.push(plain);
    await expect(checkTree(plain, [], {})).rejects.toThrow(/is not inside a git work tree/);
  });

  it('refuses a merge, revert, cherry-pick or rebase in progress, from the top and from a subdirectory', async () => {
    const root = makeRepo();
    const gitDir = path.join(root, '.git');
    await expect(checkTree(root, [], {})).resolves.toBeUndefined();
    for (const [marker, word] of [
      ['MERGE_HEAD', 'merge'],
      ['REVERT_HEAD', 'revert'],
      ['CHERRY_PICK_HEAD', 'cherry_pick'],
      ['rebase-merge', 'rebase'],
      ['rebase-apply', 'rebase'],
    ] as const) {
      if (marker.startsWith('rebase')) mkdirSync(path.join(gitDir, marker));
      else writeFileSync(path.join(gitDir, marker), `${head(root)}\n`);
      for (const at of [root, path.join(root, 'agents')]) {
        await expect(checkTree(at, [], {}), `${marker} from ${at}`).rejects.toThrow(new RegExp(`^a git ${word} is in progress in ${at}; finish or abort it first$`));
      }
      rmSync(path.join(gitDir, marker), { recursive: true });
    }
    await expect(checkTree(path.join(root, 'agents'), [], {})).resolves.toBeUndefined();
  });
});

describe('status rows', () => {
  it('gives each state: legacy, migrated, validated, committed, reverted (and history-only agents)', async () => {
    const root = makeRepo();
    // Delta and Epsilon are two more legacy agents
    for (const a of ['Delta', 'Epsilon']) writeFileSync(path.join(root, legacyFile(a)), `class ${a}Agent:\n    pass\n`);
    sh(root, 'add', 'agents');
    sh(root, 'commit', '-q', '-m', 'more agents');
    const alpha = await migrate(root, 'Alpha'); // committed
    await migrate(root, 'Beta');
    const { revertSha } = await revertAgent(root, 'Beta'); // reverted
    // Gamma: _v2 written, validated, record written, not committed
    writeFileSync(path.join(root, v2File('Gamma')), 'class GammaAgent(BaseAgent):\n    pass\n');
    writeRecord(root, buildRecord(root, {
      agent: 'Gamma', language: 'python', profile: 'base-agent', source: legacyFile('Gamma'), output: v2File('Gamma'),
      removed: [], kept_for_review: [], warnings: [], validation: okValidation,
    }));
    // Delta: _v2 written only (e.g. --no-validate --no-commit without a record)
    writeFileSync(path.join(root, v2File('Delta')), 'class DeltaAgent(BaseAgent):\n    pass\n');
    // Epsilon: legacy. Beta is absent from the scan: known from history only.
    const scan: ScanResult = {
      agents: ['Alpha', 'Gamma', 'Delta', 'Epsilon'].map((a, i) => ({
        name: a, file: legacyFile(a), language: 'python' as const, class: `${a}Agent`, status: 'legacy' as const,
        findings: [], line: 1, evidence: [], ...(i < 3 ? { output: v2File(a) } : {}),
      })),
      skipped: [],
    };
    const rows = await computeStatus(root, scan, await readHistory(root));
    const by = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(Object.keys(by).sort()).toEqual(['Alpha', 'Beta', 'Delta', 'Epsilon', 'Gamma']);
    expect(by.Alpha).toMatchObject({ state: 'committed', commit: alpha, file: legacyFile('Alpha') });
    expect(by.Alpha.time).toBe(sh(root, 'log', '-1', '--format=%cI', alpha).trim());
    expect(by.Beta).toMatchObject({ state: 'reverted', commit: revertSha, file: legacyFile('Beta') });
    expect(by.Gamma).toMatchObject({ state: 'validated', commit: null });
    expect(by.Delta).toMatchObject({ state: 'migrated', commit: null });
    expect(by.Epsilon).toEqual({ name: 'Epsilon', file: legacyFile('Epsilon'), state: 'legacy', commit: null, time: null });

    // a record whose validation failed is only "migrated"
    writeRecord(root, { ...parseRecord(readFileSync(path.join(root, recordPath('Gamma')), 'utf8'), 'g'),
      validation: { ...okValidation, ok: false, checks: [{ name: 'health', ok: false, ms: 5, detail: 'refused' }] } });
    const rows2 = await computeStatus(root, scan, await readHistory(root));
    expect(rows2.find((r) => r.name === 'Gamma')?.state).toBe('migrated');
  });
});

describe('shard branches', () => {
  it('creates the shard branch from HEAD, then reuses it', async () => {
    const root = makeRepo();
    expect(await checkoutShardBranch(root, '2/4')).toEqual({ branch: 'migrate/shard-2-of-4', created: true });
    expect(sh(root, 'branch', '--show-current').trim()).toBe('migrate/shard-2-of-4');
    const sha = await migrate(root, 'Alpha');
    sh(root, 'checkout', '-q', 'main');
    expect(await checkoutShardBranch(root, '2/4')).toEqual({ branch: 'migrate/shard-2-of-4', created: false });
    expect(head(root)).toBe(sha);
    await expect(checkoutShardBranch(root, '5/4')).rejects.toThrow(UsageError);
  });
});

describe('statusCommand', () => {
  it('lists the scanned agents and history-only ones, as a table and as JSON', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-status-'));
    dirs.push(root);
    sh(root, 'init', '-q', '-b', 'main');
    sh(root, 'config', 'user.name', 'Test');
    sh(root, 'config', 'user.email', 'test@example.com');
    mkdirSync(path.join(root, 'agents'));
    const fixture = readFileSync(new URL('../fixtures/python/http-health-nested-handler/input.py', import.meta.url), 'utf8');
    writeFileSync(path.join(root, 'agents/tts_connector.py'), fixture);
    writeFileSync(path.join(root, 'agents/other_connector.py'), fixture.replace(/class TTSConnector\b/, 'class OtherConnector'));
    sh(root, 'add', '-A');
    sh(root, 'commit', '-q', '-m', 'fleet');
    const { statusCommand } = await import('../src/commands/status.js');
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));

    expect(await statusCommand({ root, profile: 'base-agent', json: true })).toBe(0);
    const before = JSON.parse(out.pop()!);
    expect(before.agents.map((a: { name: string; state: string }) => [a.name, a.state])).toEqual([
      ['OtherConnector', 'legacy'],
      ['TTSConnector', 'legacy'],
    ]);

    // commit a migration of TTSConnector by hand-built record, the way the pipeline does
    writeFileSync(path.join(root, 'agents/tts_connector_v2.py'), fixture);
    const rec = writeRecord(root, buildRecord(root, {
      agent: 'TTSConnector', language: 'python', profile: 'base-agent', source: 'agents/tts_connector.py',
      output: 'agents/tts_connector_v2.py', removed: [], kept_for_review: [], warnings: [], validation: null,
    }));
    const sha = await commitAgent(root, { agent: 'TTSConnector', profile: 'base-agent', baseClass: 'BaseAgent', files: ['agents/tts_connector_v2.py', rec] });
    expect(await statusCommand({ root, profile: 'base-agent', json: true })).toBe(0);
    const after = JSON.parse(out.pop()!);
    expect(after.agents).toContainEqual({
      name: 'TTSConnector', file: 'agents/tts_connector.py', state: 'committed', commit: sha,
      time: sh(root, 'log', '-1', '--format=%cI', sha).trim(),
    });
    expect(Object.keys(after.agents[0])).toEqual(['name', 'file', 'state', 'commit', 'time']);

    // revert by the name the startup config gives the agent (found by the real scanner)
    writeFileSync(path.join(root, 'startup_config.yaml'), 'agent_groups:\n  speech:\n    StreamingTTSAgent:\n      script_path: agents/tts_connector.py\n      port: 5590\n');
    sh(root, 'add', 'startup_config.yaml');
    sh(root, 'commit', '-q', '-m', 'startup config');
    expect(await revertCommand('StreamingTTSAgent', { root, json: true })).toBe(0);
    expect(JSON.parse(out.pop()!)).toMatchObject({ agent: 'TTSConnector', reverted: sha });
    expect(await statusCommand({ root, profile: 'base-agent' })).toBe(0);
    const table = out.pop()!;
    expect(table).toMatch(/^AGENT\s+STATE\s+COMMIT\s+TIME\s+FILE$/m);
    expect(table).toMatch(/^TTSConnector\s+reverted\s+[0-9a-f]{12}\s+\S+\s+agents\/tts_connector\.py$/m);
    expect(table).toMatch(/^OtherConnector\s+legacy\s+-\s+-\s+agents\/other_connector\.py$/m);
    expect(table).toContain('2 agents: 1 legacy, 1 reverted');
  });
});
