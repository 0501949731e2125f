// subclass-overrides-signal-shutdown: FillRouter's SIGTERM handler called shutdown(), which
// BlockFillRouter (another file) overrides with a drain line before super.shutdown(). The _v2's
// SIGTERM goes through the base's stop() → onStop(); the subclass, run on the _v2 parent (as it is
// once the parent is promoted), still prints its drain line on SIGTERM, once, and is deregistered.
// shutdown() called directly still stops the agent, drains once and does not loop through onStop().
// The same run with the plain delegate (`shutdown() { void this.stop(); }`, no onStop()) loses the
// line: the test can fail.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { launchTypeScript } from '../src/lang/typescript/launch.js';
import { loadProfile } from '../src/profile/profile.js';
import { fixtureRepo, removeRepos } from './helpers/fixture-repo.js';
import { exitedWithOutput } from './helpers/exited.js';

const FIXTURE = 'subclass-overrides-signal-shutdown';
const DRAIN = /block router drained after \d+ batches/g;
const roots: string[] = [];
const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  removeRepos(roots);
});

/** A registry and a metrics sink in one: the paths it was asked for. */
async function sink(): Promise<{ url: string; paths: string[] }> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      paths.push(`${req.method} ${req.url}`);
      res.writeHead(200, { connection: 'close' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`, paths };
}

/**
 * The fixture's repository with the subclass importing `parent` (the _v2 or the legacy file) and a
 * starter that starts it (start(): the legacy's, or the base's that resolves once it runs), calling shutdown() itself after
 * `direct` ms when given. `parentText` replaces the parent _v2's text.
 */
function repo(parent: 'fill_router' | 'fill_router_v2', opts: { direct?: number; parentText?: (t: string) => string } = {}): { root: string; starter: string } {
  const root = fixtureRepo(FIXTURE, 'agents/fill_router.ts', roots);
  const sub = path.join(root, 'agents', 'block_fill_router.ts');
  writeFileSync(sub, readFileSync(sub, 'utf8').replace("'./fill_router.js'", `'./${parent}.js'`));
  if (opts.parentText) {
    const f = path.join(root, 'agents', 'fill_router_v2.ts');
    writeFileSync(f, opts.parentText(readFileSync(f, 'utf8')));
  }
  const direct = opts.direct === undefined ? '' : `setTimeout(() => void router.shutdown(), ${opts.direct});\n`;
  writeFileSync(path.join(root, 'agents', 'run_block.ts'), `import { BlockFillRouter } from './block_fill_router.js';\nconst router = new BlockFillRouter();\nvoid Promise.resolve(router.start()).then(() => console.log('router started'));\n${direct}`);
  return { root, starter: 'agents/run_block.ts' };
}

/** Start the starter; after `ready()` (or once it exits by itself) send SIGTERM: its output and exit code. */
async function runAndTerm(root: string, starter: string, env: Record<string, string>, ready: (log: string) => boolean, signal = true) {
  const cmd = await launchTypeScript(root, starter, loadProfile('base-agent'));
  cleanups.push(() => cmd.cleanup?.());
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...cmd.env, FILL_HEALTH_PORT: '0', HEALTH_CHECK_PORT: '0', ...env };
  for (const k of ['AGENT_PORT', 'AGENT_NAME', ...['REGISTRY_URL', 'METRICS_URL'].filter((k) => !env[k])]) delete childEnv[k];
  const child = spawn(cmd.command, cmd.args, { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (c) => (log += String(c)));
  child.stderr.on('data', (c) => (log += String(c)));
  const exited = exitedWithOutput(child);
  const end = Date.now() + 30_000;
  while (Date.now() < end && child.exitCode === null && !ready(log)) await new Promise((r) => setTimeout(r, 50));
  if (signal && child.exitCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await exited;
  clearTimeout(timer);
  return { code, log };
}

/** The type errors of the subclass's file compiled against the _v2 parent (Node's types from this project). */
function subclassErrors(root: string): string[] {
  const file = path.join(root, 'agents', 'block_fill_router.ts');
  const program = ts.createProgram([file], {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'], typeRoots: [path.resolve('node_modules/@types')],
  });
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => `${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
}

describe("a subclass's override of the shutdown() SIGTERM called still runs on the base's stop path", () => {
  it('legacy: SIGTERM prints the drain line, exit 0', async () => {
    const { root, starter } = repo('fill_router');
    const r = await runAndTerm(root, starter, {}, (log) => log.includes('router started'));
    expect(r.log.match(DRAIN), r.log).toHaveLength(1);
    expect(r.code, r.log).toBe(0);
  }, 60_000);

  it('_v2: SIGTERM prints the drain line once, deregisters, exit 0', async () => {
    const { root, starter } = repo('fill_router_v2');
    const s = await sink();
    const r = await runAndTerm(root, starter, { REGISTRY_URL: s.url, METRICS_URL: s.url }, () => s.paths.includes('POST /register'));
    expect(r.log.match(DRAIN), r.log).toHaveLength(1);
    expect(s.paths, r.log).toContain('POST /deregister');
    expect(r.code, r.log).toBe(0);
  }, 60_000);

  it('_v2: shutdown() called directly drains once and stops the agent (no loop through onStop())', async () => {
    const { root, starter } = repo('fill_router_v2', { direct: 300 });
    const r = await runAndTerm(root, starter, {}, () => false, false);
    expect(r.log.match(DRAIN), r.log).toHaveLength(1);
    expect(r.log, r.log).toMatch(/FillRouter stopped/);
    expect(r.code, r.log).toBe(0);
  }, 60_000);

  it('_v2: the legacy subclass (shutdown(): void) still compiles against the _v2 parent', () => {
    const { root } = repo('fill_router_v2');
    expect(subclassErrors(root)).toEqual([]);
  }, 60_000);

  it('_v2 with the plain stop() delegate: the drain line is lost on SIGTERM', async () => {
    const plain = (t: string) =>
      t
        .replace(/ {2}#shutdown\w+ = false;\n/g, '')
        .replace(/\n {2}\/\/ The SIGTERM handler[^\n]*\n {2}protected override async onStop\(\)[\s\S]*?\n {2}\}\n/, '\n')
        .replace(/(shutdown\(\): void \{\n)[\s\S]*?(\n {2}\})/, '$1    void this.stop();$2');
    const { root, starter } = repo('fill_router_v2', { parentText: plain });
    expect(readFileSync(path.join(root, 'agents', 'fill_router_v2.ts'), 'utf8')).not.toMatch(/onStop|#shutdown/);
    const r = await runAndTerm(root, starter, {}, (log) => /running/.test(log));
    expect(r.log.match(DRAIN), r.log).toBeNull();
    expect(r.code, r.log).toBe(0);
  }, 60_000);
});
