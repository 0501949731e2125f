// The embedded registry and metrics sink (real HTTP on loopback), the port
// allocator, Prometheus text handling and launch templates from config.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { startEmbeddedRegistry } from '../src/validate/embedded-registry.js';
import { parseGroupingPath, startMetricsSink } from '../src/validate/metrics-sink.js';
import { allocatePorts, isPortFree, releasePorts } from '../src/validate/ports.js';
import { flatten, parseMetrics } from '../src/validate/prometheus.js';
import { applyTemplate, contractEnv, parseTemplate, readLaunchTemplate } from '../src/validate/launch.js';
import { startValidationEnvironment } from '../src/validate/environment.js';
import { UsageError } from '../src/core/errors.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

const post = (url: string, body: string, method = 'POST') => fetch(url, { method, body, headers: { 'Content-Type': 'application/json' } });

describe('embedded registry', () => {
  it('registers, lists, looks up and deregisters; rejects bad bodies', async () => {
    const reg = await startEmbeddedRegistry();
    closers.push(reg.close);
    expect(reg.url).toBe(`http://127.0.0.1:${reg.port}`);
    expect((await fetch(`${reg.url}/agents/Router`)).status).toBe(404);
    expect((await post(`${reg.url}/register`, JSON.stringify({ name: 'Router', port: 5, pid: 42 }))).status).toBe(200);
    const one = await (await fetch(`${reg.url}/agents/Router`)).json();
    expect(one).toMatchObject({ name: 'Router', record: { name: 'Router', port: 5, pid: 42 } });
    expect((await (await fetch(`${reg.url}/agents`)).json()).agents.map((a: { name: string }) => a.name)).toEqual(['Router']);
    const bad = await post(`${reg.url}/register`, '{not json');
    expect([bad.status, await bad.json()]).toEqual([400, { error: 'body is not JSON' }]);
    const nameless = await post(`${reg.url}/register`, '{"port": 1}');
    expect([nameless.status, await nameless.json()]).toEqual([400, { error: 'field "name" is required' }]);
    expect((await post(`${reg.url}/deregister`, '{"name": "Router"}')).status).toBe(200);
    expect(reg.registrations()).toEqual([]);
    expect((await fetch(`${reg.url}/nope`)).status).toBe(404);
  });
});

describe('embedded metrics sink (Pushgateway-compatible)', () => {
  it('PUT replaces a group, POST merges by metric name, DELETE removes; GET /metrics adds grouping labels and push_time_seconds', async () => {
    const sink = await startMetricsSink();
    closers.push(sink.close);
    const put = await fetch(`${sink.url}/metrics/job/Router/instance/a`, {
      method: 'PUT',
      body: '# TYPE up_total counter\nup_total{agent="Router"} 3\nlatency_seconds 0.5\n',
    });
    expect(put.status).toBe(202);
    await fetch(`${sink.url}/metrics/job/Router/instance/a`, { method: 'POST', body: 'latency_seconds 0.7\n' });
    const samples = flatten(parseMetrics(await (await fetch(`${sink.url}/metrics`)).text()));
    expect(samples).toContainEqual({ name: 'up_total', labels: { agent: 'Router', job: 'Router', instance: 'a' }, value: '3' });
    expect(samples).toContainEqual({ name: 'latency_seconds', labels: { job: 'Router', instance: 'a' }, value: '0.7' });
    const pushed = samples.find((s) => s.name === 'push_time_seconds')!;
    expect(Math.abs(Number(pushed.value) * 1000 - Date.now())).toBeLessThan(60_000);

    await fetch(`${sink.url}/metrics/job/Router/instance/a`, { method: 'PUT', body: 'other 1' }); // no trailing newline
    expect(sink.samples().map((s) => s.name)).toEqual(['other']);
    await fetch(`${sink.url}/metrics/job/Router/instance/a`, { method: 'DELETE' });
    expect(sink.samples()).toEqual([]);
  });

  it('rejects malformed pushes with one line, and paths that are not a group', async () => {
    const sink = await startMetricsSink();
    closers.push(sink.close);
    const bad = await fetch(`${sink.url}/metrics/job/X`, { method: 'PUT', body: 'a{x="1" 2\n' });
    expect([bad.status, await bad.text()]).toEqual([400, 'not Prometheus text format: Encountered invalid line: a{x="1" 2']);
    const nan = await fetch(`${sink.url}/metrics/job/X`, { method: 'PUT', body: 'a hello\n' });
    expect(await nan.text()).toBe('not Prometheus text format: sample a has value "hello", not a number');
    expect((await fetch(`${sink.url}/metrics/instance/x`, { method: 'PUT', body: 'a 1\n' })).status).toBe(404);
  });

  it('parses grouping paths, including @base64 values', () => {
    expect(parseGroupingPath('/metrics/job/Router')).toEqual({ job: 'Router' });
    expect(parseGroupingPath(`/metrics/job@base64/${Buffer.from('a/b').toString('base64url')}/zone/eu`)).toEqual({ job: 'a/b', zone: 'eu' });
    expect(parseGroupingPath('/metrics/job')).toBeNull();
    expect(parseGroupingPath('/metrics/job/x/bad-label/1')).toBeNull();
  });
});

describe('ports', () => {
  it('hands out distinct free ports and notices a taken one', async () => {
    const ports = await allocatePorts(20);
    expect(new Set(ports).size).toBe(20);
    const again = await allocatePorts(20);
    expect(again.filter((p) => ports.includes(p))).toEqual([]); // reserved until released
    releasePorts([...ports, ...again]);

    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const taken = (holder.address() as net.AddressInfo).port;
    expect(await isPortFree(taken)).toBe(false);
    await new Promise((r) => holder.close(r));
    expect(await isPortFree(taken)).toBe(true);
  });
});

describe('validation environment', () => {
  it('embedded by default; real components selected by URL; bad URLs are usage errors', async () => {
    const env = await startValidationEnvironment();
    closers.push(env.close);
    expect([env.embedded, env.registryKind, env.metricsKind]).toEqual([true, 'embedded', 'embedded']);
    expect((await fetch(`${env.registryUrl}/agents`)).status).toBe(200);
    const real = await startValidationEnvironment({ registryUrl: 'redis://127.0.0.1:1', metricsUrl: 'http://127.0.0.1:2/' });
    expect([real.embedded, real.registryKind, real.metricsKind, real.metricsUrl]).toEqual([false, 'redis', 'pushgateway', 'http://127.0.0.1:2']);
    await expect(startValidationEnvironment({ metricsUrl: 'nonsense' })).rejects.toThrow(UsageError);
  });
});

describe('launch templates', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function config(text: string): void {
    root = mkdtempSync(path.join(os.tmpdir(), 'launch-'));
    mkdirSync(path.join(root, '.migrate'));
    writeFileSync(path.join(root, '.migrate', 'config.yaml'), text);
  }

  it('reads launch.<language>, splits words with quotes, fills placeholders', () => {
    config('# repo config\nlaunch:\n  python: "python3 -X dev {file} --port {port} --health-port {health_port} --tag \'a b\'"\n');
    const tpl = readLaunchTemplate(root, 'python')!;
    expect(tpl.origin).toBe(`${path.join(root, '.migrate', 'config.yaml')}:3`);
    expect(readLaunchTemplate(root, 'typescript')).toBeUndefined();
    const cmd = applyTemplate({ command: 'python3', args: ['x'], env: { PYTHONPATH: root } }, tpl, { file: '/r/a.py', root, port: 1, health_port: 2, name: 'A' }, 'python');
    expect(cmd).toEqual({ command: 'python3', args: ['-X', 'dev', '/r/a.py', '--port', '1', '--health-port', '2', '--tag', 'a b'], env: { PYTHONPATH: root } });
  });

  it('names file and line for an unknown placeholder (no secrets on the command line)', () => {
    config('launch:\n  python: python3 {file}\n  typescript: node {file} --registry {registry_url}\n');
    expect(() => readLaunchTemplate(root, 'typescript')).toThrow(
      new UsageError(`${path.join(root, '.migrate', 'config.yaml')}:3: launch.typescript: unknown placeholder {registry_url} (known: {file}, {root}, {port}, {health_port}, {name})`),
    );
    expect(() => parseTemplate('python3 "{file}', 'cfg:1')).toThrow('cfg:1: launch.python: unterminated " quote');
  });

  it('bad YAML and a non-mapping launch key are one-line errors with a line', () => {
    config('launch:\n  python: [unclosed\n');
    expect(() => readLaunchTemplate(root, 'python')).toThrow(/config\.yaml:\d+: invalid YAML: /);
    rmSync(root, { recursive: true, force: true });
    config('other: 1\nlaunch: python3 x.py\n');
    expect(() => readLaunchTemplate(root, 'python')).toThrow(/config\.yaml:2: "launch" must be a mapping of language to command template/);
  });

  it('the contract environment carries ports and URLs, never a command-line secret', () => {
    expect(contractEnv({ name: 'A', port: 1, healthPort: 2, registryUrl: 'redis://:pw@127.0.0.1:6379', metricsUrl: '' })).toEqual({
      AGENT_NAME: 'A',
      AGENT_PORT: '1',
      HEALTH_CHECK_PORT: '2',
      AGENT_HOST: '127.0.0.1',
      REGISTRY_URL: 'redis://:pw@127.0.0.1:6379',
      METRICS_PUSH_INTERVAL: '1',
    });
  });
});
