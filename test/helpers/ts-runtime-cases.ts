// The TypeScript fixture cases marked `runtime: true` in case.yaml, started for real: the case's
// repository (its other files, a starter under bin/ say) in a temporary git repository with the
// reference base, the input at its path and expected.* (byte-equal to what the rewrite writes,
// typescript-fixtures checks that) as its _v2 sibling, then `migrate validate` on it: health,
// registry, metrics, survival, ports, clean SIGTERM shutdown, deregistration and no new ERROR
// lines must all pass. Shared by test/typescript-runtime-cases.test.ts and its parts -2 and -3
// (describeTsRuntimeCases): each runs every third case in a fork of its own.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi, type RunnerTask } from 'vitest';
import { tsFixtureCases } from './ts-fixture-cases.js';
import { capture, ensureBuilt, REPO } from './cli.js';
import { literalPorts, portTurns } from './literal-ports.js';

/** Every runtime case, in the order of tsFixtureCases. */
export const runtimeCases = tsFixtureCases().filter((c) => c.meta.runtime === true);

/**
 * The runtime cases of part `part` (1-based) of `parts`, every parts-th case: the parts together
 * are all of them, once. One file took 1,158 s of wall (126 CPU-s) in the full run of 2026-12-08
 * at load 23-38, the longest of the suite by far: 107 cases (36 on 2026-12-05), four at a time,
 * each mostly waiting on its agents' windows. In parts, each a test file of its own, they run in
 * forks side by side, as python-hardened's Phase 5 parts do; each part pays its own process, tool
 * modules and library declarations (a few CPU-s).
 */
export function describeTsRuntimeCases(part: number, parts: number): void {
  const cases = runtimeCases.filter((_, i) => i % parts === part - 1);

  // The cases run four at a time (it.concurrent below): each mostly waits on its agents (the legacy
  // baseline's 2 s window, the _v2's 4 s survival window), one after another they took ~157 s of a CI
  // run for ~50 CPU-s. Four, not three, since the launch compiles and scans cost less (this file's own
  // CPU 44.7 -> 34.3 s): alone at load 13-22 on 2026-12-05, the same CPU, 226 and 239 s wall at three,
  // 185 and 167 s at four. Each has its own repository, its own ports (validation allocates them) and
  // prints into its own streams (withInvocation alongside). The built tool's validate, as `migrate
  // validate` runs it: its TypeScript compiles go to the launch thread, so one case's compile never
  // holds the health probes and registry of another (from the sources they would run in this thread),
  // and this file loads none of the sources through vitest's transform.
  vi.setConfig({ maxConcurrency: 4 });
  type Dist = {
    validate: typeof import('../../src/commands/validate.js');
    invocation: typeof import('../../src/core/invocation.js');
    groups: typeof import('../../src/validate/process-group.js');
    profile: typeof import('../../src/profile/profile.js');
    project: typeof import('../../src/lang/typescript/project.js');
  };
  let dist: Dist;
  const roots: string[] = [];
  const survival = process.env.MIGRATE_SURVIVAL_WINDOW_S;
  let allDone: () => void = () => {};
  beforeAll(async (file) => {
    ensureBuilt();
    const load = (rel: string) => import(pathToFileURL(path.join(REPO, 'dist', 'src', rel)).href);
    dist = {
      validate: await load('commands/validate.js'),
      invocation: await load('core/invocation.js'),
      groups: await load('validate/process-group.js'),
      profile: await load('profile/profile.js'),
      project: await load('lang/typescript/project.js'),
    };
    // The survival window is the agent staying up; a few seconds show it here.
    process.env.MIGRATE_SURVIVAL_WINDOW_S = '4';
    // Each case's `migrate validate` scans its repository with the type checker, on the library
    // declarations (lib, @types/node) the process keeps. Kept only through a burst of TypeScript
    // work, they went whenever no scan had started for 10 s, so most cases here parsed and bound
    // them again, as one `migrate validate` process does once. Held as one run holds them.
    void dist.project.holdingLibraryDeclarations(() => new Promise<void>((resolve) => (allDone = resolve)));
    materializeAll(file);
  }, 180_000);
  afterAll(async () => {
    allDone();
    if (survival === undefined) delete process.env.MIGRATE_SURVIVAL_WINDOW_S;
    else process.env.MIGRATE_SURVIVAL_WINDOW_S = survival;
    // The launch thread, as `migrate` ends it when a command returns.
    await dist?.invocation.closeCommandLeftovers();
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  // Two cases binding the same literal port run one after the other (kept-server-health-env-passed-by-
  // entry and registry-own-env-var-quota both listen on 7311): see test/helpers/literal-ports.ts.
  const takePorts = portTurns();

  /** `migrate validate CLASS --json` on the case's repository: its exit code, stdout and stderr. */
  async function validate(root: string, cls: string): Promise<{ code: number; out: string; err: string }> {
    const [out, err] = [capture(), capture()];
    const code = await dist.invocation.withInvocation(
      { argv: ['validate', cls, '--json'], stdout: out.stream, stderr: err.stream },
      () => dist.validate.validateCommand([cls], { root, profile: 'base-agent', json: true }),
      { alongside: true },
    );
    return { code, out: out.text(), err: err.text() };
  }

  /** The case's repository (its files, the input at its path, expected.* as its _v2 sibling, the reference base), not yet a git repository. */
  function materialize(c: (typeof cases)[number]): string {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-runtime-'));
    roots.push(root);
    cpSync(c.dir, root, { recursive: true, filter: (src) => !/^(input|expected)\.[cm]?[jt]s$|^case\.yaml$/.test(path.relative(c.dir, src)) });
    const agent = path.join(root, c.meta.path);
    mkdirSync(path.dirname(agent), { recursive: true });
    writeFileSync(agent, readFileSync(path.join(c.dir, `input.${c.ext}`), 'utf8'));
    writeFileSync(path.join(root, dist.validate.v2Path(c.meta.path)), readFileSync(path.join(c.dir, `expected.${c.ext}`), 'utf8'));
    const base = path.join(root, 'common', 'core', 'base-agent.ts');
    if (!existsSync(base)) {
      mkdirSync(path.dirname(base), { recursive: true });
      cpSync(path.join(dist.profile.templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), base);
    }
    if (!existsSync(path.join(root, 'package.json'))) writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true }\n');
    return root;
  }

  /**
   * Every case's repository, each committed in a git repository of its own, made before the cases
   * start: one shell runs the git init, add and commit of all of them. Made in each case, those were
   * three processes started from this test process per case (321 over the file), and a start from
   * it costs in proportion to its memory (about 840 MB resident here: the tool's modules, the type
   * checker's declarations held): ~27 ms of this process's CPU per start at 800 MB, against one
   * shell's start. 21 cases alternated with the per-case starts (load 13-17): this process's CPU
   * 30.3 / 27.4 -> 26.1 s, with its children 45.4 -> 41.4 CPU-s.
   */
  const repoOf = new Map<string, string>();
  function materializeAll(file: RunnerTask): void {
    // Only the cases that run (a -t filter skips the others).
    const running = new Set<string>();
    const visit = (t: RunnerTask) => (t.type === 'suite' ? t.tasks.forEach(visit) : t.mode === 'run' && running.add(t.name));
    visit(file);
    for (const c of cases) if (running.has(c.name)) repoOf.set(c.name, materialize(c));
    commit([...repoOf.values()]);
  }

  function commit(repos: string[]): void {
    if (!repos.length) return;
    const script = 'for r; do cd "$r" && git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm fixture || exit 1; done';
    execFileSync('sh', ['-c', script, 'sh', ...repos], { stdio: 'ignore' });
  }

  /** The case's repository made before the cases started; a retried case gets a new one, as it did before. */
  function repoFor(c: (typeof cases)[number]): string {
    const made = repoOf.get(c.name);
    repoOf.delete(c.name);
    if (made) return made;
    const root = materialize(c);
    commit([root]);
    return root;
  }

  describe(`TypeScript fixture cases started for real, part ${part} of ${parts}`, () => {
    it('there are runtime cases', () => {
      expect(cases.length).toBeGreaterThan(0);
    });

    for (const c of cases) {
      // The test's own expect: assertions of concurrent tests are told apart by it.
      it.concurrent(c.name, async ({ expect }) => {
        const release = await takePorts(literalPorts(c.dir, (name) => name === 'case.yaml'));
        const { code, out, err } = await validate(repoFor(c), c.meta.class).finally(release);
        const report = JSON.parse(out).results[0];
        const failed = report.validation.checks.filter((k: { ok: boolean }) => !k.ok).map((k: { name: string; detail: string }) => `${k.name}: ${k.detail}`);
        expect(failed, err).toEqual([]);
        expect(report.validation.checks.map((k: { name: string }) => k.name)).toEqual(expect.arrayContaining(['health', 'registry', 'metrics', 'survival', 'shutdown', 'deregister', 'log']));
        expect(code).toBe(0);
      }, 120_000);
    }

    // Every agent a validation started is stopped and forgotten when it returns (checked after each
    // case when they ran one at a time; the cases overlap now, and a tree one of them left would
    // still be tracked here).
    it('no agent of any case is left running', () => {
      expect(dist.groups.liveGroups()).toEqual([]);
    });
  });
}
