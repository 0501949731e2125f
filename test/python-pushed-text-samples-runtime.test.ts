// An agent pushing ready-made exposition text of its own counters through a fleet helper that PUTs it as
// the whole group of the agent's job (fixture imported-sidecar-class-binds-health-port): legacy and _v2
// started for real against a Pushgateway stand-in, each fed 3 invoice lines on its API port. The legacy's
// own PUT carries invoice_lines_total 3; the _v2's samples go through report_metric(), so one push carries
// them beside the base's agent_up with the same value, and later pushes do not add it again.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { createServer } from 'node:http';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts, releasePorts } from '../src/validate/ports.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** Three invoice lines on the agent's JSON-lines port; true once all were accepted. */
function addLines(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      for (let i = 1; i <= 3; i++) sock.write(JSON.stringify({ action: 'add', customer: 'c-17', amount: 10, ref: `INV-${i}` }) + '\n');
    });
    let data = '';
    sock.setTimeout(2000, () => sock.destroy());
    sock.on('data', (d) => {
      data += d;
      if (data.split('\n').filter((l) => l.includes('"success"')).length === 3) {
        sock.destroy();
        resolve(true);
      }
    });
    sock.on('error', () => resolve(false));
    sock.on('close', () => resolve(false));
  });
}

describe('exposition text of the agent\'s own counters handed to report_metric()', () => {
  it('imported-sidecar-class-binds-health-port: the _v2 pushes the legacy\'s counter values with agent_up, once', async () => {
    const c = listCases().find((k) => k.name === 'imported-sidecar-class-binds-health-port')!;
    const root = materialize(c);
    roots.push(root);
    const v2 = path.join(root, c.rel.replace(/\.py$/, '_v2.py'));
    writeFileSync(v2, readFileSync(c.expectedFile));
    const pushes: Record<'legacy' | 'v2', string[]> = { legacy: [], v2: [] };
    const sinks = await Promise.all((['legacy', 'v2'] as const).map(async (who) => {
      const server = createServer((req, res) => {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', () => {
          if (req.url?.startsWith('/metrics/job/')) pushes[who].push(body);
          res.writeHead(200).end();
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      return server;
    }));
    const ports = await allocatePorts(4);
    const children: ChildProcess[] = [];
    let output = '';
    try {
      for (const [i, [who, file]] of ([['legacy', path.join(root, c.rel)], ['v2', v2]] as const).entries()) {
        const env: Record<string, string> = {
          ...(process.env as Record<string, string>), PYTHONPATH: root, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', AGENT_HOST: '127.0.0.1',
          AGENT_PORT: String(ports[2 * i]), HEALTH_CHECK_PORT: String(ports[2 * i + 1]),
          METRICS_URL: `http://127.0.0.1:${(sinks[i]!.address() as { port: number }).port}`, METRICS_PUSH_INTERVAL: '1',
        };
        delete env.REGISTRY_URL;
        const child = spawn('python3', [file], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout!.on('data', (d) => (output += `${who}: ${d}`));
        child.stderr!.on('data', (d) => (output += `${who}: ${d}`));
        children.push(child);
      }
      for (const p of [ports[0]!, ports[2]!]) {
        let fed = false;
        for (let i = 0; i < 100 && !fed; i++) if (!(fed = await addLines(p))) await sleep(100);
        expect(fed, `lines not accepted on ${p}:\n${output}`).toBe(true);
      }
      const legacyLine = 'invoice_lines_total{agent="InvoiceBatcherAgent"} 3\n';
      const v2Line = /invoice_lines_total\{agent="InvoiceBatcherAgent"\} 3(\.0)?\n/;
      const both = (b: string) => v2Line.test(b) && b.includes('agent_up{agent="InvoiceBatcherAgent"} 1');
      for (let i = 0; i < 150 && !(pushes.legacy.some((b) => b.includes(legacyLine)) && pushes.v2.some(both)); i++) await sleep(100);
      expect(pushes.legacy.some((b) => b.includes(legacyLine)), `legacy pushes:\n${pushes.legacy.join('---\n')}\n${output}`).toBe(true);
      expect(pushes.v2.some(both), `_v2 pushes:\n${pushes.v2.slice(-3).join('---\n')}\n${output}`).toBe(true);
      // The agent's _push() runs every 5 s; a second one must not add 3 again (absolute values, not increments).
      const seen = pushes.v2.length;
      for (let i = 0; i < 80 && pushes.v2.length < seen + 6; i++) await sleep(100);
      await sleep(5500);
      const last = pushes.v2.at(-1)!;
      expect(last, last).toMatch(v2Line);
    } finally {
      for (const ch of children) ch.kill('SIGKILL');
      for (const s of sinks) s.close();
      releasePorts(ports);
    }
  }, 60_000);
});
