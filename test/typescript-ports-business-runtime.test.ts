// The ports check pairs business ports with business ports. tsleft49-counter-relay-fixed-business-port:
// the legacy agent's only listener is its TCP business port, a literal 7437 (not a port the validator
// gives), and it has no health port; the _v2's base serves /health on the validator's HEALTH_CHECK_PORT.
// That health port, one the legacy agent left unused, stood in for 7437: a _v2 whose onStart() never
// listens (hand-broken here) passed validation. Both are validated for real (`migrate validate`, built
// CLI): the fixture's _v2 passes; the broken one fails the ports check, which names 7437.
//
// tsleft50-liveness-ping-own-port-business-api: the legacy agent's health is a server of its own on
// a literal 7473 answering /live and /ping ("pong"), beside its business API on 7472; the rewrite
// removes the liveness server. The legacy health probe asked /health and /healthz only, so 7473
// read as a business port the _v2 dropped and the rewrite failed (before the fix). The scan now
// reads the paths that server answers from the code, and the probe asks them: 7473 pairs with the
// _v2's health port. A _v2 that drops the business API (7472) must still fail, naming it.
//
// The four validations run the built tool's validateCommand in this process, as `migrate validate`
// runs it (typescript-runtime-cases does the same): one launch thread compiles all eight agents
// (legacy and _v2 of each) and keeps the compiler and the lib and @types declarations it parsed
// from one to the next, where four spawned CLIs each started Node, loaded the tool, started a launch
// thread and parsed the same declarations again.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, ensureBuilt, REPO } from './helpers/cli.js';

const FIXTURE = path.join(REPO, 'fixtures', 'typescript', 'tsleft49-counter-relay-fixed-business-port');
const AGENT = 'services/counter-relay.ts';
const roots: string[] = [];
type Dist = {
  validate: typeof import('../src/commands/validate.js');
  invocation: typeof import('../src/core/invocation.js');
  project: typeof import('../src/lang/typescript/project.js');
};
let dist: Dist;
let allDone: () => void = () => {};
// The windows the spawned CLI was given in its environment (validation reads them from process.env).
const WINDOWS = { MIGRATE_SURVIVAL_WINDOW_S: '2', MIGRATE_LEGACY_WINDOW_S: '2' };
const saved = Object.fromEntries(Object.keys(WINDOWS).map((k) => [k, process.env[k]]));
beforeAll(async () => {
  ensureBuilt();
  const load = (rel: string) => import(pathToFileURL(path.join(REPO, 'dist', 'src', rel)).href);
  dist = { validate: await load('commands/validate.js'), invocation: await load('core/invocation.js'), project: await load('lang/typescript/project.js') };
  Object.assign(process.env, WINDOWS);
  // Each validation scans its repository with the type checker, on the library declarations (lib,
  // @types/node) the process keeps only while TypeScript work asked for one in the last 10 s: the
  // agents' windows between one validation's scan and the next were longer, so each of the four
  // parsed and bound them again (as four spawned CLIs did). Held for the file, as one run holds them.
  void dist.project.holdingLibraryDeclarations(() => new Promise<void>((resolve) => (allDone = resolve)));
}, 180_000);
afterAll(async () => {
  allDone();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  // The launch thread, as `migrate` ends it when a command returns.
  await dist?.invocation.closeCommandLeftovers();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** The legacy agent and `v2` as its _v2 sibling, with the reference base, committed in a fresh repository. */
function repo(v2: string, fixture = FIXTURE, agent = AGENT): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-ports-'));
  roots.push(root);
  mkdirSync(path.join(root, path.dirname(agent)), { recursive: true });
  writeFileSync(path.join(root, agent), readFileSync(path.join(fixture, 'input.ts'), 'utf8'));
  writeFileSync(path.join(root, agent.replace(/\.ts$/, '_v2.ts')), v2);
  mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
  cpSync(path.join(REPO, 'templates', 'runtime', 'typescript', 'common', 'core', 'base-agent.ts'), path.join(root, 'common', 'core', 'base-agent.ts'));
  writeFileSync(path.join(root, 'package.json'), '{ "name": "fixture", "private": true }\n');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'ignore' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'fixture');
  return root;
}

async function portsCheck(root: string, cls = 'CounterRelay'): Promise<{ code: number; ports: { ok: boolean; detail: string } }> {
  const [out, err] = [capture(), capture()];
  const code = await dist.invocation.withInvocation({ argv: ['validate', cls, '--json'], stdout: out.stream, stderr: err.stream }, () => dist.validate.validateCommand([cls], { root, json: true }), { alongside: true });
  expect(out.text(), err.text()).not.toBe('');
  const checks = JSON.parse(out.text()).results[0].validation.checks as Array<{ name: string; ok: boolean; detail: string }>;
  return { code, ports: checks.find((c) => c.name === 'ports')! };
}

describe('a _v2 that never listens on the legacy agent\'s business port', () => {
  const expected = readFileSync(path.join(FIXTURE, 'expected.ts'), 'utf8');

  it('the rewrite (listening on its port) passes the ports check', async () => {
    const { code, ports } = await portsCheck(repo(expected));
    expect(ports.ok, ports.detail).toBe(true);
    expect(ports.detail).toMatch(/7437 \(fixed in the legacy agent\) as \d+ \(the validator's\)/);
    expect(code).toBe(0);
  }, 120_000);

  it('a broken rewrite whose onStart() never listens fails it, naming 7437', async () => {
    // The listen and its promise gone: onStart() only logs.
    const broken = expected.replace(/return await new Promise\(\(resolve, reject\) => \{[\s\S]*?\n {6}\}\);\n/, "log('INFO', 'relay up');\n");
    expect(broken).not.toBe(expected);
    const { code, ports } = await portsCheck(repo(broken));
    expect(ports.ok, ports.detail).toBe(false);
    expect(ports.detail).toMatch(/does not listen on 7437/);
    expect(code).toBe(1);
  }, 120_000);
});

describe('a legacy health server on a port of its own answering /live and /ping only', () => {
  const fixture = path.join(REPO, 'fixtures', 'typescript', 'tsleft50-liveness-ping-own-port-business-api');
  const agent = 'services/quote-normalizer.ts';
  const expected = readFileSync(path.join(fixture, 'expected.ts'), 'utf8');

  it('the rewrite (the base serving /health instead) passes the ports check, 7473 paired as the health port', async () => {
    const { code, ports } = await portsCheck(repo(expected, fixture, agent), 'QuoteNormalizer');
    expect(ports.ok, ports.detail).toBe(true);
    expect(ports.detail).toMatch(/legacy 7473, its health port/);
    expect(code).toBe(0);
  }, 120_000);

  it('a broken rewrite that drops the business API fails it, naming 7472', async () => {
    const broken = expected.replace(/\n *this\.api\.listen\(NORMALIZER_PORT, '127\.0\.0\.1'\);/, '');
    expect(broken).not.toBe(expected);
    const { code, ports } = await portsCheck(repo(broken, fixture, agent), 'QuoteNormalizer');
    expect(ports.ok, ports.detail).toBe(false);
    expect(ports.detail).toMatch(/does not listen on 7472/);
    expect(code).toBe(1);
  }, 120_000);
});
