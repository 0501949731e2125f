// Issue 2 end to end: the built CLI (its main(), in this process: cliInProcess) on the Python fixture cases
// materialised into real temporary repositories — scan classification file by file,
// `run --all --no-validate --no-commit`, broken files in a batch, dry-run, diff, --force.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execaSync } from 'execa';
import { listCases, materialize, materializeAll, type FixtureCase } from './helpers/python-fixtures.js';
import { cliInProcess, ensureBuilt, hashTree, initGit, listFiles } from './helpers/cli.js';

// One repository holds one base: the cases written against the reference base run in python-fixtures and python-runtime-cases.
const cases = listCases().filter((c) => c.spec.base !== 'reference');
const temps: string[] = [];
const tmp = (dir: string) => (temps.push(dir), dir);

beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

type Expect = NonNullable<FixtureCase['spec']['expect']> & { unchanged?: boolean; error_line_range?: [number, number] };
const expectOf = (c: FixtureCase): Expect => (c.spec.expect ?? {}) as Expect;
const v2 = (rel: string) => rel.replace(/\.py$/, '_v2.py');
/** A case migrates to a new file: legacy, and its expected output differs from the input. */
/** The rewrite refuses it (a socket left on a port the base binds): failed, nothing written. */
const clashes = (c: FixtureCase) => Boolean(c.spec.expect?.rewrite_error_contains);
const migrates = (c: FixtureCase) => c.spec.scan?.status === 'legacy' && !expectOf(c).unchanged && !clashes(c);
/** Refused input (syntax error, not UTF-8, empty): scan lists it with an error. */
const refused = (c: FixtureCase) => Boolean(c.spec.expect?.error_contains);
// Extra repository files some cases bring (base classes next to the agents, a second agent of the
// fleet sharing a helper module with the case's agent).
type RepoFileWant = { status: string; reason_contains?: string; class?: string; warnings_contain?: string[] };
const repoScan = cases.flatMap((c) =>
  Object.entries(((c.spec as { repo_scan?: Record<string, RepoFileWant> }).repo_scan ?? {})).map(([file, want]) => ({ c, file, want })),
);
const repoAgents = repoScan.filter((r) => r.want.status === 'legacy');

interface ScanJson {
  agents: Array<{ name: string; file: string; language: string; class: string; status: string; findings: Array<{ kind: string; symbol: string; line: number }> }>;
  skipped: Array<{ file: string; reason: string }>;
}

interface RunJson {
  results: Array<Record<string, unknown>>;
  summary: Record<string, number>;
}

const STATUSES = ['migrated', 'unchanged', 'needs-review', 'skipped', 'failed'];
const FIELDS = ['agent', 'file', 'output', 'status', 'removed', 'removed_detail', 'kept_for_review', 'warnings', 'validation', 'commit', 'error'];

/** A symbol: a (dotted) name, `self.x`, an import, or a call the engine removed (`signal.signal(signal.SIGTERM)`); never `name (description)` or `name: statement`. */
const SYMBOL = /^(?:import [\w., ]+|(?:self\.)?[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*(?:\([^()]*\))?)$/;

/** The `run --json` contract of DESIGN.md, checked field by field. */
function expectRunContract(out: RunJson): void {
  // DESIGN.md's fields, extended (never renamed) by `profile`: which profile the run used and why, and
  // with --all by `units` when the repository has base migration units (their agents are no results),
  // and their count by status, `unit_summary`.
  expect(Object.keys(out).sort()).toEqual(['profile', 'results', 'summary', ...('units' in out ? ['units', 'unit_summary'] : [])].sort());
  for (const u of (out as unknown as { units?: Array<Record<string, unknown>> }).units ?? []) {
    // These runs pass --no-validate --no-commit, which never migrate a unit: refused, or ready saying why not.
    expect(Object.keys(u).sort()).toEqual(['base', 'blockers', 'language', 'members', 'name', 'reason', 'status']);
    expect(['refused', 'ready']).toContain(u.status);
    if (u.status === 'ready') expect(u.reason).toContain('not migrated by this run: a unit is migrated only together with');
  }
  const profile = (out as unknown as { profile: Record<string, unknown> }).profile;
  expect(Object.keys(profile).sort()).toEqual(['chosen_by', 'languages', 'name', 'reason']);
  expect(Object.keys(profile.languages as object).sort()).toEqual(['python', 'typescript']);
  expect(['flag', 'config', 'detected', 'default']).toContain(profile.chosen_by);
  for (const r of out.results) {
    const where = `result ${JSON.stringify(r.agent)}`;
    expect(Object.keys(r).sort(), where).toEqual([...FIELDS].sort());
    expect(typeof r.agent, where).toBe('string');
    expect(typeof r.file, where).toBe('string');
    expect(r.output === null || typeof r.output === 'string', where).toBe(true);
    expect(STATUSES, where).toContain(r.status);
    expect(Array.isArray(r.removed) && (r.removed as unknown[]).every((x) => typeof x === 'string'), where).toBe(true);
    expect(Array.isArray(r.warnings) && (r.warnings as unknown[]).every((x) => typeof x === 'string'), where).toBe(true);
    // `symbol` is a symbol; a description goes in `detail` (removed_detail for `removed`).
    for (const x of r.removed as string[]) expect(x, where).toMatch(SYMBOL);
    for (const d of r.removed_detail as Array<Record<string, unknown>>) {
      expect(Object.keys(d).sort(), where).toEqual(['detail', 'symbol']);
      expect(r.removed as string[], where).toContain(d.symbol);
    }
    for (const k of r.kept_for_review as Array<Record<string, unknown>>) {
      expect(Object.keys(k).filter((f) => f !== 'detail').sort(), where).toEqual(['line', 'reason', 'symbol']);
      expect(typeof k.symbol === 'string' && Number.isInteger(k.line) && typeof k.reason === 'string', where).toBe(true);
      expect(k.symbol, where).toMatch(SYMBOL);
    }
    expect(r.validation === null || typeof r.validation === 'object', where).toBe(true);
    expect(r.commit === null || /^[0-9a-f]{40}$/.test(String(r.commit)), where).toBe(true);
    expect(r.error === null || typeof r.error === 'string', where).toBe(true);
    if (r.status === 'failed') expect(typeof r.error, where).toBe('string');
  }
  const counts: Record<string, number> = {};
  for (const r of out.results) counts[r.status as string] = (counts[r.status as string] ?? 0) + 1;
  expect(out.summary).toEqual(counts);
}

describe('migrate scan --json on every fixture case in one repository', () => {
  let root: string;
  let scan: ScanJson;

  beforeAll(async () => {
    root = tmp(materializeAll(cases));
    const r = await cliInProcess(root, ['scan', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    scan = JSON.parse(r.stdout) as ScanJson;
  });

  it.each(cases.filter((c) => c.spec.scan).map((c) => [c.name, c] as const))('%s is classified as its case.yaml says', (_name, c) => {
    const want = c.spec.scan!;
    const agent = scan.agents.find((a) => a.file === c.rel);
    const skipped = scan.skipped.find((s) => s.file === c.rel);
    if (want.status === 'skipped') {
      expect(agent, `${c.rel} must not be an agent`).toBeUndefined();
      expect(skipped, `${c.rel} must be listed under skipped`).toBeDefined();
      expect(skipped!.reason.toLowerCase(), `${c.rel}: skip reason`).toContain(want.reason_contains!.toLowerCase());
      if (refused(c)) {
        // Refused files name file:line in the reason, on one line.
        const m = new RegExp(`^${c.rel.replace(/[.]/g, '\\.')}:(\\d+): `).exec(skipped!.reason);
        expect(m, `${c.rel}: reason "${skipped!.reason}" must start with file:line`).not.toBeNull();
        expect(skipped!.reason).not.toContain('\n');
        const line = Number(m![1]);
        const range = expectOf(c).error_line_range;
        if (c.spec.expect?.error_line) expect(line, c.rel).toBe(c.spec.expect.error_line);
        if (range) expect(line >= range[0] && line <= range[1], `${c.rel}: line ${line} outside ${range}`).toBe(true);
      }
    } else {
      expect(skipped, `${c.rel} must not be skipped (${skipped?.reason})`).toBeUndefined();
      expect(agent, `${c.rel} must be an agent`).toBeDefined();
      expect({ file: agent!.file, status: agent!.status, class: agent!.class }).toEqual({ file: c.rel, status: want.status, class: want.class });
      expect(agent!.language).toBe('python');
    }
  });

  // Intermediate parents (even ones already on BaseAgent) are base classes, not agents; another
  // agent of the fleet beside the case (status legacy) is an agent of its own.
  for (const { c, file, want } of repoScan) {
    if (want.status === 'legacy') {
      it(`${file} (repo file of ${c.name}) is a legacy agent (${want.class})`, () => {
        const a = scan.agents.find((x) => x.file === file);
        expect(a, `${file} must be an agent`).toBeDefined();
        expect({ status: a!.status, class: a!.class }).toEqual({ status: 'legacy', class: want.class });
      });
      continue;
    }
    it(`${file} (repo file of ${c.name}) is ${want.status}: "${want.reason_contains ?? ''}"`, () => {
      expect(scan.agents.find((a) => a.file === file), `${file} must not be an agent`).toBeUndefined();
      const s = scan.skipped.find((x) => x.file === file);
      expect(s, `${file} must be listed under skipped`).toBeDefined();
      expect(s!.reason).toContain(want.reason_contains ?? '');
    });
  }

  it("beats the seed's baseline `grep -L 'class .*BaseAgent'` on the same files", () => {
    // The baseline's verdict: a file grep -L lists needs migrating; the truth is case.yaml.
    const files = cases.filter((c) => c.spec.scan).map((c) => c.rel);
    const listed = new Set(
      execaSync('grep', ['-L', 'class .*BaseAgent', ...files], { cwd: root, reject: false })
        .stdout.split('\n')
        .filter(Boolean),
    );
    const wrongGrep: string[] = [];
    const wrongScan: string[] = [];
    for (const c of cases.filter((x) => x.spec.scan)) {
      const truth = c.spec.scan!.status === 'legacy';
      if (listed.has(c.rel) !== truth) wrongGrep.push(c.rel);
      const scanSays = scan.agents.some((a) => a.file === c.rel && a.status === 'legacy');
      if (scanSays !== truth) wrongScan.push(c.rel);
    }
    expect(wrongScan).toEqual([]);
    // The baseline lists tests, helpers, scripts, sidecars, empty files as agents to migrate
    // and misses agents reaching BaseAgent through an alias or parent.
    expect(wrongGrep).toEqual(
      expect.arrayContaining([
        'agents/proactive_suggestion_agent.py', // alias base
        'agents/code_generator_agent.py', // parent reaches BaseAgent
        'agents/test_memory_orchestrator.py',
        'agents/check_fleet_health.py',
        'agents/http_health_sidecar.py',
        'agents/music_recommender.py', // empty
      ]),
    );
    // 14 not-an-agent files listed as agents to migrate, 2 indirectly migrated agents missed.
    expect(wrongGrep.length, `grep misclassifies: ${wrongGrep.join(', ')}`).toBeGreaterThanOrEqual(10);
  });
});

describe('scan respects .gitignore', () => {
  const agentCase = () => cases.find((c) => c.name === 'constructor-no-params-while-true')!;
  function repoWithIgnoredAgent(): string {
    const root = tmp(materialize(agentCase()));
    mkdirSync(path.join(root, 'build', 'lib'), { recursive: true });
    copyFileSync(path.join(agentCase().dir, 'input.py'), path.join(root, 'build', 'lib', 'emotion_engine_copy.py'));
    writeFileSync(path.join(root, '.gitignore'), 'build/\n');
    return root;
  }

  for (const kind of ['git repository', 'plain directory'] as const) {
    it(`in a ${kind}: an agent under an ignored folder is not scanned`, async () => {
      const root = repoWithIgnoredAgent();
      if (kind === 'git repository') initGit(root);
      const r = await cliInProcess(root, ['scan', '--json']);
      expect(r.exitCode, r.stderr).toBe(0);
      const scan = JSON.parse(r.stdout) as ScanJson;
      const files = [...scan.agents.map((a) => a.file), ...scan.skipped.map((s) => s.file)];
      expect(files.filter((f) => f.startsWith('build/'))).toEqual([]);
      expect(scan.agents.map((a) => a.file)).toEqual([agentCase().rel]);
    });
  }
});

describe('migrate run --all --no-validate --no-commit', () => {
  const parseable = cases.filter((c) => !refused(c));

  it('writes every _v2 equal to expected.py, touches no original, follows the JSON contract; a port clash fails only its agent (exit 1)', async () => {
    const root = tmp(materializeAll(parseable));
    const before = hashTree(root);
    const r = await cliInProcess(root, ['run', '--all', '--no-validate', '--no-commit', '--json']);
    expect(r.exitCode, r.stderr).toBe(parseable.some(clashes) ? 1 : 0);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as RunJson;
    expectRunContract(out);
    for (const c of parseable.filter(clashes)) {
      const res = out.results.find((x) => x.file === c.rel)!;
      expect(res.status, c.rel).toBe('failed');
      expect(res.output, c.rel).toBeNull();
      // Named by file and line, with the reason the case expects (a port plan's clash, or another refusal).
      expect(String(res.error)).toMatch(new RegExp(`^${c.rel.replace(/[.]/g, '\\.')}:\\d+: `));
      expect(String(res.error)).toContain(String(c.spec.expect!.rewrite_error_contains));
    }

    // Originals byte for byte.
    const after = hashTree(root);
    for (const [f, h] of before) expect(after.get(f), `${f} changed`).toBe(h);
    // New files: exactly one _v2 per migrating case, equal to its expected.py.
    const created = [...after.keys()].filter((f) => !before.has(f) && !f.includes('__pycache__'));
    const besideAgents = repoAgents.filter((r) => parseable.includes(r.c));
    expect(created.sort()).toEqual([...parseable.filter(migrates).map((c) => v2(c.rel)), ...besideAgents.map((r) => v2(r.file))].sort());
    // A second agent of the fleet beside a case: migrated with the warnings it must carry.
    for (const { file, want } of besideAgents) {
      const res = out.results.find((x) => x.file === file);
      expect(res?.status, file).toBe('migrated');
      for (const w of want.warnings_contain ?? []) expect((res!.warnings as string[]).join('\n'), file).toContain(w);
    }
    for (const c of parseable.filter(migrates)) {
      const got = readFileSync(path.join(root, v2(c.rel)));
      expect(got.equals(readFileSync(c.expectedFile)), `${v2(c.rel)} differs from ${c.name}/expected.py`).toBe(true);
      const res = out.results.find((x) => x.file === c.rel)!;
      expect(res, c.rel).toBeDefined();
      expect(['migrated', 'needs-review'], c.rel).toContain(res.status);
      expect(res.output).toBe(v2(c.rel));
      expect(res.validation).toBeNull();
      expect(res.commit).toBeNull();
    }
    for (const c of parseable.filter((x) => expectOf(x).unchanged)) {
      const res = out.results.find((x) => x.file === c.rel)!;
      expect(res?.status, c.rel).toBe('unchanged');
      expect(res.output, c.rel).toBeNull();
    }
    // Not-agents produce no result at all.
    for (const c of parseable.filter((x) => x.spec.scan?.status === 'skipped')) {
      expect(out.results.find((x) => x.file === c.rel), c.rel).toBeUndefined();
    }
  }, 120_000);

  it('a batch with a syntax-broken, a non-UTF-8 and an empty file still migrates the others and exits 1 with one-line file:line errors', async () => {
    const good = ['tabs-indentation', 'crlf-line-endings', 'registration-with-retries'].map((n) => cases.find((c) => c.name === n)!);
    const bad = ['syntax-broken-self-paste', 'syntax-broken-injected-super', 'non-utf8-latin1', 'empty-file'].map((n) => cases.find((c) => c.name === n)!);
    const root = tmp(materializeAll([...good, ...bad]));
    const before = hashTree(root);
    const r = await cliInProcess(root, ['run', '--all', '--no-validate', '--no-commit', '--json']);
    expect(r.exitCode, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout) as RunJson;
    expectRunContract(out);
    for (const c of good) {
      expect(readFileSync(path.join(root, v2(c.rel))).equals(readFileSync(c.expectedFile)), `${c.name}: _v2 = expected.py`).toBe(true);
    }
    for (const c of bad) {
      const res = out.results.find((x) => x.file === c.rel);
      expect(res, `${c.rel} must have a result`).toBeDefined();
      expect(res!.status).toBe('failed');
      const err = String(res!.error);
      expect(err).not.toContain('\n');
      const m = new RegExp(`^${c.rel.replace(/[.]/g, '\\.')}:(\\d+): `).exec(err);
      expect(m, `${c.rel}: error "${err}" must start with file:line`).not.toBeNull();
      expect(err.toLowerCase()).toContain(c.spec.expect!.error_contains!.toLowerCase());
      if (c.spec.expect!.error_line) expect(Number(m![1]), err).toBe(c.spec.expect!.error_line);
      expect(existsSync(path.join(root, v2(c.rel))), `${v2(c.rel)} must not exist`).toBe(false);
    }
    const after = hashTree(root);
    for (const [f, h] of before) expect(after.get(f), `${f} changed`).toBe(h);

    // The human report names the broken file and line too.
    const human = await cliInProcess(root, ['run', '--all', '--no-validate', '--no-commit']);
    expect(human.exitCode).toBe(1);
    expect(human.stdout).toMatch(/failed .*agents\/model_evaluation_framework\.py:73: syntax error/);
  }, 90_000);
});

describe('dry run, diff, --force, rerun', () => {
  const picked = () => ['tabs-indentation', 'main-function-start'].map((n) => cases.find((c) => c.name === n)!);

  it('--dry-run writes nothing and prints unified diffs', async () => {
    const root = tmp(materializeAll(picked()));
    const before = listFiles(root);
    const hashes = hashTree(root);
    const r = await cliInProcess(root, ['run', '--all', '--dry-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(listFiles(root)).toEqual(before);
    expect(hashTree(root)).toEqual(hashes);
    for (const c of picked()) {
      expect(r.stdout).toContain(`--- ${c.rel}`);
      expect(r.stdout).toContain(`+++ ${v2(c.rel)}`);
    }
    expect(r.stdout).toMatch(/^@@ -\d+,\d+ \+\d+,\d+ @@/m);
    expect(r.stdout).toMatch(/^\+from common\.core\.base_agent import BaseAgent/m);
  });

  it('migrate diff prints the diff after a run; a different _v2 needs --force; a rerun is unchanged', async () => {
    const [tabs, mainStart] = picked() as [FixtureCase, FixtureCase];
    const root = tmp(materializeAll(picked()));
    const first = await cliInProcess(root, ['run', '--all', '--no-validate', '--no-commit', '--json']);
    expect(first.exitCode, first.stderr).toBe(0);

    const d = await cliInProcess(root, ['diff', 'CalendarAgent']);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(d.stdout).toContain(`--- ${tabs.rel}`);
    expect(d.stdout).toContain(`+++ ${v2(tabs.rel)}`);
    expect(d.stdout).toMatch(/^\+.*BaseAgent/m);

    // Rerun on an unchanged repository: every agent reports unchanged, nothing rewritten.
    const again = await cliInProcess(root, ['run', '--all', '--no-validate', '--no-commit', '--json']);
    expect(again.exitCode, again.stderr).toBe(0);
    const againOut = JSON.parse(again.stdout) as RunJson;
    expect(againOut.results.map((r) => [r.file, r.status])).toEqual(picked().map((c) => [c.rel, 'unchanged']).sort());

    // A hand-edited _v2 is not overwritten without --force.
    const target = path.join(root, v2(mainStart.rel));
    writeFileSync(target, '# edited by hand\n');
    const refusedRun = await cliInProcess(root, ['run', mainStart.rel, '--no-validate', '--no-commit', '--json']);
    expect(refusedRun.exitCode).toBe(1);
    const res = (JSON.parse(refusedRun.stdout) as RunJson).results[0]!;
    expect(res.status).toBe('failed');
    expect(String(res.error)).toContain(`${v2(mainStart.rel)} already exists and differs; pass --force`);
    expect(readFileSync(target, 'utf8')).toBe('# edited by hand\n');

    const forced = await cliInProcess(root, ['run', mainStart.rel, '--no-validate', '--no-commit', '--force', '--json']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(readFileSync(target).equals(readFileSync(mainStart.expectedFile))).toBe(true);
  }, 90_000);

  it('migrate diff of an agent without a _v2 is a one-line usage error', async () => {
    const root = tmp(materialize(picked()[0]!, mkdtempSync(path.join(os.tmpdir(), 'migrate-cli-diff-'))));
    const d = await cliInProcess(root, ['diff', 'CalendarAgent']);
    expect(d.exitCode).toBe(2);
    expect(d.stderr.trim().split('\n')).toHaveLength(1);
    expect(d.stderr).toContain('CalendarAgent has no agents/calendar_agent_v2.py yet');
  });
});
