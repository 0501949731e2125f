// Two migrated agents started by one runner process (bin/run-all.ts imports both classes and
// starts them): each base instance registers its own SIGTERM handler, and each handler exited the
// process once *its* agent had stopped. The agent that stopped first cut the other's stop short:
// its onStop() drain never finished and it never deregistered (the registry kept a dead entry).
// The base now waits for every agent of the process before it exits. Started for real against a
// loopback registry: after SIGTERM both agents must have drained and deregistered, and the
// process must end with 0. Fails before the base change (the slow drainer's lines are missing).
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { launchTypeScript } from '../src/lang/typescript/launch.js';
import { loadProfile, templatesDir } from '../src/profile/profile.js';
import { exitedWithOutput } from './helpers/exited.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const LEDGER = `import { BaseAgent } from '../common/core/base-agent.js';

// Mirrors settled payments into the ledger; on stop it flushes what it has batched (fast).
export class LedgerSync extends BaseAgent {
  private batch: string[] = ['pmt-1', 'pmt-2'];

  constructor() {
    super({ name: 'ledger-sync', healthCheckPort: 0 });
  }

  protected override async onStop(): Promise<void> {
    console.log(\`ledger-sync: flushed \${this.batch.length} payments\`);
    this.batch = [];
  }
}
`;

const ALERTS = `import { setTimeout as sleep } from 'node:timers/promises';
import { BaseAgent } from '../common/core/base-agent.js';

// Fans alerts out to the on-call channels; on stop it drains the alerts still in flight, which
// takes a while (each one is acknowledged by the pager before it is dropped).
export class AlertFanout extends BaseAgent {
  private inFlight = 3;

  constructor() {
    super({ name: 'alert-fanout', healthCheckPort: 0 });
  }

  protected override async onStop(): Promise<void> {
    while (this.inFlight > 0) {
      await sleep(250);
      this.inFlight -= 1;
    }
    console.log('alert-fanout: drained all in-flight alerts');
  }
}
`;

const RUNNER = `import { AlertFanout } from '../agents/alert-fanout.js';
import { LedgerSync } from '../agents/ledger-sync.js';

// One process for both (the small deployment): started together, stopped by the one SIGTERM.
const agents = [new LedgerSync(), new AlertFanout()];
await Promise.all(agents.map((a) => a.start()));
console.log('run-all: both agents up');
`;

it('SIGTERM to a process running two agents lets both stop and deregister before it exits', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-two-agents-'));
  roots.push(root);
  for (const [file, text] of [['agents/ledger-sync.ts', LEDGER], ['agents/alert-fanout.ts', ALERTS], ['bin/run-all.ts', RUNNER]]) {
    mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true, "type": "module" }\n');

  const events: string[] = [];
  const registry = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      events.push(`${req.url} ${JSON.parse(body || '{}').name}`);
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
  const cmd = await launchTypeScript(root, 'bin/run-all.ts', loadProfile('base-agent'));
  const env: NodeJS.ProcessEnv = { ...process.env, ...cmd.env, REGISTRY_URL: `http://127.0.0.1:${(registry.address() as net.AddressInfo).port}` };
  for (const k of ['AGENT_PORT', 'HEALTH_CHECK_PORT', 'METRICS_URL', 'AGENT_NAME']) delete env[k];
  const child = spawn(cmd.command, cmd.args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (c) => (log += String(c)));
  child.stderr.on('data', (c) => (log += String(c)));
  const exited = exitedWithOutput(child);
  try {
    const deadline = Date.now() + 20_000;
    while (!(events.includes('/register ledger-sync') && events.includes('/register alert-fanout')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(events, log).toEqual(expect.arrayContaining(['/register ledger-sync', '/register alert-fanout']));
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    expect(code, log).toBe(0);
    expect(log).toMatch(/ledger-sync: flushed 2 payments/);
    expect(log).toMatch(/alert-fanout: drained all in-flight alerts/);
    expect(events).toEqual(expect.arrayContaining(['/deregister ledger-sync', '/deregister alert-fanout']));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    registry.close();
    await cmd.cleanup?.();
  }
}, 60_000);
