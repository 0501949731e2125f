// Which profile a command uses without --profile (src/profile/choose.ts): `profile:` in
// .migrate/config.yaml, else the one profile besides base-agent whose base class the repository
// defines where that profile imports it from (or which its files import), else base-agent.
// Before, every command without --profile used base-agent: `run --all` on a seed-001 repository
// holding amoskys/agents/common/base.py wrote ProcAgent(BaseAgent) importing
// common.core.base_agent (a module the repository does not have) and reported it migrated.
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { REPO, cliInProcess, commitAll, git, demoFleetRepos, ensureBuilt, gitRepo, tempDirsOfThisFile } from './helpers/cli.js';

const temps = tempDirsOfThisFile();
// The in-process commands scan and rewrite TypeScript agents with the type checker, on the library
// declarations (lib, @types/node) the process keeps only while TypeScript work asked for one in the
// last 10 s: the Python work, git and validations between one command's TypeScript and the next took
// longer, so most commands parsed and bound them again. Held for the file, as one run holds them
// (the built tool's module, the one the in-process CLI loads).
let allDone: () => void = () => {};
beforeAll(async () => {
  ensureBuilt();
  const project = (await import(pathToFileURL(path.join(REPO, 'dist', 'src', 'lang', 'typescript', 'project.js')).href)) as typeof import('../src/lang/typescript/project.js');
  void project.holdingLibraryDeclarations(() => new Promise<void>((resolve) => (allDone = resolve)));
}, 180_000);
afterAll(() => allDone());

const HARDENED = path.join(REPO, 'fixtures', 'python-hardened');
const demoRepo = demoFleetRepos(temps, 'migrate-profile-choice-demo-');

type LanguageJson = { name: string; chosen_by: string; reason: string };
type ProfileJson = LanguageJson & { languages: { python: LanguageJson; typescript: LanguageJson } };

/** A seed-001 repository: the fleet's support modules, the reference HardenedAgentBase (`init --profile hardened-agent-base`) and ProcAgent. */
async function hardenedRepo(under = ''): Promise<string> {
  const root = gitRepo(undefined, 'migrate-profile-choice-');
  temps.push(root);
  const top = path.join(root, under);
  mkdirSync(top, { recursive: true });
  cpSync(path.join(HARDENED, '_support'), top, { recursive: true, filter: (p) => !p.includes('__pycache__') && !p.endsWith('README.md') });
  cpSync(path.join(REPO, 'templates', 'runtime', 'python', 'amoskys'), path.join(top, 'amoskys'), { recursive: true });
  mkdirSync(path.join(top, 'amoskys', 'agents', 'proc'), { recursive: true });
  cpSync(path.join(HARDENED, 'proc-agent-grpc', 'input.py'), path.join(top, 'amoskys', 'agents', 'proc', 'proc_agent.py'));
  commitAll(root, 'seed-001 fleet');
  return root;
}

async function scanProfile(root: string, args: string[] = []): Promise<{ profile: ProfileJson; agents: Array<{ class: string; status: string }>; stderr: string }> {
  const r = await cliInProcess(root, ['scan', '--json', '--verbose', ...args]);
  expect(r.exitCode, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout) as { profile: ProfileJson; agents: Array<{ class: string; status: string }> };
  return { ...out, stderr: r.stderr };
}

function pin(root: string, text: string): void {
  mkdirSync(path.join(root, '.migrate'), { recursive: true });
  writeFileSync(path.join(root, '.migrate', 'config.yaml'), text);
  commitAll(root, 'pin the profile');
}

describe('the profile without --profile', () => {
  it('a seed-001 repository holding HardenedAgentBase at amoskys/agents/common/base.py: hardened-agent-base, for scan, run, diff and status', async () => {
    const root = await hardenedRepo();
    const scan = await scanProfile(root);
    expect(scan.profile).toMatchObject({ name: 'hardened-agent-base', chosen_by: 'detected' });
    expect(scan.profile.reason).toContain('amoskys/agents/common/base.py');
    expect(scan.stderr).toMatch(/profile hardened-agent-base \(.*\), detected: HardenedAgentBase is defined in amoskys\/agents\/common\/base\.py/);
    expect(scan.agents.map((a) => [a.class, a.status])).toEqual([['ProcAgent', 'legacy']]);

    const run = await cliInProcess(root, ['run', '--all', '--no-validate', '--no-commit', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { results: Array<{ agent: string; status: string }>; profile: ProfileJson };
    expect(out.profile).toMatchObject({ name: 'hardened-agent-base', chosen_by: 'detected' });
    expect(out.results.map((r) => [r.agent, r.status])).toEqual([['ProcAgent', 'migrated']]);
    // The same rewrite as `--profile hardened-agent-base` (the fixture's expected output).
    expect(readFileSync(path.join(root, 'amoskys', 'agents', 'proc', 'proc_agent_v2.py'), 'utf8')).toBe(
      readFileSync(path.join(HARDENED, 'proc-agent-grpc', 'expected.py'), 'utf8'),
    );
    const diff = await cliInProcess(root, ['diff', 'ProcAgent']);
    expect(diff.exitCode, diff.stderr).toBe(0);
    expect(diff.stdout).toContain('+class ProcAgent(HardenedAgentBase):');
    const status = await cliInProcess(root, ['status', '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { profile: ProfileJson }).profile).toMatchObject({ name: 'hardened-agent-base', chosen_by: 'detected' });
  }, 120_000);

  it('the base under a source folder (src/amoskys/...), or only imported by an agent of the repository', async () => {
    const src = await hardenedRepo('src');
    const bySrc = await scanProfile(src);
    expect(bySrc.profile).toMatchObject({ name: 'hardened-agent-base', chosen_by: 'detected' });
    expect(bySrc.profile.reason).toContain('src/amoskys/agents/common/base.py');

    // No base in the repository: one file already imports it (an agent on HardenedAgentBase beside a legacy one).
    const root = gitRepo(undefined, 'migrate-profile-choice-import-');
    temps.push(root);
    mkdirSync(path.join(root, 'amoskys', 'agents', 'mem'), { recursive: true });
    cpSync(path.join(HARDENED, 'swap-agent-beside-migrated', 'input.py'), path.join(root, 'amoskys', 'agents', 'mem', 'memory_agents.py'));
    commitAll(root, 'fleet');
    const byImport = await scanProfile(root);
    expect(byImport.profile).toMatchObject({ name: 'hardened-agent-base', chosen_by: 'detected' });
    expect(byImport.profile.reason).toBe(
      'amoskys/agents/mem/memory_agents.py imports HardenedAgentBase from amoskys.agents.common.base, the base of hardened-agent-base; --profile or profile: in .migrate/config.yaml chooses another',
    );
    // The file's agent is the legacy one its entry point starts (MemoryPressureAgent is on the base already).
    expect(byImport.agents.map((a) => [a.class, a.status])).toEqual([['SwapActivityAgent', 'legacy']]);
  }, 120_000);

  it('the demo fleet (seed 000) and a TypeScript agent on BaseService keep base-agent, exactly as with --profile base-agent', async () => {
    const root = await demoRepo();
    const tsDir = path.join(REPO, 'fixtures', 'typescript', 'base-service-init-health-and-setup');
    cpSync(path.join(tsDir, 'lib'), path.join(root, 'lib'), { recursive: true });
    cpSync(path.join(tsDir, 'input.ts'), path.join(root, 'agents', 'scan-forwarder.ts'));
    commitAll(root, 'a TypeScript agent on the old BaseService');
    const auto = await scanProfile(root);
    const auto1 = { name: 'base-agent', chosen_by: 'default', reason: "the default: no other profile's base class is defined or imported in the repository" };
    expect(auto.profile).toEqual({ ...auto1, languages: { python: auto1, typescript: auto1 } });
    const explicit = await scanProfile(root, ['--profile', 'base-agent']);
    const flag1 = { name: 'base-agent', chosen_by: 'flag', reason: '--profile base-agent' };
    expect(explicit.profile).toEqual({ ...flag1, languages: { python: flag1, typescript: flag1 } });
    expect(auto.agents).toEqual(explicit.agents);
    expect(auto.agents.find((a) => a.class === 'ScanForwarder')).toMatchObject({ status: 'legacy' });
    // The base-to-base profile still applies to the TypeScript agent in a run without --profile.
    const run = await cliInProcess(root, ['run', 'ScanForwarder', '--dry-run', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { results: Array<{ agent: string; status: string; diff: string }>; profile: ProfileJson };
    expect(out.profile.name).toBe('base-agent');
    expect(out.results[0]!.diff).toContain('extends BaseAgent');
  }, 180_000);

  it('profile: in .migrate/config.yaml wins over detection, --profile over both; a bad pin is one line naming file:line', async () => {
    const root = await hardenedRepo();
    pin(root, '# the fleet is moved onto BaseAgent first\nprofile: base-agent\n');
    const pinned = await scanProfile(root);
    // The pin and the flag choose for every language (the repository's TypeScript files included).
    const pin1 = { name: 'base-agent', chosen_by: 'config', reason: `profile: base-agent in ${path.join(root, '.migrate', 'config.yaml')}:2` };
    expect(pinned.profile).toEqual({ ...pin1, languages: { python: pin1, typescript: pin1 } });
    const flag = await scanProfile(root, ['--profile', 'hardened-agent-base']);
    const flag1 = { name: 'hardened-agent-base', chosen_by: 'flag', reason: '--profile hardened-agent-base' };
    expect(flag.profile).toEqual({ ...flag1, languages: { python: flag1, typescript: flag1 } });

    for (const [text, message] of [
      ['promote:\n  mode: replace\nprofile: hardened-agents\n', /^migrate: .*config\.yaml:3: profile: unknown profile "hardened-agents" \(known: base-agent, base-service, hardened-agent-base\)$/],
      ['profile: [base-agent]\n', /^migrate: .*config\.yaml:1: profile must be a profile name [^\n]*$/],
    ] as const) {
      pin(root, text);
      for (const cmd of [['scan'], ['status'], ['run', '--all', '--dry-run']]) {
        const r = await cliInProcess(root, cmd);
        expect(r.exitCode, `${cmd.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(message);
      }
      // An explicit flag does not read the pin.
      const r = await cliInProcess(root, ['scan', '--profile', 'hardened-agent-base']);
      expect(r.exitCode, r.stderr).toBe(0);
    }
  }, 120_000);

  it('two profiles whose bases the repository holds: the default stays, and says which matched', async () => {
    const root = await hardenedRepo();
    // The team's own profile for a second base, defined where that profile imports it from.
    const own = YAML.parse(readFileSync(path.join(REPO, 'templates', 'profiles', 'hardened-agent-base.yaml'), 'utf8')) as Record<string, any>;
    own.name = 'sensor-base';
    own.base_class = 'SensorBase';
    own.python = { ...own.python, module: 'sensors.base', import: 'from sensors.base import SensorBase', source: 'sensors/base.py' };
    delete own.python.runtime_template;
    delete own.python.runtime_companions;
    mkdirSync(path.join(root, '.migrate', 'profiles'), { recursive: true });
    writeFileSync(path.join(root, '.migrate', 'profiles', 'sensor-base.yaml'), YAML.stringify(own));
    mkdirSync(path.join(root, 'sensors'));
    writeFileSync(path.join(root, 'sensors', '__init__.py'), '');
    writeFileSync(path.join(root, 'sensors', 'base.py'), 'class SensorBase:\n    """Our own sensor loop."""\n\n    def run(self):\n        raise NotImplementedError\n');
    commitAll(root, 'a second base');
    const scan = await scanProfile(root);
    expect(scan.profile.name).toBe('base-agent');
    expect(scan.profile.chosen_by).toBe('default');
    expect(scan.profile.reason).toBe(
      'the default: the repository matches 2 profiles, sensor-base (SensorBase is defined in sensors/base.py, where sensor-base imports it from (sensors.base)); hardened-agent-base (HardenedAgentBase is defined in amoskys/agents/common/base.py, where hardened-agent-base imports it from (amoskys.agents.common.base)); choose one with --profile or profile: in .migrate/config.yaml',
    );
    expect(scan.stderr).toContain('profile base-agent (');
    expect(scan.stderr).toContain('default: the repository matches 2 profiles');
  }, 120_000);

  it('a seed-001 repository that also holds a TypeScript agent: hardened-agent-base for its Python files, base-agent for its TypeScript files', async () => {
    const root = await hardenedRepo();
    const tsDir = path.join(REPO, 'fixtures', 'typescript', 'base-service-init-health-and-setup');
    cpSync(path.join(tsDir, 'lib'), path.join(root, 'lib'), { recursive: true });
    mkdirSync(path.join(root, 'agents'));
    cpSync(path.join(tsDir, 'input.ts'), path.join(root, 'agents', 'scan-forwarder.ts'));
    commitAll(root, 'a TypeScript agent');
    const scan = await scanProfile(root);
    // Before: the whole repository stayed on base-agent, and ProcAgent was rewritten onto BaseAgent.
    expect(scan.profile).toMatchObject({ name: 'hardened-agent-base', chosen_by: 'detected' });
    expect(scan.profile.languages.python).toEqual({ name: scan.profile.name, chosen_by: scan.profile.chosen_by, reason: scan.profile.reason });
    expect(scan.profile.languages.typescript).toEqual({
      name: 'base-agent',
      chosen_by: 'default',
      reason: 'hardened-agent-base, detected for the Python files, has no typescript section: TypeScript and JavaScript files keep the default',
    });
    expect(scan.stderr).toContain('profile for TypeScript and JavaScript files: base-agent (');
    expect(scan.agents.find((a) => a.class === 'ScanForwarder')).toMatchObject({ status: 'legacy' });
    expect(scan.agents.find((a) => a.class === 'ProcAgent')).toMatchObject({ status: 'legacy' });
  }, 60_000);

  it('a seed-000 fleet beside a hardened one (both bases defined): each agent onto its own base, validated, and a second run is a no-op', async () => {
    // Before: every Python agent went to hardened-agent-base; KVCacheAgent came back needs-review
    // ("the entry point still calls run() and never run_forever()"), no _v2 written.
    const root = await hardenedRepo();
    cpSync(path.join(REPO, 'templates', 'runtime', 'python', 'common'), path.join(root, 'common'), { recursive: true });
    mkdirSync(path.join(root, 'agents'));
    for (const f of ['kv_cache_agent.py', 'fleet_common.py']) cpSync(path.join(REPO, 'fixtures', 'demo-fleet', 'agents', f), path.join(root, 'agents', f));
    commitAll(root, 'a seed-000 fleet beside');
    const scan = await scanProfile(root);
    expect(scan.profile).toMatchObject({ name: 'hardened-agent-base', chosen_by: 'detected' });
    expect(scan.profile.reason).toContain('BaseAgent (base-agent\'s base) is defined in common/core/base_agent.py too: hardened-agent-base takes the Python files under amoskys/, the other Python files keep base-agent');
    expect(scan.agents.map((a) => [a.class, a.status]).sort()).toEqual([['KVCacheAgent', 'legacy'], ['ProcAgent', 'legacy']]);

    const kv = await cliInProcess(root, ['run', 'KVCacheAgent', '--json']);
    const kvOut = JSON.parse(kv.stdout) as { results: Array<{ status: string; output: string; validation: { ok: boolean } | null }> };
    expect(kvOut.results[0], kv.stderr).toMatchObject({ status: 'migrated', output: 'agents/kv_cache_agent_v2.py', validation: { ok: true } });
    const kvV2 = readFileSync(path.join(root, 'agents', 'kv_cache_agent_v2.py'), 'utf8');
    expect(kvV2).toContain('from common.core.base_agent import BaseAgent');
    expect(kvV2).toContain('class KVCacheAgent(BaseAgent):');
    expect(JSON.parse(readFileSync(path.join(root, 'migration-log', 'KVCacheAgent.json'), 'utf8'))).toMatchObject({ profile: 'base-agent' });

    const proc = await cliInProcess(root, ['run', 'ProcAgent', '--no-validate', '--json']);
    expect(proc.exitCode, proc.stderr).toBe(0);
    expect(readFileSync(path.join(root, 'amoskys', 'agents', 'proc', 'proc_agent_v2.py'), 'utf8')).toBe(readFileSync(path.join(HARDENED, 'proc-agent-grpc', 'expected.py'), 'utf8'));
    expect(JSON.parse(readFileSync(path.join(root, 'migration-log', 'ProcAgent.json'), 'utf8'))).toMatchObject({ profile: 'hardened-agent-base' });

    const again = await cliInProcess(root, ['run', '--all', '--no-validate', '--json']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { results: Array<{ agent: string; status: string }> }).results.map((r) => [r.agent, r.status]).sort()).toEqual([
      ['KVCacheAgent', 'unchanged'],
      ['ProcAgent', 'unchanged'],
    ]);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 120_000);

  it('init copies the default base unless --profile or the pin says otherwise (it creates what detection looks for)', async () => {
    const root = gitRepo(undefined, 'migrate-profile-choice-init-');
    temps.push(root);
    mkdirSync(path.join(root, 'amoskys', 'agents', 'mem'), { recursive: true });
    cpSync(path.join(HARDENED, 'swap-agent-beside-migrated', 'input.py'), path.join(root, 'amoskys', 'agents', 'mem', 'memory_agents.py'));
    commitAll(root, 'fleet');
    const plain = await cliInProcess(root, ['init', '--verbose']);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('common/core/base_agent.py');
    expect(plain.stderr).toContain('profile base-agent (');

    const pinned = gitRepo(undefined, 'migrate-profile-choice-init-pin-');
    temps.push(pinned);
    pin(pinned, 'profile: hardened-agent-base\n');
    const init = await cliInProcess(pinned, ['init']);
    expect(init.exitCode, init.stderr).toBe(0);
    expect(init.stdout).toContain('amoskys/agents/common/base.py');
  }, 60_000);

  // (probe-ts53b) Beside base-agent's Python base (common/core/base_agent.py) a second base is legitimate only
  // for the files the profile choice would give it (under its package, or importing it): init creates it then
  // (each Python file is then migrated onto its own base), and refuses it in one line where it would take none.
  it('init --profile hardened-agent-base beside common/core/base_agent.py: the second base when files are under amoskys/, refused when none are', async () => {
    const root = gitRepo(undefined, 'migrate-profile-choice-init-second-');
    temps.push(root);
    mkdirSync(path.join(root, 'agents'));
    for (const f of ['kv_cache_agent.py', 'fleet_common.py']) cpSync(path.join(REPO, 'fixtures', 'demo-fleet', 'agents', f), path.join(root, 'agents', f));
    expect((await cliInProcess(root, ['init'])).exitCode).toBe(0);
    commitAll(root, 'a seed-000 fleet on its base');
    const idle = await cliInProcess(root, ['init', '--profile', 'hardened-agent-base']);
    expect(idle.exitCode).toBe(2);
    expect(idle.stderr.trim().split('\n')).toEqual([
      'migrate: common/core/base_agent.py already defines BaseAgent (profile base-agent), and no Python file is under amoskys/ or imports amoskys, the only files hardened-agent-base would take beside it: not creating a second base at amoskys/agents/common/base.py that would migrate no agent',
    ]);
    expect(existsSync(path.join(root, 'amoskys'))).toBe(false);

    mkdirSync(path.join(root, 'amoskys', 'agents', 'sysctl'), { recursive: true });
    cpSync(path.join(HARDENED, 'sysctl-try-counts-good-cycles', 'input.py'), path.join(root, 'amoskys', 'agents', 'sysctl', 'sysctl_drift_agent.py'));
    commitAll(root, 'a hardened-fleet agent beside');
    const second = await cliInProcess(root, ['init', '--profile', 'hardened-agent-base']);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toContain('created amoskys/agents/common/base.py');
    commitAll(root, 'its base');
    const scan = await scanProfile(root);
    expect(scan.profile.reason).toContain("BaseAgent (base-agent's base) is defined in common/core/base_agent.py too: hardened-agent-base takes the Python files under amoskys/, the other Python files keep base-agent");
    const dry = await cliInProcess(root, ['run', '--all', '--dry-run', '--json']);
    const results = (JSON.parse(dry.stdout) as { results: Array<{ agent: string; status: string }> }).results.map((r) => [r.agent, r.status]).sort();
    expect(results, dry.stderr).toEqual([['KVCacheAgent', 'migrated'], ['SysctlDriftAgent', 'migrated']]);
    expect(dry.stdout).toContain('from amoskys.agents.common.base import HardenedAgentBase');
    expect(dry.stdout).toContain('from common.core.base_agent import BaseAgent');
  }, 90_000);
});

// A monorepo like AMOSKYS's: the hardened Python fleet in a src/ layout (src/amoskys/agents/...,
// the base at src/amoskys/agents/common/base.py), a web dashboard whose static JS declares a class,
// and a Node agent on the old BaseService. Before, the dashboard's one class kept the whole repository
// on base-agent (every hardened agent rewritten onto BaseAgent, from a module the repository does not
// have, and reported migrated), the base under src/ was never read (the rewrite used the profile's
// declared lists), and the agents could not be started for validation (amoskys not on PYTHONPATH).
describe('a monorepo: the hardened fleet under src/, a web dashboard with a JavaScript class, a TypeScript agent', () => {
  const AGENTS = ['proc-agent-grpc', 'kernel-audit-setup-shutdown', 'fim-agent-baseline'];
  const caseOf = (name: string) => YAML.parse(readFileSync(path.join(HARDENED, name, 'case.yaml'), 'utf8')) as { path: string; scan: { class: string } };
  const TS_CASE = path.join(REPO, 'fixtures', 'typescript', 'base-service-init-health-and-setup');
  const ajv = new Ajv({ allErrors: true });
  for (const f of ['validation', 'scan', 'run', 'status']) ajv.addSchema(JSON.parse(readFileSync(path.join(REPO, 'schemas', `${f}.schema.json`), 'utf8')));
  const expectSchema = (name: string, stdout: string) => {
    const validate = ajv.getSchema(`${name}.schema.json`)!;
    expect(validate(JSON.parse(stdout)), `${name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  };

  /** `top` holds the packages (src/ or the root); `base` rewrites the reference HardenedAgentBase (the repository's own variant). */
  function monorepo(top: string, cases: string[], base?: (text: string) => string): string {
    const root = gitRepo(undefined, 'migrate-profile-choice-mono-');
    temps.push(root);
    const pkgs = path.join(root, top);
    mkdirSync(pkgs, { recursive: true });
    cpSync(path.join(HARDENED, '_support'), pkgs, { recursive: true, filter: (p) => !p.includes('__pycache__') && !p.endsWith('README.md') });
    cpSync(path.join(REPO, 'templates', 'runtime', 'python', 'amoskys'), path.join(pkgs, 'amoskys'), { recursive: true });
    const baseFile = path.join(pkgs, 'amoskys', 'agents', 'common', 'base.py');
    if (base) writeFileSync(baseFile, base(readFileSync(baseFile, 'utf8')));
    for (const c of cases) {
      const to = path.join(pkgs, caseOf(c).path);
      mkdirSync(path.dirname(to), { recursive: true });
      cpSync(path.join(HARDENED, c, 'input.py'), to);
    }
    mkdirSync(path.join(root, 'web', 'static'), { recursive: true });
    writeFileSync(
      path.join(root, 'web', 'static', 'dashboard.js'),
      [
        '// Fleet dashboard: polls the agents and draws their table.',
        'class FleetTable {',
        '  constructor(el) {',
        '    this.el = el;',
        '    this.rows = new Map();',
        '  }',
        '',
        '  update(agents) {',
        '    for (const a of agents) this.rows.set(a.name, a);',
        "    this.el.innerHTML = [...this.rows.values()].map((a) => `<tr><td>${a.name}</td><td>${a.status}</td></tr>`).join('');",
        '  }',
        '}',
        '',
        "const table = new FleetTable(document.getElementById('fleet'));",
        "setInterval(async () => table.update(await (await fetch('/api/agents')).json()), 5000);",
        '',
      ].join('\n'),
    );
    cpSync(path.join(TS_CASE, 'lib'), path.join(root, 'lib'), { recursive: true });
    mkdirSync(path.join(root, 'agents'));
    cpSync(path.join(TS_CASE, 'input.ts'), path.join(root, 'agents', 'scan-forwarder.ts'));
    writeFileSync(path.join(root, '.gitignore'), 'certs/\ndata/\n');
    commitAll(root, 'monorepo');
    return root;
  }
  const v2 = (root: string, top: string, c: string) => readFileSync(path.join(root, top, caseOf(c).path.replace(/\.py$/, '_v2.py')), 'utf8');

  it('Python files onto HardenedAgentBase (learned from src/), TypeScript onto BaseAgent: scan, run, diff, status, validate, commit, revert, init', async () => {
    const root = monorepo('src', AGENTS);
    const scan = await cliInProcess(root, ['scan', '--json', '--verbose']);
    expect(scan.exitCode, scan.stderr).toBe(0);
    expectSchema('scan', scan.stdout);
    const profile = (JSON.parse(scan.stdout) as { profile: ProfileJson }).profile;
    expect(profile).toMatchObject({ name: 'hardened-agent-base', chosen_by: 'detected', languages: { python: { name: 'hardened-agent-base' }, typescript: { name: 'base-agent', chosen_by: 'default' } } });
    expect(profile.reason).toContain('src/amoskys/agents/common/base.py');

    // --jobs 2: the rewrite workers are given both languages' profiles too.
    const run = await cliInProcess(root, ['run', '--all', '--no-validate', '--no-commit', '--json', '--verbose', '--jobs', '2']);
    expect(run.exitCode, run.stderr).toBe(0);
    expectSchema('run', run.stdout);
    expect(run.stderr).toContain('python base model: HardenedAgentBase learned from src/amoskys/agents/common/base.py');
    const out = JSON.parse(run.stdout) as { results: Array<{ agent: string; status: string }>; profile: ProfileJson };
    expect(out.profile).toEqual(profile);
    const status = (cls: string) => out.results.find((r) => r.agent === cls)?.status;
    for (const c of AGENTS) {
      expect(status(caseOf(c).scan.class), c).toBe('migrated');
      // The same rewrite as the fixture's (--profile hardened-agent-base, the base at the root).
      expect(v2(root, 'src', c), c).toBe(readFileSync(path.join(HARDENED, c, 'expected.py'), 'utf8'));
    }
    // The TypeScript agent in the same repository: onto the TypeScript BaseAgent, as in its own fixture.
    expect(status('ScanForwarder')).toBe('migrated');
    expect(readFileSync(path.join(root, 'agents', 'scan-forwarder_v2.ts'), 'utf8')).toBe(readFileSync(path.join(TS_CASE, 'expected.ts'), 'utf8'));

    const pyDiff = await cliInProcess(root, ['diff', 'ProcAgent']);
    expect(pyDiff.stdout).toContain('+class ProcAgent(HardenedAgentBase):');
    const tsDiff = await cliInProcess(root, ['diff', 'ScanForwarder']);
    expect(tsDiff.stdout).toContain('+export class ScanForwarder extends BaseAgent {');
    const st = await cliInProcess(root, ['status', '--json']);
    expect(st.exitCode, st.stderr).toBe(0);
    expectSchema('status', st.stdout);
    expect((JSON.parse(st.stdout) as { profile: ProfileJson }).profile).toEqual(profile);

    // init: no second HardenedAgentBase beside the one under src/ (before: amoskys/agents/common/base.py at
    // the root with --profile, and BaseAgent's common/core/base_agent.py without); TypeScript's base still comes.
    for (const args of [['init'], ['init', '--profile', 'hardened-agent-base']]) {
      const r = await cliInProcess(root, args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('src/amoskys/agents/common/base.py already defines HardenedAgentBase (profile hardened-agent-base)');
    }
    expect(existsSync(path.join(root, 'amoskys'))).toBe(false);
    expect(existsSync(path.join(root, 'common'))).toBe(false);
    const tsInit = await cliInProcess(root, ['init', '--lang', 'typescript']);
    expect(tsInit.exitCode, tsInit.stderr).toBe(0);
    expect(tsInit.stdout).toContain('created common/core/base-agent.ts');
    git(root, ['add', 'common']);
    git(root, ['commit', '-q', '-m', 'the TypeScript base']);

    // At run time: ProcAgent's _v2 on the base under src/ (its case's environment) with hardened-agent-base's
    // checks, ScanForwarder's on the TypeScript BaseAgent with base-agent's.
    mkdirSync(path.join(root, 'certs'));
    for (const n of ['ca.crt', 'agent.crt', 'agent.key']) writeFileSync(path.join(root, 'certs', n), `test ${n}\n`);
    const env = { PATH: process.env.PATH!, HOME: process.env.HOME ?? root, AMOSKYS_CERT_DIR: path.join(root, 'certs'), PROC_QUEUE_PATH: path.join(root, 'data', 'queue', 'proc_agent.db') };
    const val = await cliInProcess(root, ['validate', 'ProcAgent', 'ScanForwarder', '--json'], { env });
    expect(val.exitCode, `${val.stdout}\n${val.stderr}`).toBe(0);
    type Checks = { agent: string; validation: { ok: boolean; checks: Array<{ name: string; ok: boolean; skipped?: boolean }> } };
    const reports = new Map((JSON.parse(val.stdout) as { results: Checks[] }).results.map((r) => [r.agent, r.validation]));
    const ran = (agent: string) => reports.get(agent)!.checks.filter((c) => !c.skipped).map((c) => c.name);
    expect([...reports.values()].every((v) => v.ok && v.checks.every((c) => c.ok))).toBe(true);
    // hardened-agent-base's EventBus cycle for the Python agent; base-agent's survival window, not the EventBus, for the TypeScript one.
    expect(ran('ProcAgent')).toEqual(['health', 'registry', 'metrics', 'eventbus', 'shutdown', 'deregister', 'log']);
    expect(ran('ScanForwarder')).toContain('survival');
    expect(ran('ScanForwarder')).not.toContain('eventbus');

    // The records and commits name each language's profile; the revert undoes one.
    const commit = await cliInProcess(root, ['commit', 'ProcAgent', 'ScanForwarder']);
    expect(commit.exitCode, commit.stderr).toBe(0);
    const record = (name: string) => JSON.parse(readFileSync(path.join(root, 'migration-log', `${name}.json`), 'utf8')) as { profile: string };
    expect(record('ProcAgent').profile).toBe('hardened-agent-base');
    expect(record('ScanForwarder').profile).toBe('base-agent');
    const revert = await cliInProcess(root, ['revert', 'ProcAgent']);
    expect(revert.exitCode, revert.stderr).toBe(0);
    const after = JSON.parse((await cliInProcess(root, ['status', '--json'])).stdout) as { agents: Array<{ name: string; state: string }> };
    expect(after.agents.filter((a) => ['ProcAgent', 'ScanForwarder'].includes(a.name)).map((a) => [a.name, a.state]).sort()).toEqual([['ProcAgent', 'reverted'], ['ScanForwarder', 'committed']]);
  }, 300_000);

  it('the repository\'s own base under src/ is read as at the root: an attribute it owns (start_time) is not set again by the agent', async () => {
    // The repository's HardenedAgentBase keeps its start time as self.start_time (as AMOSKYS's base does).
    const ownBase = (text: string) => text.replace(/self\._hb_started\b/g, 'self.start_time');
    const agent = 'listen-health-stats-bump';
    const input = readFileSync(path.join(HARDENED, agent, 'input.py'), 'utf8');
    expect(input).toContain('        self.start_time = time.time()\n');
    const atRoot = monorepo('', [agent], ownBase);
    const underSrc = monorepo('src', [agent], ownBase);
    for (const root of [atRoot, underSrc]) {
      const run = await cliInProcess(root, ['run', '--all', '--no-validate', '--no-commit', '--json', '--verbose']);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/python base model: HardenedAgentBase learned from (src\/)?amoskys\/agents\/common\/base\.py/);
    }
    const flat = v2(atRoot, '', agent);
    // The base sets self.start_time = time.time() itself: the agent's identical assignment goes.
    expect(flat).not.toContain('        self.start_time = time.time()\n');
    expect(v2(underSrc, 'src', agent)).toBe(flat);
  }, 120_000);
});
