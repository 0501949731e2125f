// The built tool serves the embedded registry and metrics sink from threads of their own
// (src/validate/server-thread.ts): an agent's request is answered at once while the tool's main
// thread is busy with synchronous work (a git commit, a byte-compile). In the main thread's event
// loop the request waited for that work: under load past the agents' 2 s timeout, and an agent
// stopped meanwhile stayed listed (the demo failed 1-5 of 13 agents on "still registered").
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, REPO } from './helpers/cli.js';

type Registry = typeof import('../src/validate/embedded-registry.js');
type Sink = typeof import('../src/validate/metrics-sink.js');
let dist: { registry: Registry; sink: Sink };
beforeAll(async () => {
  ensureBuilt();
  const load = (rel: string) => import(pathToFileURL(path.join(REPO, 'dist', 'src', 'validate', rel)).href);
  dist = { registry: await load('embedded-registry.js'), sink: await load('metrics-sink.js') };
}, 180_000);

/** What a python3 child sees of one request while this thread is blocked in execFileSync: its answer's status and seconds, or the error. */
function requestWhileBlocked(url: string, method: string, body: string): string {
  return execFileSync(
    'python3',
    [
      '-c',
      `import sys, time, urllib.request
t = time.time()
try:
    with urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=sys.argv[3].encode(), method=sys.argv[2]), timeout=3) as r:
        print(r.status, round(time.time() - t, 3))
except Exception as e:
    print("failed", e)`,
      url,
      method,
      body,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  ).trim();
}

describe('embedded servers of the built tool', () => {
  it('answer a registration and a push while the main thread is blocked, and report them after', async () => {
    const [registry, sink] = await Promise.all([dist.registry.startEmbeddedRegistry(), dist.sink.startMetricsSink()]);
    try {
      const registered = requestWhileBlocked(`${registry.scoped('s1')}/register`, 'POST', JSON.stringify({ name: 'Ledger', port: 7 }));
      expect(registered).toMatch(/^200 /);
      expect(Number(registered.split(' ')[1])).toBeLessThan(2);
      expect(registry.registrations()).toMatchObject([{ name: 'Ledger', scope: 's1', record: { port: 7 } }]);
      expect(requestWhileBlocked(`${registry.scoped('s1')}/deregister`, 'POST', JSON.stringify({ name: 'Ledger' }))).toMatch(/^200 /);
      expect([registry.registrations(), registry.deregistrations()]).toEqual([[], [{ scope: 's1', name: 'Ledger' }]]);
      expect(requestWhileBlocked(`${sink.url}/metrics/job/Ledger`, 'PUT', 'ledger_rows_total 3\n')).toMatch(/^202 /);
      expect(sink.samples()).toEqual([{ name: 'ledger_rows_total', labels: { job: 'Ledger' }, value: '3' }]);
    } finally {
      await Promise.all([registry.close(), sink.close()]);
    }
    // Closed: the ports answer no more, and asking the state says so.
    expect(requestWhileBlocked(`${registry.url}/register`, 'POST', '{"name": "x"}')).toMatch(/^failed /);
    expect(() => registry.registrations()).toThrow(/closed/);
  });
});
