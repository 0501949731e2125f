// A worker-pool agent whose --once mode runs one scan and waits for the pool in `try:` with `finally:
// agent.cleanup()` (fixture entry-once-flag-try-finally-teardown-worker-pool), its _v2 started for real on the
// reference BaseAgent with --once against the embedded registry: the manifest is rendered by the pool, the
// agent was registered and is no longer once it exits 0 (cleanup() ends with the base's teardown), and no
// worker process outlives it. The mode the rewrite used to hand to a person as two review items.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { agentRuns, sleep } from './helpers/python-agent-runs.js';
import { allocatePorts } from '../src/validate/ports.js';
import { startEmbeddedRegistry, type EmbeddedRegistry } from '../src/validate/embedded-registry.js';
import { exitedWithOutput } from './helpers/exited.js';

const runs = agentRuns();
let registry: EmbeddedRegistry | null = null;
afterAll(async () => {
  await registry?.close();
});

describe('a --once mode ending in cleanup() from a finally:', () => {
  it('renders, deregisters, joins its workers and exits 0', async () => {
    const c = listCases().find((k) => k.name === 'entry-once-flag-try-finally-teardown-worker-pool')!;
    const root = runs.root(materialize(c));
    const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
    writeFileSync(v2, readFileSync(c.expectedFile));
    const inbox = path.join(root, 'state', 'thumbs', 'inbox');
    mkdirSync(inbox, { recursive: true });
    writeFileSync(path.join(inbox, 'cat.json'), JSON.stringify({ source: 'cat.png', sizes: [32, 64] }));
    registry = await startEmbeddedRegistry();
    const [port, health] = await allocatePorts(2);
    const seen: string[] = [];
    const a = runs.start(root, [v2, '--once'], {
      AGENT_HOST: '127.0.0.1', AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health), REGISTRY_URL: registry.scoped('once'),
    });
    const exited = exitedWithOutput(a.child);
    // The base registers from its constructor: seen while the mode runs, gone once it has left.
    const watch = setInterval(() => {
      for (const r of registry!.registrations().filter((x) => x.scope === 'once')) if (!seen.includes(r.record.name as string)) seen.push(r.record.name as string);
    }, 20);
    const code = await Promise.race([exited, sleep(20_000).then(() => 'timeout' as const)]);
    clearInterval(watch);
    if (code === 'timeout') a.child.kill('SIGKILL');
    expect(code, a.output()).toBe(0);
    const done = path.join(root, 'state', 'thumbs', 'done', 'cat.json');
    expect(existsSync(done), a.output()).toBe(true);
    expect(JSON.parse(readFileSync(done, 'utf8')).thumbs.map((t: { size: number }) => t.size)).toEqual([32, 64]);
    expect(a.output()).toContain('ThumbnailPoolAgent stopped (1 rendered)');
    expect(seen, 'registered while the mode ran').toContain('ThumbnailPoolAgent');
    await sleep(200);
    expect(registry.registrations().filter((x) => x.scope === 'once'), 'left registered after --once').toEqual([]);
    // cleanup() joined the pool: no process of the agent's is left once it exited.
    const { spawnSync } = await import('node:child_process');
    const left = spawnSync('pgrep', ['-f', v2], { encoding: 'utf8' }).stdout.trim();
    expect(left, 'worker processes left').toBe('');
  }, 40_000);
});
