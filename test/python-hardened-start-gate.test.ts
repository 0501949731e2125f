// sudoers-signed-start-gate: `if not agent.start(): sys.exit(1)` with start() reading an HMAC key, become
// setup() and `if not agent.run_forever(): sys.exit(1)`. Run here for real on the reference base, beside the
// legacy file: without the key both exit 1 with start()'s ERROR line; with it both keep running.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { migratedCase, removeRoots } from './helpers/python-hardened.js';

afterAll(removeRoots);

function env(root: string, key: string) {
  return {
    ...process.env,
    PYTHONPATH: root,
    PYTHONDONTWRITEBYTECODE: '1',
    EVENTBUS_ADDRESS: '127.0.0.1:9',
    SIGNING_KEY_FILE: key,
    SUDOERS_DIR: path.join(root, 'etc/sudoers.d'),
    COLLECTION_INTERVAL: '0.3',
  };
}

/** Alive after the first cycles: started, and not exited on a refused setup. */
function stillRunsAfter(root: string, file: string, key: string, ms: number): Promise<{ alive: boolean; log: string }> {
  return new Promise((resolve) => {
    const p = spawn('python3', [file], { cwd: root, env: env(root, key) });
    let log = '';
    let exited = false;
    p.stdout.on('data', (d) => (log += d));
    p.stderr.on('data', (d) => (log += d));
    p.on('exit', () => (exited = true));
    setTimeout(() => {
      const alive = !exited;
      p.kill('SIGKILL');
      resolve({ alive, log });
    }, ms);
  });
}

it('a start() gate become setup() exits 1 with its log line when the key is missing, as the legacy did, and runs with it', async () => {
  const { c, root, v2 } = await migratedCase('sudoers-signed-start-gate');
  const legacy = path.join(root, c.rel);
  const missing = path.join(root, 'etc/no-such.key');
  for (const file of [legacy, v2]) {
    const r = spawnSync('python3', [file], { cwd: root, encoding: 'utf8', timeout: 60_000, env: env(root, missing) });
    expect(r.status, `${file}: ${r.stdout}${r.stderr}`).toBe(1);
    expect(`${r.stdout}${r.stderr}`).toContain(`cannot read signing key ${missing}`);
  }
  const key = path.join(root, 'etc/signing.key');
  mkdirSync(path.join(root, 'etc/sudoers.d'), { recursive: true });
  writeFileSync(key, 'k3y-for-tests\n');
  writeFileSync(path.join(root, 'etc/sudoers.d/ops'), '%ops ALL=(ALL) NOPASSWD: /usr/bin/systemctl\n');
  for (const file of [legacy, v2]) {
    const r = await stillRunsAfter(root, file, key, 3000);
    expect(r.alive, `${file}: ${r.log}`).toBe(true);
    expect(r.log).not.toContain('cannot read signing key');
  }
}, 120_000);
