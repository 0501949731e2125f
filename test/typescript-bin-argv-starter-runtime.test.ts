// bin-argv-options-starter-kept: bin/dock-doors.js parses --dock, --interval-ms, --doors from its
// command line into `new DockDoorMonitor(options)`. The _v2 gets no entry point of its own (one would
// start it without those options): run through the bin script (as validation and, once promoted,
// the deployment do), the _v2 is given them. Started for real with arguments, its base's /health
// answers for the dock and interval the command line named.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, removeRepos } from './helpers/fixture-repo.js';
import { freePort, stopWhen } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, '..', 'fixtures', 'typescript', 'bin-argv-options-starter-kept');
const roots: string[] = [];
afterAll(() => removeRepos(roots));

describe('a bin script reading options from its command line stays the entry point', () => {
  it('expected.js adds no entry point of its own', () => {
    expect(readFileSync(path.join(dir, 'expected.js'), 'utf8')).not.toMatch(/require\.main === module/);
  });

  it('_v2 run through bin/dock-doors.js with --dock south --interval-ms 250 answers for south', async () => {
    const root = fixtureRepo('bin-argv-options-starter-kept', 'lib/dock-doors.js', roots);
    // The _v2's launch (the bin script, importing the _v2 in place of the module), with arguments.
    const health = await freePort();
    let body: Record<string, unknown> | string | undefined;
    const { code, log } = await stopWhen(root, 'lib/dock-doors_v2.js', { HEALTH_CHECK_PORT: String(health) }, (l) => {
      if (body === undefined && /health check on/.test(l)) {
        body = '';
        void fetch(`http://127.0.0.1:${health}/health`, { headers: { connection: 'close' } }).then((r) => r.json()).then((b) => (body = b as Record<string, unknown>), (e) => (body = String(e)));
      }
      return typeof body === 'object';
    }, ['--dock', 'south', '--interval-ms', '250', '--doors', '3']);
    expect(log).toMatch(/dock-doors: watching dock south every 250 ms/);
    expect(body, log).toMatchObject({ status: 'ok', dock: 'south' });
    expect(code, log).toBe(0);
  }, 60_000);
});
