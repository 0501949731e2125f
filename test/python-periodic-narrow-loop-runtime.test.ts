// spool-forwarder-narrow-oserror-loop (seed 000, reference BaseAgent): the legacy run() polled with its work
// in a try catching only OSError, so any other exception (a job file that is not JSON) ended the agent (exit 1);
// BaseAgent.run() calls run_once() catching every exception. The rewrite's warning says so: run here for real,
// the legacy file and its _v2 side by side, each on its own spool with one malformed job between good ones: the
// legacy exits 1 with the JSONDecodeError's traceback, the _v2 logs "run_once failed" on every tick, keeps
// running until SIGTERM (exit 0), and, as the legacy, forwards the good job sorted before the bad one.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts } from '../src/validate/ports.js';
import { exitedWithOutput } from './helpers/exited.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

async function runFor(file: string, root: string, ms: number) {
  const spool = path.join(root, 'spool');
  const outbox = path.join(root, 'outbox');
  mkdirSync(spool, { recursive: true });
  writeFileSync(path.join(spool, 'a-daily.json'), JSON.stringify({ report: 'daily' }));
  writeFileSync(path.join(spool, 'b-broken.json'), '{"report": "weekly", ');
  const [port, health] = await allocatePorts(2);
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', AGENT_HOST: '127.0.0.1' };
  for (const k of ['REGISTRY_URL', 'METRICS_URL']) delete env[k];
  Object.assign(env, { AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health), REPORT_SPOOL_DIR: spool, REPORT_OUTBOX_DIR: outbox });
  const child = spawn('python3', [file, String(port)], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = exitedWithOutput(child);
  const alone = await Promise.race([exited, sleep(ms).then(() => 'running' as const)]);
  if (alone === 'running') child.kill('SIGTERM');
  const code = alone === 'running' ? await Promise.race([exited, sleep(10_000).then(() => 'hung' as const)]) : alone;
  if (code === 'hung') child.kill('SIGKILL');
  return { alone: alone !== 'running', code, output, forwarded: existsSync(path.join(outbox, 'a-daily.json')) ? JSON.parse(readFileSync(path.join(outbox, 'a-daily.json'), 'utf8')) : null };
}

it('a periodic loop catching only OSError: the legacy dies of a malformed job, the _v2 on BaseAgent logs it and runs on, as its warning says', async () => {
  const c = listCases().find((k) => k.name === 'spool-forwarder-narrow-oserror-loop')!;
  const legacyRoot = materialize(c);
  const v2Root = materialize(c);
  roots.push(legacyRoot, v2Root);
  const v2 = path.join(v2Root, c.rel.replace(/\.py$/, '_v2.py'));
  writeFileSync(v2, readFileSync(c.expectedFile));

  const [before, after] = await Promise.all([runFor(path.join(legacyRoot, c.rel), legacyRoot, 8_000), runFor(v2, v2Root, 4_000)]);
  expect(before.alone, before.output).toBe(true);
  expect(before.code, before.output).toBe(1);
  expect(before.output).toMatch(/json\.decoder\.JSONDecodeError/);
  expect(before.forwarded?.sequence, before.output).toBe(1);

  expect(after.alone, after.output).toBe(false);
  expect(after.code, after.output).toBe(0);
  expect(after.output.match(/run_once failed/g)?.length ?? 0, after.output).toBeGreaterThanOrEqual(2);
  expect(after.forwarded?.sequence, after.output).toBe(1);
}, 60_000);
