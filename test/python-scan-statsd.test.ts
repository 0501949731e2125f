// The scan's ad-hoc findings name an agent's statsd sends (`sendto` of a `<name>:<value>|<type>` line) as
// metrics, with their line: the fixture statsd-udp-helper-methods sends from __init__ and from _stat().
import { rmSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { loadProfile } from '../src/profile/profile.js';
import { scanRepository } from '../src/discover/scan.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

it('reports statsd lines sent over UDP as metrics findings, by line', async () => {
  const c = listCases().find((x) => x.name === 'statsd-udp-helper-methods')!;
  const root = materialize(c);
  roots.push(root);
  const scan = await scanRepository(root, loadProfile('base-agent'));
  const agent = scan.agents.find((a) => a.file === c.rel)!;
  const statsd = agent.findings.filter((f) => f.detail === 'statsd lines over UDP');
  expect(statsd.map((f) => [f.kind, f.symbol, f.line])).toEqual([
    ['metrics', '__init__', 63],
    ['metrics', '_stat', 70],
  ]);
});
