// A repository whose reference HardenedAgentBase was copied in by `migrate init --profile
// hardened-agent-base` (amoskys/agents/common/base.py: binds /health, runs the collection loop,
// registers, handles signals: every mark of an agent) lists it as a legacy agent in no command,
// whichever profile the command is given: `run --all` with the hardened profile skips it as its own
// base, and status, scan (and so a `run --all` with the default profile) must not offer it either.
// Before, `migrate status` with the default profile (base-agent) showed a row
// `HardenedAgentBase legacy amoskys/agents/common/base.py` beside the real agents.
import { cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, cliInProcess, commitAll, ensureBuilt, gitRepo, tempDirsOfThisFile } from './helpers/cli.js';

const temps = tempDirsOfThisFile();
beforeAll(() => ensureBuilt(), 180_000);

const HARDENED = path.join(REPO, 'fixtures', 'python-hardened');

async function hardenedFleet(): Promise<string> {
  const root = gitRepo(undefined, 'migrate-other-base-');
  temps.push(root);
  for (const [dir, c] of [['netstat', 'netstat-batch-queues-built-telemetry'], ['sudolog', 'sudo-log-shutdown-exit-entry-signal']]) {
    mkdirSync(path.join(root, 'amoskys', 'agents', dir!), { recursive: true });
    cpSync(path.join(HARDENED, c!, 'input.py'), path.join(root, 'amoskys', 'agents', dir!, `${dir}_agent.py`));
  }
  const init = await cliInProcess(root, ['init', '--profile', 'hardened-agent-base']);
  expect(init.exitCode, init.stderr).toBe(0);
  commitAll(root, 'reference base copied in');
  return root;
}

describe('the reference base of another profile is no agent', () => {
  // Without --profile this repository now gets hardened-agent-base (its base is where that profile
  // imports it from: src/profile/choose.ts, test/profile-choice.test.ts): the default profile is asked for by name.
  for (const profile of [['--profile', 'base-agent'], ['--profile', 'hardened-agent-base'], []]) {
    it(`status and scan ${profile.join(' ') || '(no --profile)'}`, async () => {
      const root = await hardenedFleet();
      const status = await cliInProcess(root, ['status', '--json', ...profile]);
      expect(status.exitCode, status.stderr).toBe(0);
      const rows = (JSON.parse(status.stdout) as { agents: Array<{ name: string; file: string; state: string }> }).agents;
      expect(rows.map((r) => [r.name, r.state]).sort()).toEqual([['NetstatAgent', 'legacy'], ['SudoLogAgent', 'legacy']]);
      const scan = await cliInProcess(root, ['scan', '--json', ...profile]);
      expect(scan.exitCode, scan.stderr).toBe(0);
      const out = JSON.parse(scan.stdout) as { agents: Array<{ class: string; file: string }>; skipped: Array<{ file: string; reason: string }> };
      expect(out.agents.map((a) => a.file)).not.toContain('amoskys/agents/common/base.py');
      expect(out.agents.map((a) => a.class)).not.toContain('HardenedAgentBase');
      const skip = out.skipped.find((s) => s.file === 'amoskys/agents/common/base.py');
      expect(skip?.reason).toMatch(/HardenedAgentBase base class/);
      if (profile[1] === 'base-agent') expect(skip?.reason).toContain('use --profile hardened-agent-base');
      if (!profile.length) expect((JSON.parse(scan.stdout) as { profile: { name: string } }).profile.name).toBe('hardened-agent-base');
    }, 60_000);
  }
});
