// probe-node72's two silent losses, rewritten from the fixtures' inputs in process and, where behaviour
// is the point, run for real.
//
// cjs-run-beside-self-restarting-start: the entry point starts the forwarder with run(), which becomes
// onStart(); start() beside it (the collector link, restarting itself from its .catch()) was renamed
// onStart() too, and the second method of one name replaced the first: the _v2 never connected to its
// collector. Run against a live TCP collector, the _v2 must connect, forward a datagram it receives, and
// exit 0 on SIGTERM.
//
// inflight-deliveries-imported-retry-helper-outlast-grace: onStop() waits for deliveries sent through an
// imported retry helper with `attempts: 5`, each try bounded at 2 s: together past the base's 3 s grace,
// a review item (it was quiet: each bound alone is under the grace).
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ts } from 'ts-morph';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentInfo } from '../src/core/types.js';
import { loadProfile, templatesDir } from '../src/profile/profile.js';
import { typescriptAdapter } from '../src/lang/typescript/adapter.js';
import { freePort } from './helpers/ask.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, '..', 'fixtures', 'typescript');
const profile = loadProfile('base-agent');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** The fixture copied outside this work tree and its input rewritten through the adapter, as the fixture suite does. */
async function rewritten(name: string, input: string, className: string, rel: string) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-start-beside-entry-'));
  roots.push(root);
  cpSync(path.join(fixtures, name), root, { recursive: true });
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  const source = readFileSync(path.join(root, input), 'utf8');
  writeFileSync(file, source);
  const agent: AgentInfo = { name: className, file: rel, language: 'typescript', class: className, status: 'legacy', findings: [], line: 1, evidence: [] };
  const out = await typescriptAdapter.rewrite({ root, file, source, agent, profile });
  return { root, out };
}

describe('a start() beside the entry point run() that becomes onStart()', () => {
  it('keeps the business start as a method of its own: the _v2 connects to its collector and forwards', async () => {
    const { root, out } = await rewritten('cjs-run-beside-self-restarting-start', 'input.js', 'SyslogForwarder', 'agents/syslog_forwarder.js');
    expect(out.status).toBe('changed');
    const v2 = out.output!;
    expect(v2.match(/^\s+(async\s+)?onStart\(\)/gm)?.length).toBe(1);
    writeFileSync(path.join(root, 'agents', 'syslog_forwarder_v2.js'), v2);
    mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
    const base = readFileSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), 'utf8');
    writeFileSync(path.join(root, 'common', 'core', 'base-agent.js'), ts.transpileModule(base, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText);

    const lines: string[] = [];
    let connected!: () => void;
    const connection = new Promise<void>((r) => (connected = r));
    const collector = net.createServer((sock) => {
      connected();
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', () => r()));
    const collectorPort = (collector.address() as net.AddressInfo).port;
    const [udpPort, agentPort, healthPort] = [await freePort(), await freePort(), await freePort()];
    const env = { ...process.env, COLLECTOR_PORT: String(collectorPort), SYSLOG_UDP_PORT: String(udpPort), AGENT_PORT: String(agentPort), HEALTH_CHECK_PORT: String(healthPort) };
    delete env.REGISTRY_URL;
    delete env.METRICS_URL;
    let stderr = '';
    const child = execFile(process.execPath, ['agents/syslog_forwarder_v2.js'], { cwd: root, env, timeout: 60_000 }, (_e, _o, err) => (stderr = err));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      // Before the fix: no connection ever came (onStart() was run()'s body calling the base's start()).
      const ok = await Promise.race([connection.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
      expect(ok, stderr).toBe(true);
      const udp = dgram.createSocket('udp4');
      const deadline = Date.now() + 10_000;
      while (!lines.some((l) => l.includes('disk /var 91% full')) && Date.now() < deadline) {
        udp.send('<12>1 2026-12-08T01:00:00Z host7 df - - - disk /var 91% full', udpPort, '127.0.0.1');
        await new Promise((r) => setTimeout(r, 300));
      }
      udp.close();
      expect(lines.some((l) => l.includes('disk /var 91% full'))).toBe(true);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      collector.close();
    }
  }, 120_000);
});

describe('deliveries in flight sent through an imported retry helper', () => {
  it('weighs each try times the attempts the helper is given: past the grace, a review item', async () => {
    const { out } = await rewritten('inflight-deliveries-imported-retry-helper-outlast-grace', 'input.ts', 'AlertRelay', 'relay/alert-relay.ts');
    expect(out.status).toBe('changed');
    const item = out.kept_for_review.find((k) => k.symbol === 'in-flight wait');
    expect(item?.reason).toContain('AbortSignal.timeout(SEND_TIMEOUT_MS) (2000 ms, line 41) x 5 attempts (withRetry(..., { attempts: 5 }), line 45): at least 10000 ms');
  }, 120_000);
});
