// The business server's port handed to the reference BaseAgent as its health port (derived-port-server) is
// given keep_routes_port=True only when the repository's base takes that keyword: on a copy of the base from
// before it (the keyword taken out of its __init__ here, nothing else changed), the rewrite gives no keyword
// the base would reject, and the hand-over is a review item (/stats would follow HEALTH_CHECK_PORT there).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { rewriteAsCli } from './helpers/cli-verify.js';
import { loadProfile } from '../src/profile/profile.js';
import { scanRepository } from '../src/discover/scan.js';
import { decodePythonSource } from '../src/lang/python/parser.js';

const profile = loadProfile('base-agent');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

async function rewrite(olderBase: boolean) {
  const c = listCases().find((x) => x.name === 'read-only-property-port-plan-clash')!;
  const root = materialize(c);
  roots.push(root);
  if (olderBase) {
    const base = path.join(root, 'common/core/base_agent.py');
    const text = readFileSync(base, 'utf8');
    const older = text.replace(/(def __init__\(self, name=None, port=None, health_check_port=None, )keep_routes_port=False, /, '$1');
    expect(older, 'the reference base no longer declares keep_routes_port as this test expects').not.toBe(text);
    writeFileSync(base, older);
  }
  const scan = await scanRepository(root, profile);
  const agent = scan.agents.find((a) => a.file === c.rel)!;
  return rewriteAsCli(root, c.rel, decodePythonSource(readFileSync(path.join(root, c.rel)), c.rel), agent, profile);
}

describe('keep_routes_port beside a business server port handed as the health port', () => {
  it('is given when the base takes it, and nothing is left for review', async () => {
    const out = await rewrite(false);
    expect(out.status).toBe('changed');
    expect(out.output).toContain('health_check_port=int(self._cfg.get("stats_port", int(self._cfg.get("port", 7930)) + 1)), keep_routes_port=True, **kwargs)');
    expect(out.kept_for_review).toEqual([]);
  });

  it('is not given to a base copy whose __init__ does not take it, and the hand-over is kept for review', async () => {
    const out = await rewrite(true);
    expect(out.status).toBe('changed');
    expect(out.output).not.toContain('keep_routes_port');
    expect(out.output).toContain('health_check_port=int(self._cfg.get("stats_port", int(self._cfg.get("port", 7930)) + 1)), **kwargs)');
    expect(out.kept_for_review.map((k) => [k.symbol, k.line])).toEqual([['health_check_port', 92]]);
    expect(out.kept_for_review[0]!.reason).toContain('where that is set, the server\'s paths move with /health and their callers on the legacy port reach nothing (this copy of the base takes no keep_routes_port=');
    expect(out.warnings.join('\n')).not.toContain('given keep_routes_port=True');
  });
});
