// pyleft51-entry-ctrl-c-exit-130-finally-cleanup: the entry point's `except KeyboardInterrupt:` ends the process
// with 130 (a cron wrapper's "stopped by an operator"), its finally: runs agent.cleanup(). The legacy agent and the
// _v2 on the reference BaseAgent (whose __init__ installs its own SIGINT handler, exiting 0) are both stopped with
// SIGINT: both must exit 130, log the clause's line once and save their state in cleanup(); the _v2 also
// deregisters (the base's stop path ran). Before the fix the _v2 exited 0 and the clause's line was never written
// (the rewrite kept a review item instead).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts, releasePorts } from '../src/validate/ports.js';
import { recordingRegistry } from './helpers/python-hardened.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function interrupted(root: string, file: string, env: Record<string, string>): Promise<{ code: number | null; log: string }> {
  let log = '';
  const child = spawn('python3', [file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', ...env } });
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const end = Date.now() + 15_000;
  while (Date.now() < end && child.exitCode === null && !log.includes('exported job-1.json')) await sleep(100);
  child.kill('SIGINT');
  const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') child.kill('SIGKILL');
  return { code: code === 'timeout' ? null : code, log };
}

it('Ctrl-C still ends the agent with the entry point clause\'s exit code 130, after its teardown, legacy and _v2 alike', async () => {
  const c = listCases().find((k) => k.name === 'pyleft51-entry-ctrl-c-exit-130-finally-cleanup')!;
  for (const which of ['legacy', 'v2'] as const) {
    const root = materialize(c);
    roots.push(root);
    const file = which === 'legacy' ? c.rel : c.rel.replace(/\.py$/, '_v2.py');
    if (which === 'v2') writeFileSync(path.join(root, file), readFileSync(path.join(c.dir, 'expected.py')));
    mkdirSync(path.join(root, 'data', 'report_queue'), { recursive: true });
    writeFileSync(path.join(root, 'data', 'report_queue', 'job-1.json'), '{"report": "ledger-2026-12"}');
    const given = await allocatePorts(2);
    const paths: string[] = [];
    const { server, url } = await recordingRegistry(paths);
    try {
      const { code, log } = await interrupted(root, file, {
        REPORT_EXPORT_PORT: String(given[0]), AGENT_PORT: String(given[0]), HEALTH_CHECK_PORT: String(given[1]), REGISTRY_URL: url, METRICS_URL: '',
      });
      expect(code, `${which}:\n${log}`).toBe(130);
      expect(log.split('report export interrupted by operator').length - 1, `${which}:\n${log}`).toBe(1);
      expect(log.split('report export state saved').length - 1, `${which}:\n${log}`).toBe(1);
      expect(existsSync(path.join(root, 'data', 'report_export_state.json')), which).toBe(true);
      if (which === 'v2') expect(paths.some((p) => /deregister|DELETE/i.test(p)), paths.join('\n')).toBe(true);
    } finally {
      server.close();
      releasePorts(given);
    }
  }
}, 90_000);
