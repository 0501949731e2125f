// The reference Python BaseAgent's own stdlib unittest suite (it starts real
// agents: /health, /metrics, HTTP and Redis registration, pushes, SIGTERM/SIGINT exit 0).
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

const RUNTIME = path.resolve(__dirname, '..', 'templates', 'runtime', 'python');

describe('templates/runtime/python BaseAgent', () => {
  it('passes its unittest suite on the machine python3', async () => {
    if (!existsSync('/usr/bin/redis-server') && process.env.CI) throw new Error('CI must install redis-server');
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile('python3', ['-m', 'unittest', 'discover', '-s', 'tests', '-v'], {
        cwd: RUNTIME,
        timeout: 60_000,
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      }, (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }));
      void child;
    });
    expect(stderr).toMatch(/^Ran \d+ tests in/m);
    expect(stderr, stderr).toMatch(/^OK/m);
    expect(code).toBe(0);
    if (existsSync('/usr/bin/redis-server')) expect(stderr).toMatch(/test_redis_registry .* ok$/m);
  });
});
