// check-config on real input: the two-machine fixture with planted problems gives
// exactly its expected findings (positions from the YAML library) and never a secret's
// value; the demo fleet's clean config gives none; the schema maps ajv errors onto the
// offending keys; script paths resolve from the project root as the seed's fix does.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import YAML from 'yaml';
import { cliInProcess, cliInProcessIn, ensureBuilt, gitRepo, REPO } from './helpers/cli.js';
import { parseStartupConfig, resolveScriptPath } from '../src/discover/startup-config.js';
import { schemaFindings, schemaPath } from '../src/config/schema.js';
import { secretFindings, secretValues, redact } from '../src/config/secrets.js';

const DUAL = path.join(REPO, 'fixtures', 'configs', 'dual-machine');
const DEMO = path.join(REPO, 'fixtures', 'demo-fleet');
const SECRETS = ['pc2-utils-Tr0ub4dor', 'r3dis-pc2-s3cret'];
const temps: string[] = [];

beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function repo(src: string): string {
  const root = gitRepo(src, 'migrate-check-config-');
  temps.push(root);
  return root;
}

function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'migrate-config-unit-'));
  temps.push(d);
  return d;
}

describe('check-config on the two-machine fixture', () => {
  let root: string;
  beforeAll(() => {
    root = repo(DUAL);
  });

  it('prints exactly the expected findings, file:line:col: severity: message, and exits 1', async () => {
    const r = await cliInProcess(root, ['check-config']);
    expect(r.stderr).toBe('');
    // (execa drops the final newline)
    expect(r.stdout).toBe(readFileSync(path.join(DUAL, 'expected-findings.txt'), 'utf8').trimEnd());
    expect(r.exitCode).toBe(1);
    for (const line of r.stdout.trimEnd().split('\n').slice(0, -1)) {
      expect(line).toMatch(/^[^:\s]+:\d+:\d+: (error|warning|note): .+ \[[a-z-]+\]$/);
    }
  });

  it('points at the exact key or value: the line and column hold what the finding names', async () => {
    const r = await cliInProcess(root, ['check-config', '--json']);
    const { findings } = JSON.parse(r.stdout) as { findings: Array<{ file: string; line: number; col: number; rule: string }> };
    const textAt = (f: { file: string; line: number; col: number }) =>
      readFileSync(path.join(root, f.file), 'utf8').split('\n')[f.line - 1]!.slice(f.col - 1);
    const by = (rule: string) => findings.filter((f) => f.rule === rule).map(textAt);
    expect(by('script-missing')).toEqual(['pc2_code/agents/vision_processing_agent.py']);
    expect(by('script-not-from-root')).toEqual(['agents/async_processor.py']);
    expect(by('port-duplicate')).toEqual(['7101']);
    expect(by('port-not-bound')).toEqual(['7210   # moved from 7200 in the March re-plan']);
    expect(by('plain-text-secret').map((t) => t.split(':')[0])).toEqual(['NATS_PASSWORD', 'REDIS_URL']);
    expect(by('unconfigured-agent')).toEqual(['class ResourceManager:']);
  });

  it('--warn reports the same and exits 0; --json is for CI; no output holds a secret value', async () => {
    const plain = await cliInProcess(root, ['check-config']);
    const warn = await cliInProcess(root, ['check-config', '--warn']);
    const json = await cliInProcess(root, ['check-config', '--json']);
    expect(warn.exitCode).toBe(0);
    expect(warn.stdout.split('\n').slice(0, -1)).toEqual(plain.stdout.split('\n').slice(0, -1));
    expect(warn.stdout).toMatch(/5 errors, 3 warnings, 0 notes in 2 startup configs \(7 agents\); not failing \(--warn\)/);
    expect(json.exitCode).toBe(1);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.summary).toEqual({ error: 5, warning: 3, note: 0 });
    expect(parsed.configs.map((c: { file: string; shapes: string[] }) => [c.file, c.shapes])).toEqual([
      ['main_pc_code/config/startup_config.yaml', ['agent_groups']],
      ['pc2_code/config/startup_config.yaml', ['pc2_services']],
    ]);
    for (const out of [plain, warn, json]) {
      for (const secret of SECRETS) {
        expect(out.stdout).not.toContain(secret);
        expect(out.stderr).not.toContain(secret);
      }
    }
  });

  it('the seed fix resolves from the project root wherever migrate runs; a machine-relative path stays an error', async () => {
    // Started from inside pc2_code/, AsyncProcessor's agents/... resolves from the current
    // directory too: still not from the project root, still the same error.
    const r = await cliInProcess(root, ['check-config', '--json']);
    const fromRoot = JSON.parse(r.stdout).findings;
    // In process, its working directory pc2_code/ (main() changes to it for the command).
    const inside = await cliInProcessIn(path.join(root, 'pc2_code'), ['check-config', '--json', '--root', root]);
    expect(JSON.parse(inside.stdout).findings).toEqual(fromRoot);
  });
});

describe('check-config on a clean fleet', () => {
  it('the demo fleet (both shapes in one file) has no findings', async () => {
    const root = repo(DEMO);
    const r = await cliInProcess(root, ['check-config']);
    expect(r.stdout).toBe('0 errors, 0 warnings, 0 notes in 1 startup config (13 agents)');
    expect(r.exitCode).toBe(0);
  });

  it('a config that is not valid YAML is one finding at its line; the other configs are still checked', async () => {
    const root = repo(DEMO);
    mkdirSync(path.join(root, 'pc2_code', 'config'), { recursive: true });
    writeFileSync(
      path.join(root, 'pc2_code', 'config', 'startup_config.yaml'),
      'global_settings: {}\npc2_services:\n  - name: A\n    port: 7000\n    port: 7001\n',
    );
    const r = await cliInProcess(root, ['check-config', '--json']);
    const { findings, configs } = JSON.parse(r.stdout);
    expect(findings).toEqual([
      { file: 'pc2_code/config/startup_config.yaml', line: 5, col: 5, severity: 'error', rule: 'yaml', message: 'invalid YAML: Map keys must be unique' },
    ]);
    expect(configs.map((c: { file: string; agents: number }) => [c.file, c.agents])).toEqual([
      ['config/startup_config.yaml', 13],
      ['pc2_code/config/startup_config.yaml', 0],
    ]);
    expect(r.exitCode).toBe(1);
  });

  it("the fleet's port block comes from .migrate/config.yaml", async () => {
    const root = repo(DEMO);
    mkdirSync(path.join(root, '.migrate'));
    writeFileSync(path.join(root, '.migrate', 'config.yaml'), 'check_config:\n  port_range: [7300, 7379]\n');
    const r = await cliInProcess(root, ['check-config', '--json']);
    const ranged = JSON.parse(r.stdout).findings.map((f: { rule: string; agent: string; message: string }) => `${f.rule} ${f.agent} ${f.message.split(' ').slice(0, 2).join(' ')}`);
    expect(ranged).toEqual([
      'port-range TextStatsAgent port 7381',
      'port-range TextStatsAgent health_check_port 7382',
      'port-range DedupFilterAgent port 7401',
      'port-range DedupFilterAgent health_check_port 7402',
      'port-range JobSchedulerAgent port 7411',
      'port-range JobSchedulerAgent health_check_port 7412',
      'port-range ConfigWatcherAgent port 7391',
      'port-range ConfigWatcherAgent health_check_port 7392',
      'port-range FeatureFlagAgent port 7421',
      'port-range FeatureFlagAgent health_check_port 7422',
    ]);
    expect(r.exitCode).toBe(0); // warnings only
  });

  it('without any startup config it is a usage error (exit 2)', async () => {
    const root = tempDir();
    const r = await cliInProcess(root, ['check-config']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/no startup_config\*\.yaml under/);
  });

  it('--schema prints the shipped schema: draft 2020-12, both shapes, accepted by ajv', async () => {
    const r = await cliInProcess(tempDir(), ['check-config', '--schema']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(readFileSync(schemaPath(), 'utf8').trimEnd());
    const schema = JSON.parse(r.stdout);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const validate = new Ajv2020({ strict: true }).compile(schema);
    expect(validate(YAML.parse(readFileSync(path.join(DEMO, 'config', 'startup_config.yaml'), 'utf8')))).toBe(true);
  });
});

describe('schema findings', () => {
  it('places each violation on its key or value, in both shapes', () => {
    const dir = tempDir();
    const file = path.join(dir, 'startup_config.yaml');
    const text = [
      'agent_groups:', //                                     1 (no global_settings)
      '  speech:', //                                          2
      '    TTSConnector:', //                                  3 missing health_check_port
      '      script_path: agents/tts_connector.py', //         4
      '      port: "5590"', //                                 5 a string
      '      restart_policy: always', //                       6 unknown key
      'pc2_services:', //                                      7
      '  - name: MemoryScheduler', //                          8
      '    script_path: agents/memory_scheduler.py', //        9
      '    port: 80', //                                       10 below 1024
      '    health_check_port: 7141', //                        11
      '    env_vars: {RETRIES: 3}', //                         12 not a string
      '',
    ].join('\n');
    writeFileSync(file, text);
    const findings = schemaFindings(parseStartupConfig(dir, file)).map((f) => `${f.line}:${f.col} ${f.message}`);
    expect(findings.sort()).toEqual(
      [
        '1:1 the document: missing required key global_settings',
        '3:5 agent_groups.speech.TTSConnector: missing required key health_check_port',
        '5:13 agent_groups.speech.TTSConnector.port: must be integer',
        '6:7 agent_groups.speech.TTSConnector.restart_policy: key not allowed by the schema',
        '10:11 pc2_services[0].port: must be >= 1024',
        '12:25 pc2_services[0].env_vars.RETRIES: must be string',
      ].sort(),
    );
  });
});

describe('script paths and secrets, unit by unit', () => {
  it('resolves from the root first, then tells which other directory a path only works from', () => {
    const root = tempDir();
    for (const f of ['main_pc_code/agents/a.py', 'shared/b.py', 'tools/helpers/c.py']) {
      mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      writeFileSync(path.join(root, f), '');
    }
    const config = path.join(root, 'main_pc_code', 'config', 'startup_config.yaml');
    expect(resolveScriptPath(root, config, 'main_pc_code/agents/a.py', root)).toEqual({ rel: 'main_pc_code/agents/a.py', from: 'root' });
    expect(resolveScriptPath(root, config, 'agents/a.py', root)).toEqual({ rel: 'main_pc_code/agents/a.py', from: 'machine' });
    expect(resolveScriptPath(root, config, 'helpers/c.py', path.join(root, 'tools'))).toEqual({ rel: 'tools/helpers/c.py', from: 'cwd' });
    expect(resolveScriptPath(root, config, 'shared/missing.py', root)).toEqual({ rel: 'shared/missing.py', from: null });
  });

  it('finds credentials by key and URL anywhere in a config, skipping placeholders and key files', () => {
    const dir = tempDir();
    const file = path.join(dir, 'startup_config.yaml');
    writeFileSync(
      file,
      [
        'global_settings:',
        '  environment:',
        '    API_KEY: sk-live-0123456789', //        plain
        '    TLS_KEY: certs/agent.key', //             a key file, not a key
        'pc2_services:',
        '  - name: Bridge',
        '    script_path: agents/bridge.py',
        '    port: 7000',
        '    health_check_port: 7001',
        '    env_vars:',
        '      NATS_SERVERS: "nats://bridge:n4ts-pw@10.0.0.1:4222,nats://10.0.0.2:4222"',
        '      REDIS_PASSWORD: ""',
        '      AUTH_TOKEN: ${AUTH_TOKEN}',
        '    config:',
        '      nats_password: plain-in-config',
        '',
      ].join('\n'),
    );
    const findings = secretFindings(parseStartupConfig(dir, file));
    expect(findings.map((f) => `${f.line}:${f.col}`)).toEqual(['3:5', '11:7', '15:7']);
    expect(findings.map((f) => f.agent ?? null)).toEqual([null, 'Bridge', 'Bridge']);
    const all = JSON.stringify(findings);
    for (const v of ['sk-live-0123456789', 'n4ts-pw', 'plain-in-config']) expect(all).not.toContain(v);
  });

  it('knows which values to redact and redacts every occurrence', () => {
    const env = { NATS_URL: 'nats://u:p4ssw0rd@h:4222', DB_PASSWORD: 'hunter22', LOG_LEVEL: 'INFO', X_TOKEN: '${X_TOKEN}' };
    const secrets = secretValues(env);
    expect(secrets.sort()).toEqual(['hunter22', 'p4ssw0rd']);
    expect(redact('connect nats://u:p4ssw0rd@h:4222 with hunter22, again hunter22', secrets)).toBe(
      'connect nats://u:***@h:4222 with ***, again ***',
    );
  });
});

describe('fixture integrity', () => {
  it('the expected findings name the fixture files that exist', () => {
    const root = tempDir();
    cpSync(DUAL, root, { recursive: true });
    const expected = readFileSync(path.join(DUAL, 'expected-findings.txt'), 'utf8').trimEnd().split('\n').slice(0, -1);
    expect(expected).toHaveLength(8);
    for (const line of expected) expect(readFileSync(path.join(root, line.split(':')[0]!), 'utf8').length).toBeGreaterThan(0);
  });
});
