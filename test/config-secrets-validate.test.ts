// Item 3 of issue 13: a startup config's env_vars reach the validated agent through its
// environment only (never argv: `ps` never shows them while it runs), and every report,
// record and cached validation the tool stores has the credential values redacted.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentInfo, ValidationReport } from '../src/core/types.js';
import { loadProfile } from '../src/profile/profile.js';
import { configLaunchEnvironments } from '../src/config/launch-env.js';
import { startValidationEnvironment, type ValidationEnvironment } from '../src/validate/environment.js';
import { validateAgent, type ValidateAgentOptions } from '../src/validate/validate-agent.js';
import { cliInProcess, commitAll, ensureBuilt, git, initGit, killAgentProcessesUnder, REPO } from './helpers/cli.js';

const FIXTURE = path.join(REPO, 'fixtures', 'validate', 'secrets');
const BASE = path.join(REPO, 'templates', 'runtime', 'python', 'common');
const KEY_SECRET = 'pw-key-7f3a91c2';
const URL_SECRET = 'pw-url-5be0d4e8';
const profile = loadProfile('base-agent');
const temps: string[] = [];
let env: ValidationEnvironment;

beforeAll(async () => {
  ensureBuilt();
  env = await startValidationEnvironment();
}, 180_000);
afterAll(async () => {
  await env?.close();
  for (const d of temps) {
    killAgentProcessesUnder(d);
    rmSync(d, { recursive: true, force: true });
  }
});

/** The fixture with the reference base, and a PC2-style config pointing NatsBridge at `natsPort`. */
function fleet(natsPort: number): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-secrets-'));
  temps.push(root);
  cpSync(FIXTURE, root, { recursive: true });
  cpSync(BASE, path.join(root, 'common'), { recursive: true, filter: (p) => !p.includes('__pycache__') && !p.includes('/tests') });
  mkdirSync(path.join(root, 'config'), { recursive: true });
  writeFileSync(
    path.join(root, 'config', 'startup_config.yaml'),
    [
      'global_settings:',
      '  environment:',
      '    LOG_LEVEL: INFO',
      'pc2_services:',
      '  - name: NatsBridge',
      '    script_path: agents/nats_bridge.py',
      '    port: 7160',
      '    health_check_port: 7161',
      '    env_vars:',
      `      NATS_URL: "nats://bridge:${URL_SECRET}@127.0.0.1:${natsPort}"`,
      `      NATS_PASSWORD: "${KEY_SECRET}"`,
      '',
    ].join('\n'),
  );
  return root;
}

/** A loopback stand-in for the NATS server: records each CONNECT line it is sent. */
async function fakeNats(): Promise<{ port: number; connects: string[]; close(): Promise<void> }> {
  const connects: string[] = [];
  const server = net.createServer((s) => {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      const line = buf.split('\r\n').find((l) => l.startsWith('CONNECT '));
      if (line && !connects.includes(line)) connects.push(line);
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connects,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const agent: AgentInfo = {
  name: 'NatsBridge',
  file: 'agents/nats_bridge.py',
  output: 'agents/nats_bridge_v2.py',
  language: 'python',
  class: 'NatsBridge',
  status: 'legacy',
  findings: [],
  line: 26,
  evidence: [],
  config_names: ['NatsBridge'],
};

function options(root: string, extra: Partial<ValidateAgentOptions> = {}): ValidateAgentOptions {
  return {
    root,
    agent,
    file: path.join(root, agent.output!),
    legacyFile: path.join(root, agent.file),
    profile,
    env,
    legacyWindowMs: 1500,
    healthDeadlineMs: 15_000,
    registryDeadlineMs: 15_000,
    metricsDeadlineMs: 15_000,
    ...configLaunchEnvironments(root, {})(agent),
    ...extra,
  };
}

describe('config env_vars in validation', () => {
  it('reach the agent through its environment, never its command line: ps shows no secret while it runs', async () => {
    const nats = await fakeNats();
    const root = fleet(nats.port);
    try {
      const o = options(root);
      expect(o.configEnv).toEqual({ LOG_LEVEL: 'INFO', NATS_URL: `nats://bridge:${URL_SECRET}@127.0.0.1:${nats.port}`, NATS_PASSWORD: KEY_SECRET });
      expect([...o.secrets!].sort()).toEqual([KEY_SECRET, URL_SECRET].sort());

      let done = false;
      const validation = validateAgent(o).finally(() => (done = true));
      const listings: string[] = [];
      const environs: string[] = [];
      // Bounded: validation ends by itself within its time limit; stop looking when it does.
      for (let i = 0; i < 2000 && !done; i++) {
        const ps = await execa('ps', ['-eww', '-o', 'pid=,args='], { reject: false });
        listings.push(String(ps.stdout));
        for (const line of String(ps.stdout).split('\n')) {
          const m = /^\s*(\d+)\s+(.*nats_bridge(_v2)?\.py.*)$/.exec(line);
          if (m && m[2]!.includes(root)) {
            try {
              environs.push(readFileSync(`/proc/${m[1]}/environ`, 'utf8'));
            } catch {
              // exited between ps and the read
            }
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      const report = await validation;
      expect(report.ok, JSON.stringify(report)).toBe(true);
      expect(listings.some((l) => l.includes(path.join(root, 'agents', 'nats_bridge_v2.py')))).toBe(true);
      for (const l of listings) {
        expect(l).not.toContain(KEY_SECRET);
        expect(l).not.toContain(URL_SECRET);
      }
      // It was there, in the environment, and the agent used it.
      expect(environs.some((e) => e.split('\0').includes(`NATS_PASSWORD=${KEY_SECRET}`))).toBe(true);
      expect(nats.connects.some((c) => c.includes(`"pass": "${URL_SECRET}"`))).toBe(true);
      expect(JSON.stringify(report)).not.toMatch(new RegExp(`${KEY_SECRET}|${URL_SECRET}`));
    } finally {
      await nats.close();
    }
  });

  it('are redacted from the report when the agent logs them', async () => {
    const root = fleet(await closedPort());
    const report: ValidationReport = await validateAgent(options(root));
    const log = report.checks.find((c) => c.name === 'log')!;
    // The _v2 logs its failed publishes at ERROR, the legacy agent at WARNING: a new ERROR line, quoted redacted.
    expect(log.ok).toBe(false);
    expect(log.detail).toContain('publish to nats://bridge:***@127.0.0.1:');
    expect(JSON.stringify(report)).not.toMatch(new RegExp(`${KEY_SECRET}|${URL_SECRET}`));
  });

  it('a launch that would put a credential on the command line is refused before anything starts', async () => {
    const root = fleet(await closedPort());
    const report = await validateAgent(
      options(root, { launch: { command: 'python3', args: [path.join(root, agent.output!), '--nats-password', KEY_SECRET] } }),
    );
    expect(report.ok).toBe(false);
    expect(report.error).toMatch(/a credential from its startup config would be on its command line/);
    expect(JSON.stringify(report)).not.toContain(KEY_SECRET);
  });

  it('migrate validate (CLI) prints and caches only redacted evidence', async () => {
    const root = fleet(await closedPort());
    initGit(root);
    const r = await cliInProcess(root, ['validate', 'NatsBridge', '--json']);
    expect(r.exitCode).toBe(1);
    const cache = readFileSync(path.join(root, git(root, ['rev-parse', '--git-dir']), 'migrate', 'validated', 'NatsBridge.json'), 'utf8');
    for (const text of [r.stdout, r.stderr, cache]) {
      expect(text).not.toContain(KEY_SECRET);
      expect(text).not.toContain(URL_SECRET);
    }
    expect(r.stdout).toContain('nats://bridge:***@');
    commitAll(root, 'nothing left behind');
  });
});
