// A teardown reached only through the entry point's own SIGTERM handler must still run on the base,
// at run time: the migrated usbguard-entry-signal-close fixture runs on the reference base; on SIGTERM
// the base's handler (installed by run_forever() over the legacy one) stops the loop and calls
// shutdown(), which must run close(): the devices seen are saved and the closing line is logged,
// exit status 0. Before the fix the output had no shutdown(): the legacy handler was replaced, close()
// never ran, the file was never written (and the run was reported migrated).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { migratedCase, recordingRegistry, removeRoots, startOnBase } from './helpers/python-hardened.js';

afterAll(removeRoots);

it("the entry point's SIGTERM handler's close() still runs at SIGTERM, from shutdown()", async () => {
  const { root, v2 } = await migratedCase('usbguard-entry-signal-close');
  const dev = path.join(root, 'sys/bus/usb/devices/1-1');
  mkdirSync(dev, { recursive: true });
  writeFileSync(path.join(dev, 'idVendor'), '0781\n');
  writeFileSync(path.join(dev, 'idProduct'), '5581\n');
  const seen = path.join(root, 'seen_devices.json');
  const paths: string[] = [];
  const { server, url } = await recordingRegistry(paths);
  try {
    const { child, exited, output: log } = startOnBase(root, v2, url, {
      COLLECTION_INTERVAL: '0.2',
      EVENTBUS_ADDRESS: '127.0.0.1:9',
      AMOSKYS_CERT_DIR: path.join(root, 'certs'),
      USBGUARD_SYSFS: path.join(root, 'sys/bus/usb/devices'),
      USBGUARD_SEEN: seen,
      USBGUARD_QUEUE: path.join(root, 'data/usbguard.db'),
      USBGUARD_INTERVAL: '1',
    });
    const end = Date.now() + 20_000;
    while (Date.now() < end && child.exitCode === null && !paths.includes('POST /register')) await new Promise((r) => setTimeout(r, 100));
    expect(paths, log()).toContain('POST /register');
    // One cycle at least, so the device is among those seen.
    await new Promise((r) => setTimeout(r, 1500));
    expect(existsSync(seen), 'nothing writes the file before SIGTERM').toBe(false);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code, log()).toBe(0);
    expect(existsSync(seen), log()).toBe(true);
    expect(readFileSync(seen, 'utf8')).toContain('"1-1"');
    expect(log()).toContain('usbguard closing, 1 devices remembered');
  } finally {
    server.close();
  }
}, 90_000);
