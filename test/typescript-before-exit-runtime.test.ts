// A 'beforeExit' listener of the entry point (write the cursor a restart resumes from, log the line
// the deploy check greps) ran in the legacy process on SIGTERM: its handler only stopped the agent
// and the event loop drained. The base ends the process with process.exit(), which skips
// 'beforeExit'. The cjs-before-exit-cursor-file fixture, legacy file and _v2, is started for real
// against a loopback gateway that accepts two outbox rows; after SIGTERM both must have written the
// cursor file (2) and logged "drained at cursor 2". Before the listener became an 'exit' listener,
// the _v2 wrote neither.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { launchTypeScript } from '../src/lang/typescript/launch.js';
import { loadProfile, templatesDir } from '../src/profile/profile.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'cjs-before-exit-cursor-file');
const agent = 'services/outbox-relay.js';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function materialize(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-before-exit-'));
  roots.push(root);
  mkdirSync(path.join(root, 'services'), { recursive: true });
  writeFileSync(path.join(root, agent), readFileSync(path.join(fixture, 'input.js'), 'utf8'));
  writeFileSync(path.join(root, agent.replace(/\.js$/, '_v2.js')), readFileSync(path.join(fixture, 'expected.js'), 'utf8'));
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true }\n');
  mkdirSync(path.join(root, 'outbox'));
  for (const seq of [1, 2]) writeFileSync(path.join(root, 'outbox', `${seq}.json`), JSON.stringify({ seq }));
  return root;
}

describe("a 'beforeExit' listener still runs after the base's SIGTERM exit", () => {
  for (const [side, file] of [['legacy', agent], ['_v2', agent.replace(/\.js$/, '_v2.js')]] as const) {
    it(`${side}: two rows relayed, then SIGTERM, writes the cursor and logs it`, async () => {
      const root = materialize();
      let received = 0;
      const gateway = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          received++;
          res.writeHead(202).end();
        });
      });
      await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
      const gatewayPort = (gateway.address() as import('node:net').AddressInfo).port;
      const cmd = await launchTypeScript(root, file, loadProfile('base-agent'));
      const cursor = path.join(root, 'outbox.cursor');
      const env: NodeJS.ProcessEnv = { ...process.env, ...cmd.env, HEALTH_CHECK_PORT: '0', OUTBOX_HEALTH_PORT: '0', OUTBOX_DIR: path.join(root, 'outbox'), OUTBOX_CURSOR: cursor, EVENTS_GATEWAY: `http://127.0.0.1:${gatewayPort}/events` };
      for (const k of ['AGENT_PORT', 'REGISTRY_URL', 'METRICS_URL', 'AGENT_NAME']) delete env[k];
      const child = spawn(cmd.command, cmd.args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      child.stdout.on('data', (c) => (log += String(c)));
      child.stderr.on('data', (c) => (log += String(c)));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      try {
        const end = Date.now() + 30_000;
        while (Date.now() < end && child.exitCode === null && received < 2) await new Promise((r) => setTimeout(r, 50));
        expect(received, log).toBe(2);
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        const code = await exited;
        clearTimeout(timer);
        expect(code, log).toBe(0);
        expect(existsSync(cursor), `no cursor file after SIGTERM:\n${log}`).toBe(true);
        expect(readFileSync(cursor, 'utf8')).toBe('2');
        expect(log).toMatch(/outbox-relay drained at cursor 2/);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        gateway.close();
        await cmd.cleanup?.();
      }
    }, 60_000);
  }
});
