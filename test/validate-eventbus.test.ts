// The seed-001 EventBus check on its own: the fake bus (HTTP and JSON lines, down and back on
// the same port) and checkEventBus against small agents on the reference HardenedAgentBase:
// one that publishes through the bus passes; one whose publisher swallows failures (so nothing
// is ever queued) fails at "bus down"; one that collects nothing is "not proven", not passed;
// one that publishes only when something changes (a hotplug-only block-device agent) and had
// nothing to send while the bus was down is not failed for queueing nothing, unless it did try to
// send then and lost it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { templatesDir } from '../src/profile/profile.js';
import { startFakeEventBus, type FakeEventBus } from '../src/validate/fake-eventbus.js';
import { checkEventBus, refusedHandOff } from '../src/validate/checks/eventbus.js';
import { handOffClassText } from '../transforms/python/hardened-refusal-handoff.js';
import { allocatePorts, ephemeralRange, releasePorts } from '../src/validate/ports.js';

const RUNTIME = path.join(templatesDir(), 'runtime', 'python');
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function post(url: string, body: string): Promise<number> {
  const r = await fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
  return r.status;
}

function sendLine(port: number, line: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(`${line}\n`, () => resolve()));
    s.on('error', reject);
  });
}

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!what() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

/** A tiny agent on the reference base; `publisher` is the body of its publisher's publish(). */
async function agent(bus: FakeEventBus, collect: string, publisher: string, prelude: string[] = [], minReceived = 0, ctorArgs = ''): Promise<{ child: ChildProcess; healthPort: number }> {
  const [healthPort] = await allocatePorts(1);
  const script = [
    'import json, os, urllib.request',
    'from amoskys.agents.common.base import HardenedAgentBase',
    'class Publisher:',
    '    def publish(self, events):',
    ...publisher.split('\n').map((l) => `        ${l}`),
    ...prelude,
    'class A(HardenedAgentBase):',
    '    def collect_data(self):',
    `        return ${collect}`,
    `A(agent_name="t", eventbus_publisher=Publisher()${ctorArgs}).run_forever()`,
  ].join('\n');
  const child = spawn('python3', ['-c', script], {
    env: {
      ...process.env,
      PYTHONPATH: RUNTIME,
      PYTHONDONTWRITEBYTECODE: '1',
      HEALTH_CHECK_PORT: String(healthPort),
      EVENTBUS_URL: bus.url,
      COLLECTION_INTERVAL: '0.2',
      CIRCUIT_RECOVERY_TIMEOUT: '0.5',
      REGISTRY_URL: '',
      METRICS_URL: '',
    },
    stdio: 'ignore',
  });
  cleanup.push(() => {
    child.kill('SIGKILL');
    releasePorts([healthPort!]);
  });
  // The product runs checkEventBus on an agent that already answers /health (after the health
  // check); so do these tests: its phase deadlines time the bus, not a slow start under load.
  // Bounded: 30 s for a python3 start and two collection cycles, on a machine as loaded as CI's.
  const end = Date.now() + 30_000;
  let cycles = 0;
  while (cycles < 2 && Date.now() < end && child.exitCode === null) {
    try {
      const r = await fetch(`http://127.0.0.1:${healthPort}/health`, { signal: AbortSignal.timeout(2000) });
      cycles = Number(((await r.json()) as { cycles?: number }).cycles ?? 0);
    } catch {
      // not listening yet
    }
    if (cycles < 2) await new Promise((r) => setTimeout(r, 50));
  }
  expect(cycles, 'the agent answers /health after two collection cycles').toBeGreaterThanOrEqual(2);
  await until(() => bus.received().length >= minReceived, 10_000);
  return { child, healthPort: healthPort! };
}

const POST = [
  'for e in events:',
  '    req = urllib.request.Request(os.environ["EVENTBUS_URL"] + "/publish", data=json.dumps(e).encode(), method="POST")',
  '    urllib.request.urlopen(req, timeout=2).read()',
].join('\n');

describe('fake EventBus', () => {
  it('takes HTTP POSTs and JSON lines, refuses connections while down, and comes back on its port', async () => {
    const bus = await startFakeEventBus();
    cleanup.push(() => bus.close());
    expect(await post(`${bus.url}/PublishTelemetry`, '{"n": 1}')).toBe(200);
    await sendLine(bus.port, '{"n": 2}');
    await until(() => bus.received().length === 2);
    expect(bus.received()).toEqual([{ n: 1 }, { n: 2 }]);
    await bus.stop();
    expect(bus.up()).toBe(false);
    await expect(post(`${bus.url}/x`, '{}')).rejects.toThrow();
    await bus.start();
    expect(await post(`${bus.url}/x`, '"back"')).toBe(200);
    expect(bus.received()).toHaveLength(3);
  });

  it('holds a claimed port below the kernel\'s ephemeral range until it closes, so nothing takes it while the bus is down', async () => {
    // A port from listen(0) could become another connection's own end while the bus is down, and
    // its restart then failed with EADDRINUSE (a full suite run failed a seed-001 unit that way).
    const bus = await startFakeEventBus();
    cleanup.push(() => bus.close());
    expect(bus.port).toBeLessThan(ephemeralRange()[0]);
    await bus.stop();
    await expect(allocatePorts(1, [bus.port, bus.port])).rejects.toThrow(/could not find/);
    await bus.start();
    expect(await post(`${bus.url}/x`, '"back"')).toBe(200);
    await bus.close();
    const [again] = await allocatePorts(1, [bus.port, bus.port]);
    expect(again).toBe(bus.port);
    releasePorts([again!]);
  });
});

describe('checkEventBus', () => {
  it('passes an agent that publishes through the bus, queues while it is down and drains when it is back', async () => {
    const bus = await startFakeEventBus();
    cleanup.push(() => bus.close());
    const { healthPort } = await agent(bus, '[{"seq": 1}]', POST);
    const r = await checkEventBus({ bus, healthPort, phaseDeadlineMs: 15_000 });
    expect(r.ok, r.detail).toBe(true);
    expect(r.skipped).toBeUndefined();
    expect(r.detail).toMatch(/bus down: \d+ queued locally/);
  }, 60_000);

  it('fails an agent whose publisher swallows failures: nothing is ever queued while the bus is down', async () => {
    const bus = await startFakeEventBus();
    cleanup.push(() => bus.close());
    const { healthPort } = await agent(bus, '[{"seq": 1}]', `try:\n${POST.split('\n').map((l) => `    ${l}`).join('\n')}\nexcept OSError:\n    pass`);
    const r = await checkEventBus({ bus, healthPort, phaseDeadlineMs: 3000 });
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('bus down');
    expect(r.detail).toContain('queued locally');
  }, 60_000);

  it('an agent that collects nothing is "not proven" (skipped), neither passed nor failed', async () => {
    const bus = await startFakeEventBus();
    cleanup.push(() => bus.close());
    const { healthPort } = await agent(bus, '[]', POST);
    const r = await checkEventBus({ bus, healthPort, phaseDeadlineMs: 2000 });
    expect(r.skipped).toBe(true);
    expect(r.detail).toContain('collected no events');
    expect(bus.received()).toEqual([]);
  }, 60_000);

  // Modelled on a block-device agent that reports hotplug only: it sends what it sees on its first
  // cycle, then only when its watched file (the inventory) changes. The test waits until that first
  // report reached the bus, so the bus goes down on a quiet agent.
  const onChange = (watched: string): string[] => [
    'import time',
    `WATCHED = ${JSON.stringify(watched)}`,
    'seen = [None]',
    'def changes():',
    '    try:',
    '        now = open(WATCHED).read()',
    '    except OSError:',
    '        now = ""',
    '    if now == seen[0]:',
    '        return []',
    '    seen[0] = now',
    '    return [{"inventory": now, "ts": time.time()}]',
  ];
  const watchedFile = (): string => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'eventbus-quiet-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const f = path.join(dir, 'inventory.txt');
    writeFileSync(f, 'sda\n');
    return f;
  };

  it('an agent that publishes only on change and had nothing to send while the bus was down is not failed: the queue was not exercised', async () => {
    const bus = await startFakeEventBus();
    cleanup.push(() => bus.close());
    const { healthPort } = await agent(bus, 'changes()', POST, onChange(watchedFile()), 1);
    const r = await checkEventBus({ bus, healthPort, phaseDeadlineMs: 10_000 });
    expect(r.ok, r.detail).toBe(true);
    expect(r.detail).toMatch(/bus up: \d+ envelope/);
    expect(r.detail).toContain('nothing published while the bus was down');
    expect(r.detail).toContain('the queue was not exercised');
    expect(bus.up()).toBe(true);
  }, 60_000);

  it('an agent that publishes only on change and loses what changed while the bus was down still fails', async () => {
    const bus = await startFakeEventBus();
    cleanup.push(() => bus.close());
    const watched = watchedFile();
    const swallow = `try:\n${POST.split('\n').map((l) => `    ${l}`).join('\n')}\nexcept OSError:\n    pass`;
    const { healthPort } = await agent(bus, 'changes()', swallow, onChange(watched), 1);
    // A device is plugged in once the bus is down: the agent publishes it, its publisher swallows the failure.
    const plug = (async () => {
      await until(() => !bus.up(), 15_000);
      writeFileSync(watched, 'sda\nsdb\n');
    })();
    const r = await checkEventBus({ bus, healthPort, phaseDeadlineMs: 3000 });
    await plug;
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('bus down');
    expect(r.detail).toContain('queued locally');
  }, 60_000);

  // A _v2 whose refused events go to the agent's own destination and are not kept (the legacy relayed a
  // refused batch and never re-posted it): RefusedEventsHandOff(relay, queue, keep=False), the class as the
  // migration writes it. Its queue stays empty with the bus down by design; the base's events_queued
  // still counts what it gave up on, i.e. what reached the hand-off.
  const relayed = [...handOffClassText('\n').split('\n'), 'from amoskys.agents.common.base import MemoryQueue', 'def relay(event):', '    pass'];
  const handedOff = ', local_queue=RefusedEventsHandOff(relay, MemoryQueue(), keep=False)';

  it('an agent handing refused events to its own destination without keeping them passes when that hand-off is declared, and says so', async () => {
    expect(refusedHandOff('        self.local_queue = RefusedEventsHandOff(self._relay, self.local_queue, keep=False)\n')).toBe('_relay');
    expect(refusedHandOff('        self.local_queue = RefusedEventsHandOff(self._mirror, self.local_queue)\n')).toBeUndefined();
    const bus = await startFakeEventBus();
    cleanup.push(() => bus.close());
    const { healthPort } = await agent(bus, '[{"seq": 1}]', POST, relayed, 1, handedOff);
    const r = await checkEventBus({ bus, healthPort, phaseDeadlineMs: 15_000, handOff: 'relay' });
    expect(r.ok, r.detail).toBe(true);
    expect(r.detail).toMatch(/bus down: \d+ refused event\(s\) handed to relay\(\) after .*, none kept for re-send/);
    expect(r.detail).toContain('bus back: publishing again');
  }, 60_000);

  it('the same agent fails at bus down when no hand-off is declared: an empty queue is a loss then', async () => {
    const bus = await startFakeEventBus();
    cleanup.push(() => bus.close());
    const { healthPort } = await agent(bus, '[{"seq": 1}]', POST, relayed, 1, handedOff);
    const r = await checkEventBus({ bus, healthPort, phaseDeadlineMs: 3000 });
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('bus down');
  }, 60_000);
});
