// A threading.Timer or sched.scheduler chain folded into HardenedAgentBase's loop (transforms/python/timer-chain.ts), at run time:
// the legacy of each folding fixture (python3, standard library only) and its _v2 on the reference base are
// started with the same interval; each counts its cycles on its own Prometheus exposition
// (proc_tree_cycles_total, PROC_METRICS_PORT). Over the same window both run as many cycles (one apart at
// most: where the window falls between two ticks); on SIGTERM both exit 0 within a few seconds, and the count
// in their last line ("stopped after N cycles", shutdown() in the _v2) is at most the count read right before
// the signal plus the cycle then in flight: no cycle after SIGTERM, on either side.
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { migratedCase, recordingRegistry, removeRoots, startOnBase } from './helpers/python-hardened.js';

afterAll(removeRoots);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function cycles(port: number): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const m = /^proc_tree_cycles_total (\d+)$/m.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  perWindow: number;
  beforeSignal: number;
  last: number;
  code: number | null;
  stopMs: number;
}

/** Starts one side, counts the cycles of a window once the first ran, then SIGTERMs it. */
async function measure(start: (env: Record<string, string>) => { child: ChildProcess; exited: Promise<number | null>; output: () => string }, interval: number, windowMs: number, bus: string): Promise<Run & { log: string }> {
  const port = await freePort();
  const { child, exited, output } = start({ PROC_METRICS_PORT: String(port), EVENTBUS_URL: bus, no_proxy: '*', NO_PROXY: '*' });
  try {
    let first: number | null = null;
    const until = Date.now() + 30_000;
    while (Date.now() < until && child.exitCode === null && !((first = await cycles(port)) ?? 0)) await sleep(100);
    expect(first, output()).toBeGreaterThanOrEqual(1);
    // (started half an interval after a cycle, so that a tick at the window's edge is not read on either side of it)
    await sleep((interval * 1000) / 2);
    const from = (await cycles(port))!;
    await sleep(windowMs);
    const to = (await cycles(port))!;
    const beforeSignal = to;
    const t0 = Date.now();
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    const stopMs = Date.now() - t0;
    const m = /stopped after (\d+) cycles/.exec(output());
    expect(m, output()).not.toBeNull();
    return { perWindow: to - from, beforeSignal, last: Number(m![1]), code, stopMs, log: output() };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

function startLegacy(root: string, file: string, extra: Record<string, string>) {
  return (env: Record<string, string>) => {
    let log = '';
    const child = spawn('python3', [file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...extra, ...env } });
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, exited, output: () => log };
  };
}

describe('a threading.Timer or sched.scheduler chain folded into the base loop runs the same cycles and stops the same', () => {
  for (const { name, interval, env } of [
    { name: 'proc-tree-timer-chain-cancel', interval: 1, env: { PROC_INTERVAL: '1' } },
    // the same chain on a sched.scheduler whose run() the legacy run() drives (its handler cancels the pending event)
    { name: 'proc-tree-sched-chain', interval: 1, env: { PROC_INTERVAL: '1' } },
    // the same, its handler cancelling under a threading.Lock() of the agent
    { name: 'proc-tree-sched-chain-cancel-under-lock', interval: 1, env: { PROC_INTERVAL: '1' } },
    // SCAN_INTERVAL = 2, a module constant the construction hands to the base
    { name: 'proc-tree-timer-chain-running-constant', interval: 2, env: {} as Record<string, string> },
  ]) {
    it(`${name}: cycles per window, none after SIGTERM, exit 0 (legacy vs _v2)`, async () => {
      const { c, root, v2 } = await migratedCase(name);
      const windowMs = interval * 5000;
      // A bus taking every batch (one refusing them would have the base's publish retries lengthen each _v2 cycle).
      const posts: string[] = [];
      const bus = createHttpServer((req, res) => {
        req.resume();
        req.on('end', () => {
          posts.push(req.url ?? '');
          res.setHeader('Content-Type', 'application/json');
          res.end('{"status": "OK"}');
        });
      });
      await new Promise<void>((r) => bus.listen(0, '127.0.0.1', r));
      const busUrl = `http://127.0.0.1:${(bus.address() as { port: number }).port}`;
      const paths: string[] = [];
      const { server, url } = await recordingRegistry(paths);
      let legacy: Awaited<ReturnType<typeof measure>>;
      let migrated: Awaited<ReturnType<typeof measure>>;
      try {
        legacy = await measure(startLegacy(root, path.join(root, c.rel), env), interval, windowMs, busUrl);
        migrated = await measure((e) => startOnBase(root, v2, url, { ...env, ...e }), interval, windowMs, busUrl);
      } finally {
        server.close();
        bus.close();
      }
      // (both published the new processes of their first cycle there)
      expect(posts.length).toBeGreaterThanOrEqual(2);
      const summary = JSON.stringify({ legacy: { ...legacy, log: undefined }, v2: { ...migrated, log: undefined } });
      console.info(name, summary);
      // Five intervals: five cycles, give or take the one at the window's edge (the base waits the interval after
      // the cycle; the legacy Timer is armed after it too).
      expect(Math.abs(legacy.perWindow - 5), summary + legacy.log).toBeLessThanOrEqual(1);
      expect(Math.abs(migrated.perWindow - legacy.perWindow), summary + migrated.log).toBeLessThanOrEqual(1);
      for (const [side, r] of [['legacy', legacy], ['_v2', migrated]] as const) {
        expect(r.code, `${side} ${summary}\n${r.log}`).toBe(0);
        expect(r.last - r.beforeSignal, `${side}: a cycle ran after SIGTERM ${summary}`).toBeLessThanOrEqual(1);
        expect(r.last, `${side} ${summary}`).toBeGreaterThanOrEqual(r.beforeSignal);
        expect(r.stopMs, `${side} ${summary}`).toBeLessThan(interval * 1000 + 5000);
      }
    }, 240_000);
  }
});
