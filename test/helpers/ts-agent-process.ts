// A TypeScript/JavaScript agent (legacy file or _v2) started for real, stopped with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { launchTypeScript } from '../../src/lang/typescript/launch.js';
import { loadProfile } from '../../src/profile/profile.js';
import { addReferenceBase } from './fixture-repo.js';
import { exitedWithOutput } from './exited.js';

// The agents' ports are claimed below the ephemeral range (see there): the tests importing it from here keep working.
export { freePort } from './ask.js';

/** A registry on loopback that answers 200 to everything and keeps each /register body, in order. */
export async function recordingRegistry(): Promise<{
  url: string;
  registrations: Array<{ port?: number }>;
  /** Every request, in order: its path and the name its body gave. */
  requests: Array<{ path: string; name: string }>;
  close(): void;
}> {
  const registrations: Array<{ port?: number }> = [];
  const requests: Array<{ path: string; name: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const json = JSON.parse(body || '{}');
      requests.push({ path: req.url ?? '', name: String(json.name) });
      if (req.url === '/register') registrations.push(json);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, registrations, requests, close: () => server.close() };
}

/** Start `file` (with command-line `args`) with `extra` in its environment, wait until `ready()`, send SIGTERM; its exit code and output. */
export async function stopWhen(root: string, file: string, extra: Record<string, string>, ready: (log: string) => boolean, args: string[] = []): Promise<{ code: number | null; log: string }> {
  return driveAgent(root, file, extra, args, async (child, log, exited) => {
    const end = Date.now() + 30_000;
    while (Date.now() < end && child.exitCode === null && !ready(log())) await new Promise((r) => setTimeout(r, 50));
    expect(ready(log()), log()).toBe(true);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  });
}

/** Start `file` with `extra` in its environment and wait (at most 30 s) for it to end by itself; its exit code and output. */
export async function exitOf(root: string, file: string, extra: Record<string, string>): Promise<{ code: number | null; log: string }> {
  return driveAgent(root, file, extra, [], async (child) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    // 'close', not 'exit': its last lines are read out too.
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearTimeout(timer);
    return code;
  });
}

/** Start `file` with `extra` in its environment and hand it to `drive`, which resolves with its exit code; killed after. */
export async function driveAgent(
  root: string,
  file: string,
  extra: Record<string, string>,
  args: string[],
  drive: (child: ChildProcess, log: () => string, exited: Promise<number | null>) => Promise<number | null>,
): Promise<{ code: number | null; log: string }> {
  const cmd = await launchTypeScript(root, file, loadProfile('base-agent'));
  const env: NodeJS.ProcessEnv = { ...process.env, ...cmd.env, HEALTH_CHECK_PORT: '0', ...extra };
  // The runner's own settings never leak in; a test that names one (a registry of its own) keeps it.
  for (const k of ['AGENT_PORT', 'REGISTRY_URL', 'METRICS_URL', 'AGENT_NAME']) if (!(k in extra)) delete env[k];
  const child = spawn(cmd.command, [...cmd.args, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (c) => (log += String(c)));
  child.stderr.on('data', (c) => (log += String(c)));
  const exited = exitedWithOutput(child);
  try {
    const code = await drive(child, () => log, exited);
    return { code, log };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await cmd.cleanup?.();
  }
}

/**
 * A temporary repository for a fixture's agent: each `files` entry (repository path → file of the
 * fixture directory) copied in, the reference base where the profile imports it from, and a
 * package.json (ESM with `esm`). Its path is added to `roots`, for the caller to remove.
 */
export function fixtureRepo(fixture: string, files: Record<string, string>, roots: string[], esm = false): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-fixture-'));
  roots.push(root);
  for (const [to, from] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, to)), { recursive: true });
    writeFileSync(path.join(root, to), readFileSync(path.join(fixture, from), 'utf8'));
  }
  addReferenceBase(root, esm);
  return root;
}
