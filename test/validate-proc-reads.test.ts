// What AgentTree.members() reads of processes that are not the agent's: a process younger than
// the agent is looked at for the agent's marker (its environ) once, not at every call (the kill
// loop, the shutdown check's waits and the ports check call members() again and again, and on a
// busy machine most processes are younger than the agent). A process that carries the marker
// without being the agent's descendant (a daemon that double-forked away), started after those
// looks, is still found.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';

const environReads = new Map<number, number>();
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readFileSync = ((file: unknown, ...rest: unknown[]) => {
    const m = typeof file === 'string' ? /^\/proc\/(\d+)\/environ$/.exec(file) : null;
    if (m) environReads.set(Number(m[1]), (environReads.get(Number(m[1])) ?? 0) + 1);
    return (fs.readFileSync as (...a: unknown[]) => unknown)(file, ...rest);
  }) as typeof fs.readFileSync;
  return { ...fs, readFileSync, default: { ...fs, readFileSync } };
});

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

const sleeper = (env: NodeJS.ProcessEnv = process.env) => {
  const c = spawn('sleep', ['60'], { detached: true, stdio: 'ignore', env });
  children.push(c);
  return c.pid!;
};
/** Until each has become `sleep` (before its exec, a child shows the test's own environment). */
const execed = async (...pids: number[]) => {
  const comm = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  for (let i = 0; i < 400 && !pids.every((p) => comm(p) === 'sleep'); i++) await new Promise((r) => setTimeout(r, 25));
  expect(pids.map(comm)).toEqual(pids.map(() => 'sleep'));
};

describe.skipIf(process.platform !== 'linux')('AgentTree.members() on a machine of younger processes', () => {
  it('reads the environ of an unrelated younger process once, and still finds a marker carrier started later', async () => {
    // Loaded anew, so under this file's fs mock even when an earlier file in this worker loaded it.
    vi.resetModules();
    const { AgentTree, MARK_VAR, newMark } = await import('../src/validate/process-group.js');
    const mark = newMark();
    const agent = sleeper({ ...process.env, [MARK_VAR]: mark });
    await execed(agent);
    const tree = new AgentTree(agent, mark);
    const strangers = [sleeper(), sleeper(), sleeper()];
    await execed(...strangers);
    for (let i = 0; i < 5; i++) expect(tree.members()).toEqual([agent]);
    for (const pid of strangers) expect(environReads.get(pid)).toBe(1);

    // Not a child of the agent, in a session of its own, but carrying its marker: the agent's.
    const daemon = sleeper({ ...process.env, [MARK_VAR]: mark });
    await execed(daemon);
    expect(tree.members()).toEqual([agent, daemon].sort((a, b) => a - b));
    for (const pid of strangers) expect(environReads.get(pid)).toBe(1);
  });
});
