// A file's second legacy agent (fixtures/python/second-agent-shares-module-health-server: two relays sharing a
// module-level health server; one agent per file is migrated) is listed by `status` (table and --json) and by
// `report`, with its state, as `scan` lists it: legacy before, still legacy once the file's agent is committed,
// migrated once it is moved onto the base by hand. Before, scan listed it (pyleft58) while status and report
// showed the file's agent alone: "1 agents: 1 committed" with OutboundRelayAgent still legacy beside it.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { beforeAll, expect, it } from 'vitest';
import { cliInProcess, commitAll, ensureBuilt, git, initGit, tempDirsOfThisFile } from './helpers/cli.js';
import { launchChromium, openReport } from './helpers/browser.js';
import { listCases, materialize } from './helpers/python-fixtures.js';

const temps = tempDirsOfThisFile();
beforeAll(() => ensureBuilt(), 180_000);

const schema = (name: string) => new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'schemas', `${name}.schema.json`), 'utf8')));
const statusSchema = schema('status');
const scanSchema = schema('scan');

interface Row { name: string; file: string; state: string; commit: string | null; second_agent_of?: string; line?: number }
interface Listed { name: string; file: string; status: string; line: number; second_agent_of?: string }

/** What each command says of the file's agents: scan's and status's JSON (schema-checked), status's table and the report's sections. */
async function views(root: string, rel: string) {
  const scan = await cliInProcess(root, ['scan', '--json']);
  expect(scan.exitCode, scan.stderr).toBe(0);
  const scanJson = JSON.parse(scan.stdout) as { agents: Listed[] };
  expect(scanSchema(scanJson), JSON.stringify(scanSchema.errors)).toBe(true);
  const status = await cliInProcess(root, ['status', '--json']);
  expect(status.exitCode, status.stderr).toBe(0);
  const statusJson = JSON.parse(status.stdout) as { agents: Row[] };
  expect(statusSchema(statusJson), JSON.stringify(statusSchema.errors)).toBe(true);
  const table = await cliInProcess(root, ['status']);
  expect(table.exitCode, table.stderr).toBe(0);
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'migrate-second-report-')), 'report.html');
  temps.push(path.dirname(out));
  const report = await cliInProcess(root, ['report', '--out', out]);
  expect(report.exitCode, report.stderr).toBe(0);
  const html = readFileSync(out, 'utf8');
  const sections = [...html.matchAll(/<article class="agent [^"]*" id="[^"]*" data-agent="(\w+)" data-status="([\w-]+)"/g)].map((m) => [m[1], m[2]]);
  return {
    scan: scanJson.agents.filter((a) => a.file === rel),
    status: statusJson.agents.filter((a) => a.file === rel),
    table: table.stdout,
    report: { out, html, sections: Object.fromEntries(sections) as Record<string, string>, counts: report.stderr },
  };
}

it('status and report list the second agent of a file with its state, as scan does: before, after its file agent is migrated, after both', async () => {
  const c = listCases().find((x) => x.name === 'second-agent-shares-module-health-server')!;
  const root = materialize(c);
  temps.push(root);
  initGit(root);
  const rel = c.rel;
  const v2 = rel.replace(/\.py$/, '_v2.py');

  // Before: both legacy, the second named with the file's agent.
  const before = await views(root, rel);
  expect(before.scan.map((a) => [a.name, a.status, a.second_agent_of ?? null])).toEqual([
    ['InboundRelayAgent', 'legacy', null],
    ['OutboundRelayAgent', 'legacy', 'InboundRelayAgent'],
  ]);
  expect(before.status.map((r) => [r.name, r.state, r.commit, r.second_agent_of ?? null, r.line ?? null])).toEqual([
    ['InboundRelayAgent', 'legacy', null, null, null],
    ['OutboundRelayAgent', 'legacy', null, 'InboundRelayAgent', 169],
  ]);
  expect(before.table).toMatch(/^OutboundRelayAgent +legacy +- +- +pc2_code\/agents\/telemetry_relay_agents\.py$/m);
  expect(before.table).toContain('2 agents: 2 legacy');
  // The same "by hand" line scan prints: `migrate run` does not take it on its own.
  expect(before.table).toMatch(/^ {2}by hand OutboundRelayAgent \(pc2_code\/agents\/telemetry_relay_agents\.py:169\): a second legacy agent of .*migrate it by hand/m);
  expect(before.report.sections).toEqual({ InboundRelayAgent: 'legacy', OutboundRelayAgent: 'legacy' });
  expect(before.report.counts).toMatch(/2 agents \(2 legacy\)/);

  // The file's agent migrated and committed by a real run: the second stays legacy in all three.
  const run = await cliInProcess(root, ['run', 'InboundRelayAgent', '--no-validate', '--json']);
  expect(run.exitCode, run.stderr).toBe(0);
  expect(existsSync(path.join(root, v2))).toBe(true);
  const one = await views(root, rel);
  expect(one.scan.map((a) => [a.name, a.status])).toEqual([['InboundRelayAgent', 'legacy'], ['OutboundRelayAgent', 'legacy']]);
  const sha = git(root, ['rev-parse', 'HEAD']);
  expect(one.status.map((r) => [r.name, r.state, r.commit, r.second_agent_of ?? null])).toEqual([
    ['InboundRelayAgent', 'committed', sha, null],
    ['OutboundRelayAgent', 'legacy', null, 'InboundRelayAgent'],
  ]);
  expect(one.table).toContain('2 agents: 1 committed, 1 legacy');
  expect(one.table).toMatch(/^ {2}by hand OutboundRelayAgent /m);
  expect(one.report.sections).toEqual({ InboundRelayAgent: 'committed', OutboundRelayAgent: 'legacy' });
  // In chromium: the second agent's section says why it is left, links its file's agent, offers no `migrate run`.
  const { context, close } = await launchChromium();
  try {
    const { page, errors } = await openReport(context, one.report.out);
    expect(errors).toEqual([]);
    expect(await page.textContent('#agent-OutboundRelayAgent .state')).toMatch(/^legacy: a second legacy agent of pc2_code\/agents\/telemetry_relay_agents\.py .*one agent per file is migrated/);
    expect(await page.getAttribute('#agent-OutboundRelayAgent a[href="#agent-InboundRelayAgent"]', 'href')).toBe('#agent-InboundRelayAgent');
    expect(await page.locator('#agent-OutboundRelayAgent .cmds').count()).toBe(0);
  } finally {
    await close();
  }

  // Both on the base: the _v2's content in place (what promote leaves) and the second moved by hand.
  const text = readFileSync(path.join(root, v2), 'utf8');
  expect(text).toMatch(/^class OutboundRelayAgent:$/m);
  writeFileSync(path.join(root, rel), text.replace(/^class OutboundRelayAgent:$/m, 'class OutboundRelayAgent(BaseAgent):'));
  git(root, ['rm', '-q', v2]);
  commitAll(root, 'promote InboundRelayAgent; OutboundRelayAgent onto the base by hand');
  const both = await views(root, rel);
  expect(both.scan.map((a) => [a.name, a.status, a.second_agent_of ?? null])).toEqual([
    ['InboundRelayAgent', 'migrated', null],
    ['OutboundRelayAgent', 'migrated', 'InboundRelayAgent'],
  ]);
  expect(both.status.map((r) => [r.name, r.state, r.commit, r.second_agent_of ?? null])).toEqual([
    ['InboundRelayAgent', 'committed', sha, null],
    ['OutboundRelayAgent', 'migrated', null, 'InboundRelayAgent'],
  ]);
  expect(both.table).toContain('2 agents: 1 committed, 1 migrated');
  expect(both.table).not.toMatch(/by hand/);
  expect(both.report.sections).toEqual({ InboundRelayAgent: 'committed', OutboundRelayAgent: 'migrated' });
  expect(both.report.html).toMatch(/already on the base class: a second agent of pc2_code\/agents\/telemetry_relay_agents\.py, beside InboundRelayAgent/);
  const check = await cliInProcess(root, ['scan', '--check']);
  expect(check.exitCode, check.stderr).toBe(0);
}, 300_000);
