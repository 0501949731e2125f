// A teardown reached only through the entry point's own SIGTERM handler must still run on the base,
// at run time: the migrated usbguard-entry-signal-close fixture runs on the reference base; on SIGTERM
// the base's handler (installed by run_forever() over the legacy one) stops the loop and calls
// shutdown(), which must run close(): the devices seen are saved and the closing line is logged,
// exit status 0. Before the fix the output had no shutdown(): the legacy handler was replaced, close()
// never ran, the file was never written (and the run was reported migrated).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

it("the entry point's SIGTERM handler's close() still runs at SIGTERM, from shutdown()", async () => {
  const { root, v2 } = await migratedCase('usbguard-entry-signal-close');
  const dev = path.join(root, 'sys/bus/usb/devices/1-1');
  mkdirSync(dev, { recursive: true });
  writeFileSync(path.join(dev, 'idVendor'), '0781\n');
  writeFileSync(path.join(dev, 'idProduct'), '5581\n');
  const seen = path.join(root, 'seen_devices.json');
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
        EVENTBUS_ADDRESS: '127.0.0.1:9',
        AMOSKYS_CERT_DIR: path.join(root, 'certs'),
        USBGUARD_SYSFS: path.join(root, 'sys/bus/usb/devices'),
        USBGUARD_SEEN: seen,
        USBGUARD_QUEUE: path.join(root, 'data/usbguard.db'),
        USBGUARD_INTERVAL: '1',
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
    // One cycle at least, so the device is among those seen.
    await new Promise((r) => setTimeout(r, 1500));
    expect(existsSync(seen), 'nothing writes the file before SIGTERM').toBe(false);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code, log).toBe(0);
    expect(existsSync(seen), log).toBe(true);
    expect(readFileSync(seen, 'utf8')).toContain('"1-1"');
    expect(log).toContain('usbguard closing, 1 devices remembered');
  } finally {
    server.close();
  }
}, 90_000);
