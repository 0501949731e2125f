// A kept shutdown() that ended the legacy agent with sys.exit(0) must not cut HardenedAgentBase's
// teardown short, at run time: the migrated sudo-log-shutdown-exit-entry-signal fixture runs on the
// reference base with a loopback registry; on SIGTERM the base calls shutdown() inside its teardown,
// and the teardown must go on to deregister the agent and log "<name> stopped", exit status 0.
// Before the fix the exit stayed and raised SystemExit inside the base's teardown: registered, never
// deregistered, no "stopped" line, still exit 0 (so the validator's shutdown check passed).
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { migratedCase, removeRoots } from './helpers/python-hardened.js';

afterAll(removeRoots);

function registry(paths: string[]): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      paths.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    resolve({ server, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` });
  }));
}

it("a shutdown() ending in sys.exit(0) lets the base's teardown deregister the agent", async () => {
  const { root, v2 } = await migratedCase('sudo-log-shutdown-exit-entry-signal');
  const paths: string[] = [];
  const { server, url } = await registry(paths);
  let log = '';
  try {
    const child = spawn('python3', [v2], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PYTHONPATH: root,
        PYTHONDONTWRITEBYTECODE: '1',
        REGISTRY_URL: url,
        METRICS_URL: '',
        HEALTH_CHECK_PORT: '0',
        METRICS_PORT: '0',
        COLLECTION_INTERVAL: '0.2',
        SUDOLOG_AUTH_LOG: path.join(root, 'var/log/auth.log'),
        SUDOLOG_QUEUE_PATH: path.join(root, 'data/queue/sudolog.db'),
        no_proxy: '*',
        NO_PROXY: '*',
      },
    });
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const end = Date.now() + 20_000;
    while (Date.now() < end && child.exitCode === null && !paths.includes('POST /register')) await new Promise((r) => setTimeout(r, 100));
    expect(paths, log).toContain('POST /register');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code, log).toBe(0);
    expect(paths, log).toContain('POST /deregister');
    expect(log).toContain('SudoLogAgent stopped');
  } finally {
    server.close();
  }
}, 90_000);
