// The validator always sets AGENT_PORT and HEALTH_CHECK_PORT, so a kept server that follows one
// of them while the base binds the other never meets the base there. A deployment that sets only
// HEALTH_CHECK_PORT does: fixture cases marked `health_port_only: true` start their _v2 for real
// with HEALTH_CHECK_PORT alone (a free port, no AGENT_PORT): the base must serve /health there and
// the agent stay up and stop cleanly, with no EADDRINUSE from a kept server on the same port.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { v2Path } from '../src/commands/validate.js';
import { templatesDir } from '../src/profile/profile.js';
import { stopWhen } from './helpers/ts-agent-process.js';
import { tsFixtureCases } from './helpers/ts-fixture-cases.js';
import { freePort } from './helpers/ask.js';

const cases = tsFixtureCases().filter((c) => c.meta.health_port_only === true);

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** The case's repository: its other files, expected.* as the _v2 of its input, the reference base. */
function migratedFixture(c: ReturnType<typeof tsFixtureCases>[number]): { root: string; v2: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-health-only-'));
  roots.push(root);
  cpSync(c.dir, root, { recursive: true, filter: (src) => !/^(input|expected)\.[cm]?[jt]s$|^case\.yaml$/.test(path.relative(c.dir, src)) });
  const v2 = v2Path(c.meta.path);
  mkdirSync(path.dirname(path.join(root, v2)), { recursive: true });
  writeFileSync(path.join(root, v2), readFileSync(path.join(c.dir, `expected.${c.ext}`), 'utf8'));
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  if (!existsSync(path.join(root, 'package.json'))) writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true }\n');
  return { root, v2 };
}

// (probe-ts53b) The health server that went was the only one on the agent's own health port (HEALTH_PORT): that
// port reaches the base as healthCheckPort, so where the deployment sets HEALTH_PORT and not the base's variable,
// /health is still answered there (before: withheld for a kept server that never listened there, /health moved
// to QUOTE_PORT + 1), and the start banner names the port the base serves /health on (before: HEALTH_PORT's).
it('a removed health server hands its port to the base: /health on HEALTH_PORT without HEALTH_CHECK_PORT, named by the banner', async () => {
  const c = tsFixtureCases().find((k) => k.name === 'api-server-beside-removed-health-server')!;
  const { root, v2 } = migratedFixture(c);
  const [api, health] = [await freePort(), await freePort()];
  let answered = 0;
  let asked = false;
  const { code, log } = await stopWhen(
    root,
    v2,
    { HEALTH_CHECK_PORT: '', QUOTE_PORT: String(api), HEALTH_PORT: String(health), QUOTE_UPSTREAM_URL: 'http://127.0.0.1:9/fx', SERVICE_PUSHGATEWAY_URL: 'http://127.0.0.1:9' },
    (l) => {
      if (!asked && l.includes(`/health`)) {
        asked = true;
        const probe = async () => {
          for (let i = 0; i < 100 && !answered; i++) {
            answered = await fetch(`http://127.0.0.1:${health}/health`).then((r) => r.status, () => 0);
            if (!answered) await new Promise((r) => setTimeout(r, 100));
          }
        };
        void probe();
      }
      return answered > 0 && l.includes(`quote-feed: api on ${api}, health on ${health}`);
    },
  );
  expect(answered, log).toBe(200);
  expect(log).toMatch(new RegExp(`health check on http://[^/]+:${health}/health`));
  expect(code, log).toBe(0);
}, 60_000);

describe('_v2 started with only HEALTH_CHECK_PORT set', () => {
  it('there are such cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const { root, v2 } = migratedFixture(c);
      const port = await freePort();
      // Up once the base says it serves /health on that port, and still up a while later (a kept
      // server's failed listen() crashes the process right after).
      let since = 0;
      const { code, log } = await stopWhen(root, v2, { HEALTH_CHECK_PORT: String(port) }, (l) => {
        if (!new RegExp(`health check on http://[^/]+:${port}/health`).test(l)) return false;
        since ||= Date.now();
        return Date.now() - since > 1500;
      });
      expect(log).not.toMatch(/EADDRINUSE/);
      expect(code, log).toBe(0);
    }, 60_000);
  }
});
