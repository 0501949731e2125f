// Which profile a command uses without --profile (src/profile/choose.ts): `profile:` in
// .migrate/config.yaml, else the one profile besides base-agent whose base class the repository
// defines where that profile imports it from (or which its files import), else base-agent.
// Before, every command without --profile used base-agent: `run --all` on a seed-001 repository
// holding amoskys/agents/common/base.py wrote ProcAgent(BaseAgent) importing
// common.core.base_agent (a module the repository does not have) and reported it migrated.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, cliInProcess, commitAll, demoFleetRepos, ensureBuilt, gitRepo, tempDirsOfThisFile } from './helpers/cli.js';

const temps = tempDirsOfThisFile();
beforeAll(() => ensureBuilt(), 180_000);

const HARDENED = path.join(REPO, 'fixtures', 'python-hardened');
const demoRepo = demoFleetRepos(temps, 'migrate-profile-choice-demo-');

type ProfileJson = { name: string; chosen_by: string; reason: string };

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
    expect(auto.profile).toEqual({ name: 'base-agent', chosen_by: 'default', reason: "the default: no other profile's base class is defined or imported in the repository" });
    const explicit = await scanProfile(root, ['--profile', 'base-agent']);
    expect(explicit.profile).toEqual({ name: 'base-agent', chosen_by: 'flag', reason: '--profile base-agent' });
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
    expect(pinned.profile).toEqual({ name: 'base-agent', chosen_by: 'config', reason: `profile: base-agent in ${path.join(root, '.migrate', 'config.yaml')}:2` });
    const flag = await scanProfile(root, ['--profile', 'hardened-agent-base']);
    expect(flag.profile).toEqual({ name: 'hardened-agent-base', chosen_by: 'flag', reason: '--profile hardened-agent-base' });

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

  it('a seed-001 repository that also holds TypeScript agents keeps the default (hardened-agent-base has no typescript section) and says so', async () => {
    const root = await hardenedRepo();
    const tsDir = path.join(REPO, 'fixtures', 'typescript', 'base-service-init-health-and-setup');
    cpSync(path.join(tsDir, 'lib'), path.join(root, 'lib'), { recursive: true });
    mkdirSync(path.join(root, 'agents'));
    cpSync(path.join(tsDir, 'input.ts'), path.join(root, 'agents', 'scan-forwarder.ts'));
    commitAll(root, 'a TypeScript agent');
    const scan = await scanProfile(root);
    expect(scan.profile.name).toBe('base-agent');
    expect(scan.profile.chosen_by).toBe('default');
    expect(scan.profile.reason).toMatch(/^the default: HardenedAgentBase is defined in amoskys\/agents\/common\/base\.py, .*, but (agents\/scan-forwarder\.ts|lib\/[\w.-]+) holds a TypeScript class and hardened-agent-base has no typescript section; choose with --profile/);
    expect(scan.agents.find((a) => a.class === 'ScanForwarder')).toMatchObject({ status: 'legacy' });
  }, 60_000);

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
});
