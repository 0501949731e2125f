// The label printer of fixture mixin-registration-and-helper-push-config-name, legacy and _v2 started for real
// against one loopback stand-in for the registry and the Pushgateway, with the ini naming the agent and without
// a name there (the lookup's fallback). The legacy registers through RegistryHeartbeatMixin and pushes through
// fleet_common.push_gauges() under self.agent_name; its _v2 lost the mixin's calls (BaseAgent registers in its
// constructor, deregisters at stop) and was given the lookup as its name. Each must register once under the
// same name (one live record while it runs), deregister that name once on SIGTERM, and push under it.
import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocatePorts } from '../src/validate/ports.js';
import { exitedWithOutput } from './helpers/exited.js';
import { agentRuns, sleep } from './helpers/python-agent-runs.js';

const runs = agentRuns();
const fixture = listCases().find((k) => k.name === 'mixin-registration-and-helper-push-config-name')!;

interface Seen {
  registers: string[];
  deregisters: string[];
  /** The job of each metrics push, with its body. */
  pushes: Array<{ job: string; body: string }>;
  /** Names registered and not deregistered when the stop signal was sent. */
  liveAtStop: string[];
  code: number | null | 'timeout';
  output: string;
}

async function sink(): Promise<{ server: Server; url: string; posts: Array<{ url: string; body: string }> }> {
  const posts: Array<{ url: string; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      posts.push({ url: req.url ?? '', body });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, posts };
}

/** Runs one file of the root (the legacy or its _v2) until it registered (when `registers`) and pushed `sample`, then SIGTERM. */
async function runOnce(root: string, file: string, env: Record<string, string>, sample: string, registers = true): Promise<Seen> {
  const s = await sink();
  const { child, output } = runs.start(root, [file], { ...env, REGISTRY_URL: s.url, METRICS_URL: s.url, METRICS_PUSH_INTERVAL: '0.5' });
  const exited = exitedWithOutput(child);
  const of = (p: RegExp) => s.posts.filter((x) => p.test(x.url));
  const named = (p: RegExp) => of(p).map((x) => JSON.parse(x.body).name as string);
  for (let i = 0; i < 150 && !((!registers || of(/^\/register$/).length) && of(/\/metrics\/job\//).some((x) => x.body.includes(sample))); i++) await sleep(100);
  // A second registration would come at once (the mixin's thread and the base's start together).
  await sleep(800);
  const live = named(/^\/register$/).filter((n) => !named(/^\/(de|un)register$/).includes(n));
  child.kill('SIGTERM');
  const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') child.kill('SIGKILL');
  s.server.close();
  return {
    registers: named(/^\/register$/),
    deregisters: named(/^\/(de|un)register$/),
    pushes: of(/\/metrics\/job\//).map((x) => ({ job: decodeURIComponent(x.url.replace(/^.*\/metrics\/job\//, '')), body: x.body })),
    liveAtStop: live,
    code,
    output: output(),
  };
}

describe('a registration mixin and a configured name onto the base, legacy vs _v2', () => {
  for (const name of ['printer-east-2', null]) {
    it(`registers, pushes and deregisters under one name (ini name ${name ?? 'unset'})`, async () => {
      const root = runs.root(materialize(fixture));
      const legacyFile = fixture.rel;
      const v2File = fixture.rel.replace(/\.py$/, '_v2.py');
      writeFileSync(path.join(root, v2File), readFileSync(fixture.expectedFile));
      const expected = name ?? 'LabelPrinterAgent';
      const run = async (file: string) => {
        const [port, health] = await allocatePorts(2);
        // The ini the agent reads its name and ports from (ports free for this run; the name set or left to the fallback).
        writeFileSync(path.join(root, 'config', 'label_printer.ini'),
          `[agent]\n${name ? `name = ${name}\n` : ''}port = ${port}\nhealth_port = ${health}\n\n[printing]\nspool_dir = data/spool\nbatch_size = 4\ninterval = 0.3\n`);
        return runOnce(root, file, {}, 'labels_printed');
      };
      const legacy = await run(legacyFile);
      const v2 = await run(v2File);
      for (const [who, run] of [['legacy', legacy], ['_v2', v2]] as const) {
        expect(run.code, `${who} exit:\n${run.output}`).toBe(0);
        // One registration (no second one beside it), one live record, one deregistration, all under the name.
        expect(run.registers, `${who} registrations:\n${run.output}`).toEqual([expected]);
        expect(run.liveAtStop, `${who} live records`).toEqual([expected]);
        expect(run.deregisters, `${who} deregistrations:\n${run.output}`).toEqual([expected]);
        // Its samples pushed to its own group, labelled with the name.
        const samples = run.pushes.filter((p) => p.body.includes('labels_printed'));
        expect(samples.length, `${who} pushes`).toBeGreaterThan(0);
        expect(new Set(run.pushes.map((p) => p.job)), `${who} push groups`).toEqual(new Set([expected]));
        expect(samples[0]!.body).toContain(`labels_printed{agent="${expected}"}`);
      }
      // Every push of the _v2's one group carries the base's samples and the agent's together (one PUT wipes the group).
      const last = v2.pushes.filter((p) => p.body.includes('agent_up')).at(-2) ?? v2.pushes[0]!;
      expect(last.body).toContain(`agent_up{agent="${expected}"}`);
    }, 90_000);
  }
});

// The yard camera indexer of fixture config-fallback-env-name-pushed-by-helper: named by AGENT_NAME, else
// "yard-camera-indexer". The legacy only pushed under that name (no registration of its own); its _v2 registers,
// pushes and deregisters under it, with the variable set and unset.
const yard = listCases().find((k) => k.name === 'config-fallback-env-name-pushed-by-helper')!;

describe('a name from the environment with a fallback, given to the base', () => {
  for (const name of ['yard-7-indexer', null]) {
    it(`the _v2 registers and pushes under the name the legacy pushed under (AGENT_NAME ${name ?? 'unset'})`, async () => {
      const root = runs.root(materialize(yard));
      const v2File = yard.rel.replace(/\.py$/, '_v2.py');
      writeFileSync(path.join(root, v2File), readFileSync(yard.expectedFile));
      const expected = name ?? 'yard-camera-indexer';
      const env = name ? { AGENT_NAME: name } : {};
      // The legacy listens on its fixed ports (7640, 7641): the _v2 is given free ones, and runs after it.
      const legacy = await runOnce(root, yard.rel, env, 'snapshots_indexed', false);
      const [port, health] = await allocatePorts(2);
      const v2 = await runOnce(root, v2File, { ...env, AGENT_PORT: String(port), HEALTH_CHECK_PORT: String(health) }, 'snapshots_indexed');
      // (the legacy has no SIGTERM handler: the signal ends it; the _v2 exits 0 through the base's)
      expect(v2.code, v2.output).toBe(0);
      expect(new Set(legacy.pushes.map((p) => p.job)), 'legacy push groups').toEqual(new Set([expected]));
      expect(new Set(v2.pushes.map((p) => p.job)), '_v2 push groups').toEqual(new Set([expected]));
      expect(v2.pushes.find((p) => p.body.includes('snapshots_indexed'))!.body).toContain(`snapshots_indexed{agent="${expected}"}`);
      expect(v2.registers, v2.output).toEqual([expected]);
      expect(v2.liveAtStop).toEqual([expected]);
      expect(v2.deregisters, v2.output).toEqual([expected]);
    }, 90_000);
  }
});
