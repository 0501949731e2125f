// Endpoints that answer, but not as a registry or a Pushgateway (probe-faults68's leftovers):
// a plain web server answering 404/501 HTML to everything passed the startup probe (any HTTP
// answer did), after which every agent waited out its whole registry deadline; a port that
// accepts connections and never answers was "unreachable: timed out", and as a redis:// URL it
// hung the run for ever (the client's connect and PING had no bound). Each now fails the run at
// once with one line saying what the endpoint did, before anything is written; the embedded
// registry and sink, used as external ones, still pass (the probe's registration deregistered).
// Real repositories, the built CLI, loopback servers.
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedRegistry } from '../../src/validate/embedded-registry.js';
import { checkEndpoints, startValidationEnvironment } from '../../src/validate/environment.js';
import { startMetricsSink } from '../../src/validate/metrics-sink.js';
import { AGENT, baseline, cleanupAll, demoRepo, ensureBuilt, expectIntact, runInProcess, tag } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of closers) await c();
  await cleanupAll();
});

/** A web server that is not a registry: every request gets an HTML error page (404, or 501 for POST, as python -m http.server). */
async function plainWebServer(): Promise<string> {
  const server = http.createServer((req, res) => {
    const code = req.method === 'POST' ? 501 : 404;
    res.writeHead(code, { 'Content-Type': 'text/html;charset=utf-8' });
    res.end(`<!DOCTYPE html><html><body><h1>Error ${code}</h1></body></html>`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** A port that accepts connections and never sends a byte. */
async function mutePort(): Promise<number> {
  const held: net.Socket[] = [];
  const server = net.createServer((s) => {
    s.on('error', () => {});
    held.push(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(() => new Promise<void>((r) => (held.forEach((s) => s.destroy()), server.close(() => r()))));
  return (server.address() as net.AddressInfo).port;
}

async function refused(args: string[], line: RegExp): Promise<void> {
  const root = await demoRepo();
  const before = baseline(root);
  const t = tag();
  const started = Date.now();
  const r = await runInProcess(root, ['run', AGENT, '--profile', 'fast', '--json', ...args], t);
  expect(r.exitCode, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n').filter((l) => !/^migrate: (rewrite|verify) /.test(l));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(line);
  // The probe's own bounds (3 s a request), not an agent's registry deadline or a hang.
  expect(Date.now() - started).toBeLessThan(25_000);
  await expectIntact(root, before, [t]);
}

describe('an endpoint that answers, but not its protocol, fails the run at once', () => {
  it('a plain web server as --registry-url: "answers HTTP but is not a registry", with what it answered', async () => {
    const web = await plainWebServer();
    await refused(
      ['--registry-url', web],
      /^migrate: cannot validate: registry http:\/\/127\.0\.0\.1:\d+ answers HTTP but is not a registry: POST \/register answered 501 \(text\/html\); a registry takes POST <url>\/register with \{"name"\} and answers GET <url>\/agents\/<name>$/,
    );
  }, 60_000);

  it('a plain web server as --metrics-url: "answers HTTP but is not a Pushgateway"', async () => {
    const web = await plainWebServer();
    await refused(['--metrics-url', web], /^migrate: cannot validate: metrics sink http:\/\/127\.0\.0\.1:\d+ answers HTTP but is not a Pushgateway: GET \/metrics answered 404 \(an HTML page\)$/);
  }, 60_000);

  it('a port that accepts and never answers: said so (accepted, no answer within 3 s), for http and redis registries and the metrics sink', async () => {
    const port = await mutePort();
    await refused(['--registry-url', `http://127.0.0.1:${port}`], /^migrate: cannot validate: registry http:\/\/127\.0\.0\.1:\d+ accepted the connection but sent no answer within 3 s \(POST \/register\)$/);
    await refused(['--registry-url', `redis://127.0.0.1:${port}`], /^migrate: cannot validate: registry redis:\/\/127\.0\.0\.1:\d+ accepted the connection but sent no answer to the client's first commands within 3 s$/);
    await refused(['--metrics-url', `http://127.0.0.1:${port}`], /^migrate: cannot validate: metrics sink http:\/\/127\.0\.0\.1:\d+ accepted the connection but sent no answer within 3 s \(GET \/metrics\)$/);
  }, 120_000);

  it('a real registry and sink (the embedded ones, by URL) pass the probe, which leaves no registration behind', async () => {
    const registry = await startEmbeddedRegistry();
    const sink = await startMetricsSink();
    const env = await startValidationEnvironment({ registryUrl: registry.url, metricsUrl: sink.url });
    try {
      await checkEndpoints(env);
      expect(registry.registrations()).toEqual([]);
      expect(registry.deregistrations().map((d) => d.name)).toEqual([expect.stringMatching(/^migrate-probe-\d+-[0-9a-f]{6}$/)]);
    } finally {
      await Promise.all([env.close(), registry.close(), sink.close()]);
    }
  }, 30_000);
});
