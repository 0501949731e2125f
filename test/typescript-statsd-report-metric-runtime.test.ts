// statsd lines an agent sends over UDP also reach the base's metrics sink: the
// statsd-report-metric-own-health-status fixture's _v2 is started for real with one order to score,
// a statsd receiver on UDP and a recording Pushgateway-style sink. The statsd lines still arrive as
// the legacy sent them, and the base's push carries the counter and the gauge (before: the sink got
// agent_up and agent_uptime_seconds only).
import dgram from 'node:dgram';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureRepo, stopWhen } from './helpers/ts-agent-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'statsd-report-metric-own-health-status');
const v2 = 'workers/fraud-score-worker_v2.ts';
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('statsd sends reach the base sink', () => {
  it('the _v2 still sends the statsd lines and its push carries fraud_scored_total and fraud_backlog', async () => {
    const root = fixtureRepo(fixture, { 'workers/fraud-score-worker.ts': 'input.ts', [v2]: 'expected.ts' }, roots, true);
    const drop = path.join(root, 'var', 'orders', 'new');
    mkdirSync(drop, { recursive: true });
    const order = { id: 'o-1001', email: 'a@example.com', country: 'DE', billingCountry: 'DE', totalCents: 4200, itemCount: 1, accountAgeDays: 400, previousChargebacks: 0 };
    writeFileSync(path.join(drop, 'o-1001.json'), JSON.stringify(order));
    const lines: string[] = [];
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    udp.on('message', (m) => lines.push(String(m)));
    const pushes: string[] = [];
    const sink = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        pushes.push(body);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    try {
      const env = {
        STATSD_PORT: String((udp.address() as net.AddressInfo).port),
        FRAUD_PORT: '0',
        METRICS_URL: `http://127.0.0.1:${(sink.address() as net.AddressInfo).port}`,
        METRICS_PUSH_INTERVAL: '1',
        ORDER_DROP: drop,
        ORDER_SCORED: path.join(root, 'var', 'orders', 'scored'),
        ORDER_REVIEW: path.join(root, 'var', 'orders', 'review'),
      };
      const scored = () => pushes.some((p) => /^fraud_scored_total\{agent="FraudScoreWorker"\} 1$/m.test(p));
      const { log } = await stopWhen(root, v2, env, () => scored() && lines.some((l) => l === 'fraud.scored:1|c'));
      expect(scored(), log).toBe(true);
      expect(pushes.some((p) => /^fraud_backlog\{agent="FraudScoreWorker"\} \d+$/m.test(p)), pushes.join('\n')).toBe(true);
      expect(lines).toContain('fraud.scored:1|c');
    } finally {
      udp.close();
      sink.close();
    }
  }, 90_000);
});
