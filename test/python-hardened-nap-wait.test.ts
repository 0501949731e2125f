// run()'s interruptible nap between cycles (`for _ in range(int(self.interval)): if not self.running:
// break; time.sleep(1)`) became the base's wait of collection_interval on its stop event, at run time:
// the migrated iface-nap-loop-interval-wait fixture runs on the reference base with its own 30 s interval
// (no COLLECTION_INTERVAL override, unlike `migrate validate`), so the SIGTERM lands mid-wait; it must end
// within a couple of seconds, exit 0, deregistered. (Before: "run() sleeps int(self.interval)", no _v2.)
// The same for iface-nap-monotonic-deadline-stop-flag, whose nap runs to a monotonic deadline in slices
// trimmed to it (`time.sleep(min(0.2, end - time.monotonic()))`; before: "does more than loop", no _v2).
import { afterAll, expect, it } from 'vitest';
import { migratedCase, recordingRegistry, removeRoots, startOnBase } from './helpers/python-hardened.js';

afterAll(removeRoots);

it.each(['iface-nap-loop-interval-wait', 'iface-nap-monotonic-deadline-stop-flag'])('a SIGTERM in the middle of the 30 s wait that replaced the nap loop ends the _v2 promptly, exit 0 (%s)', async (name) => {
  const { root, v2 } = await migratedCase(name);
  const paths: string[] = [];
  const { server, url } = await recordingRegistry(paths);
  try {
    expect(process.env.COLLECTION_INTERVAL).toBeUndefined();
    const { child, exited, output: log } = startOnBase(root, v2, url, { IFACE_INTERVAL: '30' });
    const end = Date.now() + 20_000;
    while (Date.now() < end && child.exitCode === null && !log().includes('running every 30.0 s')) await new Promise((r) => setTimeout(r, 100));
    expect(log()).toContain('running every 30.0 s');
    // Past the first cycle, well inside the 30 s wait.
    await new Promise((r) => setTimeout(r, 1500));
    expect(child.exitCode, log()).toBeNull();
    const signalled = Date.now();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code, log()).toBe(0);
    expect(Date.now() - signalled, log()).toBeLessThan(3_000);
    expect(paths, log()).toContain('POST /deregister');
    expect(log()).toContain('IfaceStateAgent stopped');
  } finally {
    server.close();
  }
}, 90_000);
