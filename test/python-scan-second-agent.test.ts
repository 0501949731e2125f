// A second legacy agent class of a file (fixtures/python/second-agent-shares-module-health-server: two relays
// sharing a module-level health server class; one agent per file is migrated) is listed by `scan` as a legacy
// agent of that file, and `scan --check` fails while it is legacy: before and after the file's agent is on the
// base. Before, the scan named only the file's agent, so the CI gate passed once it was promoted while the
// second class was still legacy (probe-py58 OutboundRelayAgent).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { cliInProcess, commitAll, ensureBuilt, initGit, tempDirsOfThisFile } from './helpers/cli.js';
import { listCases, materialize } from './helpers/python-fixtures.js';

const temps = tempDirsOfThisFile();
beforeAll(() => ensureBuilt(), 180_000);

interface ListedAgent { name: string; file: string; class: string; status: string; line: number; second_agent_of?: string; findings: Array<{ kind: string }> }

it('lists the second legacy agent of a file, and scan --check fails until it is on the base', async () => {
  const c = listCases().find((x) => x.name === 'second-agent-shares-module-health-server')!;
  const root = materialize(c);
  temps.push(root);
  initGit(root);
  const file = path.join(root, c.rel);

  const json = await cliInProcess(root, ['scan', '--json']);
  expect(json.exitCode, json.stderr).toBe(0);
  const agents = (JSON.parse(json.stdout) as { agents: ListedAgent[] }).agents.filter((a) => a.file === c.rel);
  expect(agents.map((a) => [a.class, a.status, a.second_agent_of ?? null])).toEqual([
    ['InboundRelayAgent', 'legacy', null],
    ['OutboundRelayAgent', 'legacy', 'InboundRelayAgent'],
  ]);
  expect(agents[1]!.line).toBe(169);
  expect(agents[1]!.findings.map((f) => f.kind)).toContain('registry');

  const before = await cliInProcess(root, ['scan', '--check']);
  expect(before.exitCode).toBe(1);
  expect(before.stderr).toContain('2 legacy agent(s) remain: InboundRelayAgent, OutboundRelayAgent');
  expect(before.stdout).toMatch(/OutboundRelayAgent +legacy +pc2_code\/agents\/telemetry_relay_agents\.py:169/);

  // The run does not take it on its own (one _v2 per file): it says why instead of "no agent named".
  const own = await cliInProcess(root, ['run', 'OutboundRelayAgent', '--dry-run']);
  expect(own.exitCode).toBe(2);
  expect(own.stderr).toContain('OutboundRelayAgent (pc2_code/agents/telemetry_relay_agents.py:169) is not migrated on its own');

  // The file's agent on the base (what promote leaves: the _v2's content in place): the second is still legacy.
  writeFileSync(file, readFileSync(path.join(c.dir, 'expected.py')));
  commitAll(root, 'promote InboundRelayAgent');
  const promoted = await cliInProcess(root, ['scan', '--check']);
  expect(promoted.exitCode, promoted.stdout).toBe(1);
  expect(promoted.stdout).toMatch(/InboundRelayAgent +migrated/);
  expect(promoted.stderr).toContain('1 legacy agent(s) remain: OutboundRelayAgent');

  // Moved onto the base by hand too: nothing legacy is left and the gate passes.
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace('class OutboundRelayAgent:', 'class OutboundRelayAgent(BaseAgent):'));
  commitAll(root, 'OutboundRelayAgent by hand');
  const done = await cliInProcess(root, ['scan', '--check']);
  expect(done.stderr).toBe('');
  expect(done.exitCode).toBe(0);
}, 120_000);
