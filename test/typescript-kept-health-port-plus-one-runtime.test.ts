// A kept health helper (/health, /ready and the agent's own /metrics) listening on
// `opts.healthPort ?? Number(process.env.HEALTH_CHECK_PORT ?? this.port + 1)`: no literal to move it
// onto, and its fallback is the base's own (port + 1). probe-node62's OrderRouter got a review item
// and still a _v2 that died at start. The kept-health-helper-port-plus-one-health-env fixture's
// rewrite (expected.ts, what migrate run would have written) and its legacy file are started for
// real through the file that starts them (index.ts), with HEALTH_CHECK_PORT set as the validator sets
// it: the legacy one serves /health, the rewrite dies with EADDRINUSE, which is why the agent is now
// set aside (the fixture's `unstartable`). (Unset, both bind port + 1: the same death; the helper
// that starts agents here always sets the variable.)
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { driveAgent, fixtureRepo, freePort } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'kept-health-helper-port-plus-one-health-env');
const dir = 'services/order-router';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** Runs `entry` until /health answers or it exits (at most 20 s): the health code seen (0: none) and how it ended. */
async function startOf(root: string, entry: string, env: Record<string, string>, healthPort: number): Promise<{ health: number; code: number | null; log: string }> {
  let health = 0;
  const { code, log } = await driveAgent(root, entry, env, [], async (child, _log, exited) => {
    const end = Date.now() + 20_000;
    while (Date.now() < end && child.exitCode === null && health === 0) {
      health = await fetch(`http://127.0.0.1:${healthPort}/health`).then((r) => r.status, () => 0);
      if (health === 0) await new Promise((r) => setTimeout(r, 100));
    }
    if (child.exitCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const c = await exited;
    clearTimeout(timer);
    return c;
  });
  return { health, code, log };
}

describe('a kept health helper on HEALTH_CHECK_PORT ?? port + 1 cannot start beside the base', () => {
  const repo = () => {
    const root = fixtureRepo(fixture, { [`${dir}/agent.ts`]: 'input.ts', [`${dir}/agent_v2.ts`]: 'expected.ts', [`${dir}/index.ts`]: `${dir}/index.ts`, [`${dir}/retry.ts`]: `${dir}/retry.ts` }, roots, true);
    // The same starter, on the rewrite.
    writeFileSync(path.join(root, dir, 'index_v2.ts'), readFileSync(path.join(root, dir, 'index.ts'), 'utf8').replace("'./agent.js'", "'./agent_v2.js'"));
    return root;
  };
  {
    it('HEALTH_CHECK_PORT set: legacy serves /health, the rewrite dies with EADDRINUSE', async () => {
      const root = repo();
      for (const [side, entry] of [['legacy', 'index.ts'], ['rewrite', 'index_v2.ts']] as const) {
        const port = await freePort();
        const health = await freePort();
        const run = await startOf(root, `${dir}/${entry}`, { AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health) }, health);
        if (side === 'legacy') {
          expect(run.health, run.log).toBe(200);
          expect(run.log).toContain(`health on ${health}`);
        } else {
          expect(run.log).toContain(`EADDRINUSE: address already in use 127.0.0.1:${health}`);
          expect(run.code, run.log).not.toBe(0);
        }
      }
    }, 120_000);
  }
});
