// A Node repository as it is in the wild migrates in one `migrate run --all`: a TypeScript agent,
// a CommonJS JavaScript agent (`module.exports = class`), a daemon on EventEmitter, and an agent
// family (an abstract parent with the loop and health server, and a subclass that follows it in
// the same run). Every agent is rewritten, verified, validated for real (the abstract parent
// through its subclass) and committed on its own; JavaScript stays JavaScript.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './helpers/cli.js';

const REPO = path.resolve(import.meta.dirname, '..');
const CLI = path.join(REPO, 'bin', 'migrate.js');
const fx = (name: string, file: string) => readFileSync(path.join(REPO, 'fixtures', 'typescript', name, file), 'utf8');
let root: string;

const git = (...args: string[]) => execa('git', args, { cwd: root });
const migrate = (...args: string[]) => execa(process.execPath, [CLI, ...args, '--root', root], { cwd: root, reject: false });

function put(rel: string, text: string): void {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), text);
}

beforeAll(async () => {
  ensureBuilt();
  root = mkdtempSync(path.join(os.tmpdir(), 'migrate-node-mixed-'));
  put('services/order_router.ts', fx('http-health-interval', 'input.ts'));
  put('services/stats_pusher.js', fx('cjs-class-expression-pusher', 'input.js'));
  put('services/supervisor.ts', fx('eventemitter-supervisor-daemon', 'input.ts'));
  put('lib/device-supervisor.ts', fx('abstract-family-parent', 'input.ts'));
  put('services/thermostat_supervisor.ts', fx('abstract-family-subclass', 'input.ts'));
  put('.gitignore', 'node_modules/\n');
  await git('init', '-q', '-b', 'main');
  await git('config', 'user.name', 'Test');
  await git('config', 'user.email', 'test@example.invalid');
  expect((await migrate('init', '--lang', 'typescript')).exitCode).toBe(0);
  await git('add', '-A');
  await git('commit', '-q', '-m', 'node fleet');
}, 180_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a Node repository with TypeScript and JavaScript agents', () => {
  it('migrates, validates and commits every agent in one run --all', async () => {
    const run = await migrate('run', '--all', '--json', '--concurrency', '2');
    const out = JSON.parse(run.stdout) as {
      results: Array<{ agent: string; file: string; status: string; commit: string | null; output: string | null; validation: { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> } | null; error: string | null }>;
    };
    const byAgent = Object.fromEntries(out.results.map((r) => [r.agent, r]));
    expect(Object.keys(byAgent).sort()).toEqual(['DeviceSupervisor', 'OrderRouter', 'StatsPusher', 'Supervisor', 'ThermostatSupervisor']);
    for (const r of out.results) {
      expect(r.error, `${r.agent}: ${r.error}`).toBeNull();
      expect(['migrated', 'needs-review']).toContain(r.status);
      expect(r.validation?.ok, `${r.agent}: ${JSON.stringify(r.validation?.checks.filter((c) => !c.ok))}`).toBe(true);
      expect(r.commit).toMatch(/^[0-9a-f]{40}$/);
    }
    expect(run.exitCode, run.stderr).toBe(0);
    expect((await git('status', '--porcelain')).stdout).toBe('');
    // JavaScript stays JavaScript (CommonJS keeps require), the subclass follows its parent's _v2.
    expect(byAgent.StatsPusher!.output).toBe('services/stats_pusher_v2.js');
    const pusher = readFileSync(path.join(root, 'services', 'stats_pusher_v2.js'), 'utf8');
    expect(pusher).toContain("const { BaseAgent } = require('../common/core/base-agent');");
    expect(pusher).not.toMatch(/^import /m);
    expect(readFileSync(path.join(root, 'services', 'thermostat_supervisor_v2.ts'), 'utf8')).toContain("from '../lib/device-supervisor_v2.js'");
    expect(existsSync(path.join(root, 'lib', 'device-supervisor_v2.ts'))).toBe(true);
  }, 300_000);

  it('a second scan sees every agent migrated', async () => {
    const scan = JSON.parse((await migrate('scan', '--json')).stdout) as { agents: Array<{ name: string; status: string; output?: string }> };
    for (const a of scan.agents) expect(a.output, a.name).toMatch(/_v2\.(ts|js)$/);
  }, 60_000);
});
