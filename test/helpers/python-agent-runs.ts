// Legacy files and their _v2 started for real by a runtime test: the fixture roots it made and the python3
// processes it started, removed and killed once the file's tests ran; each process's output collected.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll } from 'vitest';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface AgentRuns {
  /** A materialized fixture root, removed after the file's tests. */
  root(dir: string): string;
  /**
   * `python3 args...` in `root` with the root on the import path, unbuffered, and no port, registry or metrics
   * variable of the test's own environment (`env` gives those it wants).
   */
  start(root: string, args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string };
}

export function agentRuns(): AgentRuns {
  const roots: string[] = [];
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });
  return {
    root(dir) {
      roots.push(dir);
      return dir;
    },
    start(root, args, env) {
      const base: Record<string, string> = { ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' };
      for (const k of ['AGENT_PORT', 'HEALTH_CHECK_PORT', 'REGISTRY_URL', 'METRICS_URL', 'AGENT_NAME']) delete base[k];
      const child = spawn('python3', args, { cwd: root, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let text = '';
      child.stdout!.on('data', (d) => (text += d));
      child.stderr!.on('data', (d) => (text += d));
      return { child, output: () => text.slice(-3000) };
    },
  };
}
