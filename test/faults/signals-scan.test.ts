// Ctrl-C during the scan (issue: "Ctrl-C during scan is acted on only at the scan's end").
// `run` listened for the signal but its scan never looked at it: a big fleet was scanned to
// its end before the run stopped (and then listed every agent as "interrupted before its
// rewrite"); `scan` had no handler at all and died silently. Now the scan stops at its next
// file (the Python readers, their worker threads through shared memory, and the TypeScript
// scan between files), nothing is written, and the command says so in one line, exit 130.
// The signal is sent once the scan's python3 compiler is running (it starts at the first file
// the scan reads), so it lands in the scan of a fleet of some 300 files, however fast the machine.
import { cpSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { baseline, cleanupAll, commitAll, demoRepo, ensureBuilt, expectIntact, kill, spawnRun, tag, tagged, waitFor } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

const children: number[] = [];
afterEach(() => {
  for (const p of children.splice(0)) kill(p);
});

/** The demo fleet copied into twenty packages (some 300 Python files), committed. */
async function bigFleet(): Promise<string> {
  const root = await demoRepo();
  for (let i = 0; i < 20; i++) cpSync(path.join(root, 'agents'), path.join(root, `pkg${i}`, 'agents'), { recursive: true });
  commitAll(root, 'a large fleet');
  return root;
}

/** The scan's compiler: a python3 of this run whose command line holds the compile script. */
const scanning = (t: string) => tagged(t).some((p) => /python3/.test(p.cmdline) && /dont_inherit=True/.test(p.cmdline));

describe('Ctrl-C during the scan stops the scan, not after it', () => {
  for (const args of [['run', '--all', '--no-validate', '--json'], ['scan']]) {
    it(`migrate ${args[0]}: one line, exit 130, nothing written, no process left`, async () => {
      const root = await bigFleet();
      const before = baseline(root);
      const t = tag();
      const child = spawnRun(root, args, t);
      children.push(child.pid!);
      await waitFor(() => scanning(t) || child.exitCode !== null, 'the scan to start', 90_000);
      expect(child.exitCode, 'still scanning').toBeNull();
      child.kill('SIGINT');
      const res = await child;
      const stderr = String(res.stderr);
      // Before: `run` scanned to the end, then began its rewrite ("rewrite N agents", every
      // agent "interrupted before its rewrite"); `scan` was killed by the signal, saying nothing.
      expect({ exitCode: res.exitCode, signal: res.signal ?? null }, stderr).toEqual({ exitCode: 130, signal: null });
      expect(stderr).toContain('migrate: interrupted (SIGINT) during the scan, before anything was written');
      expect(stderr).not.toMatch(/rewrite \d+ agents|interrupted before its rewrite/);
      if (args[0] === 'run') expect(JSON.parse(String(res.stdout)).results).toEqual([]);
      else expect(String(res.stdout)).toBe('');
      await expectIntact(root, before, [t]);
    }, 180_000);
  }
});
