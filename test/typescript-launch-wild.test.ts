// The launch test for Node services in the wild: migrated JavaScript agents (CommonJS,
// `module.exports = class`; a `var self = this` service that bin/ starts; a prototype-style
// service written as a class, started by bin/ too; an ES module loading a CommonJS `.js` helper through createRequire),
// compiled with allowJs next to the TypeScript base, and one agent re-parented from EventEmitter
// onto BaseAgent are started for real by the validator, in their own process groups on free loopback ports, against the embedded registry and metrics sink, and
// pass every check: health, registry, metrics, SIGTERM shutdown with nothing left, and the log.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentInfo, CheckName, ValidationReport } from '../src/core/types.js';
import { loadProfile, templatesDir } from '../src/profile/profile.js';
import { startValidationEnvironment, type ValidationEnvironment } from '../src/validate/environment.js';
import { validateAgent } from '../src/validate/validate-agent.js';
import { liveGroups } from '../src/validate/process-group.js';
import { freePort } from './helpers/ask.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fx = (name: string, file: string) => readFileSync(path.join(here, '..', 'fixtures', 'typescript', name, file), 'utf8');
const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-launch-wild-'));
const profile = loadProfile('base-agent');
let env: ValidationEnvironment;
let fxQuoterPort = 0;
let ingestPort = 0;

function put(rel: string, text: string): void {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), text);
}

beforeAll(async () => {
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  put('agents/stats_pusher.js', fx('cjs-class-expression-pusher', 'input.js'));
  put('agents/stats_pusher_v2.js', fx('cjs-class-expression-pusher', 'expected.js'));
  put('agents/supervisor.ts', fx('eventemitter-supervisor-daemon', 'input.ts'));
  put('agents/supervisor_v2.ts', fx('eventemitter-supervisor-daemon', 'expected.ts'));
  // Started from bin/ (no main guard), reaching itself through `var self = this`; and a pm2-era
  // prototype service, written as a class by the rewrite, started from bin/ too. Each bin script
  // reads the agent's options from the environment, so it is the _v2's entry point; its own signal
  // handler (exiting before the base deregisters) is the review item that keeps the _v2 from being
  // written: removed here, as that item asks, the _v2 runs through the bin script.
  const withoutSignalHandlers = (text: string) => text.slice(0, text.indexOf('process.on('));
  put('services/metrics_aggregator.js', fx('cjs-self-alias-bin-started', 'input.js'));
  put('services/metrics_aggregator_v2.js', fx('cjs-self-alias-bin-started', 'expected.js'));
  put('bin/metrics-aggregator.js', withoutSignalHandlers(fx('cjs-self-alias-bin-started', 'bin/metrics-aggregator.js')));
  put('services/mailer.js', fx('prototype-pm2-mailer', 'input.js'));
  put('services/mailer_v2.js', fx('prototype-pm2-mailer', 'expected.js'));
  put('bin/mailer.js', withoutSignalHandlers(fx('prototype-pm2-mailer', 'bin/mailer.js')));
  // An ES module loading a CommonJS `.js` helper of lib/ through createRequire(import.meta.url).
  put('lib/quote-store.js', fx('esm-create-require-cjs-js-helper', 'lib/quote-store.js'));
  put('agents/fx-quoter.mjs', fx('esm-create-require-cjs-js-helper', 'input.mjs'));
  put('agents/fx-quoter_v2.mjs', fx('esm-create-require-cjs-js-helper', 'expected.mjs'));
  // A class module with no entry point, built and started by the service's main.ts.
  put('services/ingest/webhook-ingest.ts', fx('service-started-from-main', 'input.ts'));
  put('services/ingest/webhook-ingest_v2.ts', fx('service-started-from-main', 'expected.ts'));
  put('services/ingest/main.ts', fx('service-started-from-main', 'services/ingest/main.ts'));
  fxQuoterPort = await freePort();
  ingestPort = await freePort();
  env = await startValidationEnvironment();
});

afterAll(async () => {
  await env?.close();
  rmSync(root, { recursive: true, force: true });
});

function agent(name: string, file: string): AgentInfo {
  return { name, file, language: 'typescript', class: name, status: 'legacy', findings: [], line: 1, evidence: [] };
}

async function validate(name: string, stem: string, ext: string, dir = 'agents'): Promise<ValidationReport> {
  return validateAgent({
    root,
    agent: agent(name, `${dir}/${stem}${ext}`),
    file: path.join(root, dir, `${stem}_v2${ext}`),
    profile,
    env,
    healthDeadlineMs: 20_000,
    registryDeadlineMs: 20_000,
    metricsDeadlineMs: 20_000,
    shutdownDeadlineMs: 5000,
    // The collector the pusher posts to is nowhere: its failed pushes are warnings, not errors.
    baseEnv: { ...process.env, COLLECTOR_URL: 'http://127.0.0.1:9/ingest', SUPERVISOR_RPC: path.join(root, 'supervisor.sock'), SPOOL_DIR: path.join(root, 'spool'), MAIL_SPOOL: path.join(root, 'mail'), RELAY_URL: 'http://127.0.0.1:9/submit', FX_QUOTER_PORT: String(fxQuoterPort), INGEST_PORT: String(ingestPort), INGEST_SPOOL: path.join(root, 'webhooks.jsonl') },
  });
}

const outcome = (r: ValidationReport) => r.checks.map((c) => [c.name, c.ok, c.ok ? '' : c.detail] as [CheckName, boolean, string]);

const cases: Array<[string, string, string, string, string?]> = [
  ['a migrated JavaScript agent (CommonJS, module.exports = class)', 'StatsPusher', 'stats_pusher', '.js'],
  ['an agent re-parented from EventEmitter onto BaseAgent', 'Supervisor', 'supervisor', '.ts'],
  ['a `var self = this` service started from bin/ (its entry point)', 'MetricsAggregator', 'metrics_aggregator', '.js', 'services'],
  ['a prototype-style service written as a class, started from bin/', 'Mailer', 'mailer', '.js', 'services'],
  // Built as an ES module: the helper the compiler follows must still load as CommonJS.
  ['an ES module requiring a CommonJS .js helper through createRequire', 'FxQuoter', 'fx-quoter', '.mjs'],
  // The _v2 module declares the class only: it runs through main.ts, importing the _v2.
  ['a service class started from a separate main.ts (no entry point in its module)', 'WebhookIngest', 'webhook-ingest', '.ts', 'services/ingest'],
];

describe('migrated Node services run and pass validation', () => {
  for (const [what, name, stem, ext, dir] of cases) {
    it(`${what} passes every check`, async () => {
      const r = await validate(name, stem, ext, dir);
      expect(outcome(r)).toEqual([
        ['health', true, ''],
        ['registry', true, ''],
        ['metrics', true, ''],
        ['survival', true, ''],
        ['ports', true, ''],
        ['shutdown', true, ''],
        ['deregister', true, ''],
        ['log', true, ''],
      ]);
      expect(r.ok).toBe(true);
      expect(env.sink!.samples().some((s) => s.labels.agent === name)).toBe(true);
      expect(liveGroups()).toEqual([]);
    }, 90_000);
  }
});
