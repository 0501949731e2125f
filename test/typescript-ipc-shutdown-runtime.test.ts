// ipc-shutdown-shares-drain-and-exit (a forked thumbnail worker, an arrow-function field as its
// 'message' listener) and ipc-switch-shutdown-method-exits (a dedupe cache, a method switching on
// msg.type): each ends on its parent's IPC {type: 'shutdown'} (its last word to the parent, exit 0)
// through a method that also was its SIGTERM handler. In the _v2 that message goes through the
// base's stop(): the _v2 is forked for real, as its parent does, with a registry and a metrics sink
// of the test's own; once it said ready and registered, the parent sends the message and sees the
// last word, a deregistration, a last metrics push (agent_up 0) and exit code 0, the legacy's.
// ipc-shutdown-message-exit-code (a render worker, drainAndExit(why, code = 0) given `msg.code ?? 0`):
// the message {type: 'shutdown', code: 75} ends legacy and _v2 with 75. ipc-message-exits-with-its-code
// (a geo lookup child whose listener calls process.exit(msg.code || 0) itself): the same.
import { fork } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { launchTypeScript } from '../src/lang/typescript/launch.js';
import { loadProfile } from '../src/profile/profile.js';
import { fixtureRepo, removeRepos, v2 } from './helpers/fixture-repo.js';
import { exitedWithOutput } from './helpers/exited.js';

const CASES: Array<{ fixture: string; agent: string; cls: string; last: string; env: Record<string, string>; shutdown?: { code: number } }> = [
  { fixture: 'ipc-shutdown-shares-drain-and-exit', agent: 'services/media/thumb-worker.ts', cls: 'ThumbWorker', last: 'bye', env: { THUMB_HEALTH_PORT: '0' } },
  { fixture: 'ipc-switch-shutdown-method-exits', agent: 'services/dedupe-cache.mjs', cls: 'DedupeCache', last: 'closed', env: { DEDUPE_HEALTH_PORT: '0' } },
  { fixture: 'ipc-shutdown-message-exit-code', agent: 'services/docs/render-worker.ts', cls: 'RenderWorker', last: 'bye', env: { RENDER_HEALTH_PORT: '0' }, shutdown: { code: 75 } },
  { fixture: 'ipc-message-exits-with-its-code', agent: 'services/geo-lookup.cjs', cls: 'GeoLookupChild', last: 'bye', env: { GEO_HEALTH_PORT: '0' }, shutdown: { code: 75 } },
];
const roots: string[] = [];
const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  removeRepos(roots);
});

const materialize = (c: (typeof CASES)[number]) => fixtureRepo(c.fixture, c.agent, roots);

/** A registry and a metrics sink in one: every request's method, path and body, in order. */
async function sink(): Promise<{ url: string; seen: Array<{ method: string; path: string; body: string }> }> {
  const seen: Array<{ method: string; path: string; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`, seen };
}

/** Fork `file` (compiled as validation runs it), wait for ready (and `until()`), send shutdown: its messages, exit code and output. */
async function forkAndShutdown(root: string, file: string, env: Record<string, string>, until: () => boolean, shutdown: { code?: number } = {}) {
  const cmd = await launchTypeScript(root, file, loadProfile('base-agent'));
  cleanups.push(() => cmd.cleanup?.());
  const base: NodeJS.ProcessEnv = { ...process.env, ...cmd.env, HEALTH_CHECK_PORT: '0', THUMB_OUT: path.join(root, 'thumbs'), ...env };
  for (const k of ['AGENT_PORT', 'AGENT_NAME', ...['REGISTRY_URL', 'METRICS_URL'].filter((k) => !env[k])]) delete base[k];
  const child = fork(cmd.args[cmd.args.length - 1]!, [], { cwd: root, env: base, execPath: cmd.command, execArgv: cmd.args.slice(0, -1), stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let log = '';
  child.stdout!.on('data', (c) => (log += String(c)));
  child.stderr!.on('data', (c) => (log += String(c)));
  const messages: Array<{ type: string; done?: number }> = [];
  child.on('message', (m) => messages.push(m as { type: string }));
  const exited = exitedWithOutput(child);
  const end = Date.now() + 30_000;
  while (Date.now() < end && child.exitCode === null && !(messages.some((m) => m.type === 'ready') && until())) await new Promise((r) => setTimeout(r, 50));
  child.send({ type: 'shutdown', ...shutdown });
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await exited;
  clearTimeout(timer);
  return { code, messages, log };
}

describe("a forked worker's IPC shutdown goes through the base's stop()", () => {
  for (const c of CASES) {
    const code = c.shutdown?.code ?? 0;
    it(`${c.fixture}, legacy: ${c.last}, exit ${code}`, async () => {
      const root = materialize(c);
      const r = await forkAndShutdown(root, c.agent, c.env, () => true, c.shutdown);
      expect(r.messages.map((m) => m.type), r.log).toEqual(['ready', c.last]);
      expect(r.code, r.log).toBe(code);
    }, 60_000);

    it(`${c.fixture}, _v2: ${c.last}, deregistered, last metrics pushed, exit ${code}`, async () => {
      const root = materialize(c);
      const s = await sink();
      const registered = () => s.seen.some((x) => x.path === '/register') && s.seen.some((x) => x.method === 'PUT');
      const r = await forkAndShutdown(root, v2(c.agent), { ...c.env, REGISTRY_URL: s.url, METRICS_URL: s.url }, registered, c.shutdown);
      expect(r.messages.map((m) => m.type), r.log).toEqual(['ready', c.last]);
      const after = s.seen.slice(s.seen.findIndex((x) => x.path === '/register') + 1);
      expect(after.find((x) => x.path === '/deregister')?.body, r.log).toBe(JSON.stringify({ name: c.cls }));
      expect(after.filter((x) => x.method === 'PUT').at(-1)?.body, r.log).toMatch(new RegExp(`agent_up\\{agent="${c.cls}"\\} 0`));
      expect(r.code, r.log).toBe(code);
    }, 60_000);
  }
});
