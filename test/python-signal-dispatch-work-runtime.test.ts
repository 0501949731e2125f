// One signal handler answering SIGHUP first (re-read the routing table) whose stop branch saves state before it
// ends the loop (signal-handler-answers-sighup-first-stop-branch-saves-state): the handler stays installed and its
// stop becomes the base's own handler (super()._on_signal). The legacy file and its expected _v2 are both started
// for real, side by side on ports of their own: each must reload on SIGHUP, answer one lookup on its main port,
// and on SIGTERM write the same statistics file, run its cleanup() once and exit 0.
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts, releasePorts } from '../src/validate/ports.js';
import { healthJson } from './helpers/health-json.js';
import { agentRuns, sleep } from './helpers/python-agent-runs.js';
import { exitedWithOutput } from './helpers/exited.js';

const CASE = 'signal-handler-answers-sighup-first-stop-branch-saves-state';
const runs = agentRuns();

// The legacy takes its ports from its constructor only (7240/7241 in its entry point): built with the test's.
const LEGACY_DRIVER = `
import os, runpy, sys
ns = runpy.run_path(sys.argv[1])
agent = ns["RouteStatsAgent"](port=int(os.environ["LEGACY_PORT"]), health_port=int(os.environ["LEGACY_HEALTH_PORT"]))
agent.run()
`;
import { exitedWithOutput } from './helpers/exited.js';

/** One JSON line asked on the agent's main port, its one-line answer parsed. */
function ask(port: number, request: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(JSON.stringify(request) + '\n'));
    let data = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer')));
    socket.on('data', (d) => {
      data += d;
      if (data.includes('\n')) {
        socket.end();
        resolve(JSON.parse(data.split('\n')[0]!));
      }
    });
    socket.on('error', reject);
  });
}

interface Run {
  stats: unknown;
  code: number | null;
  shutdownLines: number;
  versions: unknown[];
  output: string;
}

async function drive(root: string, args: string[], env: Record<string, string>, port: number, health: number): Promise<Run> {
  const table = path.join(root, 'routes.json');
  writeFileSync(table, JSON.stringify({ routes: { weather: { agent: 'WeatherAgent', port: 7310 }, news: { agent: 'NewsAgent', port: 7320 } } }));
  mkdirSync(path.join(root, 'data'), { recursive: true });
  const { child, output: tail } = runs.start(root, args, { ...env, ROUTING_TABLE: table });
  const exited = exitedWithOutput(child);
  const versions: unknown[] = [];
  // /health once it says `want` (the base may answer "starting" before the agent's fields exist), within 15 s.
  const healthSays = async (want: (s: Record<string, unknown>) => boolean) => {
    for (let i = 0; i < 150 && child.exitCode === null; i++) {
      const s = await healthJson(health);
      if (s && want(s)) return s;
      await sleep(100);
    }
    return null;
  };
  const first = await healthSays((s) => s.table_version === 1);
  versions.push(first?.table_version, first?.intents);
  writeFileSync(table, JSON.stringify({ routes: { weather: { agent: 'WeatherAgent', port: 7310 } } }));
  child.kill('SIGHUP');
  const reloaded = await healthSays((s) => s.table_version === 2);
  versions.push(reloaded?.table_version, reloaded?.intents, reloaded?.reloads);
  versions.push((await ask(port, { action: 'lookup', intent: 'news' })).status);
  child.kill('SIGTERM');
  const code = await Promise.race([exited, sleep(15_000).then(() => null)]);
  const statsFile = path.join(root, 'data', 'route_stats.json');
  return {
    stats: existsSync(statsFile) ? JSON.parse(readFileSync(statsFile, 'utf8')) : null,
    code,
    shutdownLines: tail().split('RouteStatsAgent shutting down after 1 lookups').length - 1,
    versions,
    output: tail(),
  };
}

describe('a SIGHUP-first signal handler whose stop branch saves state, stopping through the base', () => {
  it(`${CASE}: legacy and _v2 reload on SIGHUP and save the same statistics on SIGTERM`, async () => {
    const c = listCases().find((x) => x.name === CASE)!;
    const legacyRoot = runs.root(materialize(c));
    const v2Root = runs.root(materialize(c));
    writeFileSync(path.join(legacyRoot, 'legacy_driver.py'), LEGACY_DRIVER);
    const v2File = path.join(v2Root, c.rel.replace(/\.py$/, '_v2.py'));
    writeFileSync(v2File, readFileSync(c.expectedFile));
    // A registry stand-in for both (the module's REGISTRY_URL): the _v2's deregistration at SIGTERM is recorded.
    const deregistered: string[] = [];
    const registry = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (req.url === '/deregister') deregistered.push(body);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', () => r()));
    const registryUrl = `http://127.0.0.1:${(registry.address() as { port: number }).port}`;
    const ports = await allocatePorts(4);
    const [lp, lh, vp, vh] = ports as [number, number, number, number];
    try {
      const [legacy, v2] = await Promise.all([
        drive(legacyRoot, [path.join(legacyRoot, 'legacy_driver.py'), path.join(legacyRoot, c.rel)], { LEGACY_PORT: String(lp), LEGACY_HEALTH_PORT: String(lh), REGISTRY_URL: registryUrl }, lp, lh),
        drive(v2Root, [v2File], { AGENT_PORT: String(vp), HEALTH_CHECK_PORT: String(vh), REGISTRY_URL: registryUrl }, vp, vh),
      ]);
      // First table 2 intents; after SIGHUP version 2, 1 intent, 1 reload; the lookup answered.
      expect(legacy.versions, legacy.output).toEqual([1, 2, 2, 1, 1, 'ok']);
      expect(v2.versions, v2.output).toEqual(legacy.versions);
      expect(legacy.stats, legacy.output).toEqual({ lookups: 1, misses: 1 });
      expect(v2.stats, v2.output).toEqual(legacy.stats);
      expect([legacy.code, v2.code], `${legacy.output}\n---\n${v2.output}`).toEqual([0, 0]);
      expect([legacy.shutdownLines, v2.shutdownLines], `${legacy.output}\n---\n${v2.output}`).toEqual([1, 1]);
      // The base's own handler ran after the agent's work: it deregistered the _v2.
      expect(deregistered.map((b) => JSON.parse(b).name), v2.output).toEqual(['RouteStatsAgent']);
    } finally {
      registry.close();
      releasePorts(ports);
    }
  }, 60_000);
});
