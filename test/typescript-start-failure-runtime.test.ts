// tsleft47-ingest-listen-failure-exits: the agent's business server cannot listen (EADDRINUSE, the
// previous instance still holds INGEST_PORT). The legacy's `main().catch(...)` logged "failed to
// start" and exited 1, so systemd restarted it. The base only logs a failing onStart() and keeps
// running: before the fix the _v2 stayed up (health ok, nothing on /ingest) until killed. Both
// files, started for real with the port taken, must exit 1 on their own and log the line.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { templatesDir, loadProfile } from '../src/profile/profile.js';
import { launchTypeScript } from '../src/lang/typescript/launch.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'tsleft47-ingest-listen-failure-exits');
const agent = 'services/telemetry-ingest.ts';
const v2 = agent.replace(/\.ts$/, '_v2.ts');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function materialize(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-start-failure-'));
  roots.push(root);
  mkdirSync(path.join(root, 'services'), { recursive: true });
  writeFileSync(path.join(root, agent), readFileSync(path.join(fixture, 'input.ts'), 'utf8'));
  writeFileSync(path.join(root, v2), readFileSync(path.join(fixture, 'expected.ts'), 'utf8'));
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true }\n');
  return root;
}

describe('a business server that cannot listen ends the process, as the legacy entry point did', () => {
  for (const [side, file] of [['legacy', agent], ['_v2', v2]] as const) {
    it(`${side}: INGEST_PORT taken -> logs "failed to start" and exits 1 on its own`, async () => {
      const root = materialize();
      const holder = net.createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      const port = (holder.address() as net.AddressInfo).port;
      const cmd = await launchTypeScript(root, file, loadProfile('base-agent'));
      const env: NodeJS.ProcessEnv = { ...process.env, ...cmd.env, HEALTH_CHECK_PORT: '0', INGEST_PORT: String(port) };
      for (const k of ['AGENT_PORT', 'REGISTRY_URL', 'METRICS_URL', 'AGENT_NAME']) delete env[k];
      const child = spawn(cmd.command, cmd.args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      child.stdout.on('data', (c) => (log += String(c)));
      child.stderr.on('data', (c) => (log += String(c)));
      try {
        const code = await new Promise<number | null>((resolve) => {
          const timer = setTimeout(() => resolve(null), 15_000);
          child.on('exit', (c) => {
            clearTimeout(timer);
            resolve(c);
          });
        });
        expect(code, `still running 15 s after the failed listen:\n${log}`).toBe(1);
        expect(log).toMatch(/telemetry-ingest failed to start: Error: listen EADDRINUSE/);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        holder.close();
        await cmd.cleanup?.();
      }
    }, 60_000);
  }
});
