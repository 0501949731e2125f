// tsleft47-ingest-listen-failure-exits: the agent's business server cannot listen (EADDRINUSE, the
// previous instance still holds INGEST_PORT). The legacy's `main().catch(...)` logged "failed to
// start" and exited 1, so systemd restarted it. The base only logs a failing onStart() and keeps
// running: before the fix the _v2 stayed up (health ok, nothing on /ingest) until killed. Both
// files, started for real with the port taken, must exit 1 on their own and log the line.
// guarded-entry-start-catch-exits-spool-worker: the same through `worker.start().catch(h)` inside
// `if (require.main === module)`, the spool directory impossible to create (under a regular file).
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
const fixtures = path.join(here, '..', 'fixtures', 'typescript');
interface Case {
  name: string;
  agent: string;
  /** The environment that makes start() fail, and what it needs cleaned up. */
  failing: (root: string) => Promise<{ env: NodeJS.ProcessEnv; done: () => void }>;
  line: RegExp;
}
const cases: Case[] = [
  {
    name: 'tsleft47-ingest-listen-failure-exits',
    agent: 'services/telemetry-ingest.ts',
    failing: async () => {
      const holder = net.createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      return { env: { INGEST_PORT: String((holder.address() as net.AddressInfo).port) }, done: () => holder.close() };
    },
    line: /telemetry-ingest failed to start: Error: listen EADDRINUSE/,
  },
  {
    name: 'guarded-entry-start-catch-exits-spool-worker',
    agent: 'services/thumbnail-worker.ts',
    failing: async (root) => {
      writeFileSync(path.join(root, 'not-a-dir'), '');
      return { env: { THUMB_QUEUE_DIR: path.join(root, 'not-a-dir', 'spool'), WORKER_HEALTH_PORT: '0' }, done: () => undefined };
    },
    line: /thumbnail-worker: cannot start: ENOTDIR/,
  },
];
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function materialize(fixture: string, agent: string, v2: string): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-start-failure-'));
  roots.push(root);
  mkdirSync(path.join(root, path.dirname(agent)), { recursive: true });
  writeFileSync(path.join(root, agent), readFileSync(path.join(fixture, 'input.ts'), 'utf8'));
  writeFileSync(path.join(root, v2), readFileSync(path.join(fixture, 'expected.ts'), 'utf8'));
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true }\n');
  return root;
}

describe('a start() that fails ends the process, as the legacy entry point did', () => {
  for (const c of cases) {
    const fixture = path.join(fixtures, c.name);
    const v2 = c.agent.replace(/\.ts$/, '_v2.ts');
    for (const [side, file] of [['legacy', c.agent], ['_v2', v2]] as const) {
      it(`${c.name} ${side}: start() fails -> logs the handler's line and exits 1 on its own`, async () => {
        const root = materialize(fixture, c.agent, v2);
        const failing = await c.failing(root);
        const cmd = await launchTypeScript(root, file, loadProfile('base-agent'));
        const env: NodeJS.ProcessEnv = { ...process.env, ...cmd.env, HEALTH_CHECK_PORT: '0', ...failing.env };
        for (const k of ['AGENT_PORT', 'REGISTRY_URL', 'METRICS_URL', 'AGENT_NAME']) delete env[k];
        const child = spawn(cmd.command, cmd.args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let log = '';
        child.stdout.on('data', (d) => (log += String(d)));
        child.stderr.on('data', (d) => (log += String(d)));
        try {
          const code = await new Promise<number | null>((resolve) => {
            const timer = setTimeout(() => resolve(null), 15_000);
            child.on('exit', (x) => {
              clearTimeout(timer);
              resolve(x);
            });
          });
          expect(code, `still running 15 s after start() failed:\n${log}`).toBe(1);
          expect(log).toMatch(c.line);
        } finally {
          if (child.exitCode === null) child.kill('SIGKILL');
          failing.done();
          await cmd.cleanup?.();
        }
      }, 60_000);
    }
  }
});
