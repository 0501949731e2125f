// The compile check's python3 through a version manager's shim (pyenv's is a bash script
// choosing the version at every start): the first session goes through the shim and learns
// the interpreter it chose; later sessions in the same directory and environment start that
// interpreter directly; another environment (what the shim reads) asks the shim again.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeSharedCompileSessions, pyCompileAll } from '../src/lang/python/py-compile.js';
import { resetProcessState } from '../src/core/invocation.js';

const real = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
const temps: string[] = [];
const savedPath = process.env.PATH;
afterAll(() => {
  process.env.PATH = savedPath;
  delete process.env.PYENV_VERSION_TEST;
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('PyCompileSession through a python3 shim', () => {
  it('asks the shim once, then starts the interpreter it chose, with the same verdicts', async () => {
    // Nothing learnt yet, as in a new process: an earlier file in this worker may have had python3 report its interpreter.
    resetProcessState();
    const shims = mkdtempSync(path.join(os.tmpdir(), 'migrate-compile-shim-'));
    temps.push(shims);
    const calls = path.join(shims, 'calls');
    writeFileSync(path.join(shims, 'python3'), `#!/bin/sh\necho start >> '${calls}'\nexec '${real}' "$@"\n`);
    chmodSync(path.join(shims, 'python3'), 0o755);
    process.env.PATH = `${shims}:${savedPath}`;
    const count = () => readFileSync(calls, 'utf8').trim().split('\n').length;

    const sources = [
      { name: 'agents/ok.py', text: 'class A:\n    def run(self):\n        return 1\n' },
      { name: 'agents/bad.py', text: 'class B:\n    def run(self):\n    return 1\n' },
    ];
    const first = await pyCompileAll(sources);
    expect(first[0]).toBeNull();
    expect(first[1]).toMatch(/^agents\/bad\.py:3: python3 refuses it: IndentationError/);
    expect(count()).toBe(1);
    // A second session (one in another command of this process; within one they share one
    // python3, test/py-compile-shared.test.ts): the same verdicts, no second shim start.
    await closeSharedCompileSessions();
    expect(await pyCompileAll(sources)).toEqual(first);
    expect(count()).toBe(1);
    // Another environment may choose another version: the shim is asked again.
    process.env.PYENV_VERSION_TEST = 'other';
    expect(await pyCompileAll(sources)).toEqual(first);
    expect(count()).toBe(2);
    await closeSharedCompileSessions();
  });
});
