// Signals before a command has its own handler (issue: "Ctrl-C while the CLI loads its
// modules is silent"). The CLI takes a second or more to load (tree-sitter, ts-morph); a
// Ctrl-C then ended it by Node's default action: no line, killed by a signal, the user left
// to guess whether anything was changed. Now the launcher catches it first: one line saying
// nothing was read or changed, exit 130 (143 for SIGTERM), nothing left in the repository.
// A loader hook (module.register) holds the load of dist/src/cli.js for a few seconds, as a
// cold disk does, so the signal lands while the CLI loads, however fast the machine.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, baseline, cleanupAll, demoRepo, ensureBuilt, expectIntact, kill, tag, tempDir, waitFor } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

const children: number[] = [];
afterEach(() => {
  for (const p of children.splice(0)) kill(p);
});

/** A preload that registers a hook holding the load of the CLI's module for `holdMs`, after touching `marker`. */
function slowLoadHook(marker: string, holdMs: number): string {
  const dir = tempDir('migrate-slow-load-');
  const hook = `
import { writeFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.endsWith('/dist/src/cli.js')) {
    writeFileSync(${JSON.stringify(marker)}, 'loading');
    await new Promise((r) => setTimeout(r, ${holdMs}));
  }
  return next(url, context);
}`;
  writeFileSync(path.join(dir, 'hook.mjs'), hook);
  const preload = path.join(dir, 'preload.mjs');
  writeFileSync(preload, `import { register } from 'node:module';\nregister(${JSON.stringify(new URL(`file://${path.join(dir, 'hook.mjs')}`).href)});\n`);
  return preload;
}

describe('a signal while the CLI loads its modules', () => {
  // SIGTERM's run asks for --json: stdout then holds the interruption's error document, not nothing.
  for (const [signal, code, json] of [
    ['SIGINT', 130, false],
    ['SIGTERM', 143, true],
  ] as const) {
    it(`${signal}${json ? ' (--json)' : ''}: one line saying nothing was changed, exit ${code}, the repository as it was`, async () => {
      const root = await demoRepo();
      const before = baseline(root);
      const t = tag();
      const marker = path.join(tempDir('migrate-slow-mark-'), 'loading');
      const preload = slowLoadHook(marker, 5_000);
      const child = execa('node', ['--import', preload, BIN, 'run', '--all', ...(json ? ['--json'] : []), '--root', root], {
        cwd: root,
        reject: false,
        stdin: 'ignore',
        timeout: 60_000,
        env: { FORCE_COLOR: '0', NO_COLOR: '1', FAULT_TAG: t },
      });
      children.push(child.pid!);
      await waitFor(() => existsSync(marker) || child.exitCode !== null, 'the CLI to load its modules', 30_000);
      expect(child.exitCode, 'still loading').toBeNull();
      child.kill(signal);
      const res = await child;
      // Before: killed by the signal (exit code undefined, signal set) and nothing on stderr.
      expect({ exitCode: res.exitCode, signal: res.signal ?? null }, String(res.stderr)).toEqual({ exitCode: code, signal: null });
      const lines = String(res.stderr).split('\n').filter(Boolean);
      const said = `interrupted (${signal}) while it started, before it read or changed anything`;
      expect(lines).toEqual([`migrate: ${said}`]);
      if (json) expect(JSON.parse(String(res.stdout))).toEqual({ error: { code: 'interrupted', message: said, file: null, line: null, exit_code: code } });
      else expect(String(res.stdout)).toBe('');
      await expectIntact(root, before, [t]);
    }, 90_000);
  }

  it('a command that writes takes over: SIGINT during `run` still cleans up through its own handler (exit 130, its own report)', async () => {
    // The launcher's handler must stand aside once `run` listens: else it would exit at once,
    // in the middle of the cleanup, with a line that says nothing was changed.
    const root = await demoRepo();
    const before = baseline(root);
    const t = tag();
    const child = execa('node', [BIN, 'run', '--all', '--no-validate', '--json', '--root', root], {
      cwd: root,
      reject: false,
      stdin: 'ignore',
      timeout: 90_000,
      env: { FORCE_COLOR: '0', NO_COLOR: '1', FAULT_TAG: t },
    });
    children.push(child.pid!);
    await waitFor(() => existsSync(path.join(root, '.git', 'migrate-run.json')) || child.exitCode !== null, 'the run to start');
    child.kill('SIGINT');
    const res = await child;
    expect(res.exitCode, String(res.stderr)).toBe(130);
    expect(String(res.stderr)).not.toMatch(/before it read or changed anything|which changes no file/);
    expect(() => JSON.parse(String(res.stdout))).not.toThrow();
    await expectIntact(root, before, [t]);
  }, 120_000);
});
