// The compile check's python3 is shared (src/lang/python/py-compile.ts sharedCompileSession):
// scans, prechecks and verifies one after another in one process use one python3 per working
// directory and environment instead of starting one each; users at the same time get their own
// verdicts; a python3 that died is replaced; an unused one keeps no process running and ends
// with the process; the CLI's main() ends it when the command returns, so nothing is left.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeSharedCompileSessions, pyCompileAll, sharedCompileSession, sharedCompileSessionCount } from '../src/lang/python/py-compile.js';
import { cliInProcess, demoFleetRepos, ensureBuilt, REPO, tempDirsOfThisFile } from './helpers/cli.js';

const temps = tempDirsOfThisFile();
const demoRepo = demoFleetRepos(temps, 'migrate-compile-shared-');
const cwd = process.cwd();
afterAll(async () => {
  process.chdir(cwd);
  await closeSharedCompileSessions();
});

/** Live compile sessions this process started (python3 -c <the compile script>), by pid. */
function compileChildren(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (f[0] === 'Z' || Number(f[1]) !== process.pid) continue;
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('compile(source, item["name"]')) out.push(Number(d));
    } catch {
      // ended meanwhile
    }
  }
  return out.sort((a, b) => a - b);
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(ok(), what).toBe(true);
}

const sources = [
  { name: 'agents/ok.py', text: 'class A:\n    def run(self):\n        return 1\n' },
  { name: 'agents/bad.py', text: 'class B:\n    def run(self):\n    return 1\n' },
];

describe('shared python3 compile sessions', () => {
  it('one python3 serves compiles one after another and at once, each user its own verdicts; closed, none is left', async () => {
    await closeSharedCompileSessions();
    expect(compileChildren()).toEqual([]);
    const first = await pyCompileAll(sources);
    expect(first[0]).toBeNull();
    expect(first[1]).toMatch(/^agents\/bad\.py:3: python3 refuses it: IndentationError/);
    const pids = compileChildren();
    expect(pids).toHaveLength(1);
    // A second scan's compiles: the same python3, the same verdicts.
    expect(await pyCompileAll(sources)).toEqual(first);
    expect(compileChildren()).toEqual(pids);
    // Two users at once, their sources interleaved: each gets the verdict of its own source.
    const a = sharedCompileSession();
    const b = sharedCompileSession();
    const got = await Promise.all([
      a.compile(sources[1]!),
      b.compile({ name: 'b/one.py', text: 'x = 1\n' }),
      a.compile(sources[0]!),
      b.compile({ name: 'b/two.py', text: 'def f(:\n' }),
    ]);
    expect(got[0]).toBe(first[1]);
    expect(got[1]).toBeNull();
    expect(got[2]).toBeNull();
    expect(got[3]).toMatch(/^b\/two\.py:1: python3 refuses it: SyntaxError/);
    await a.close();
    await a.close(); // a second release changes nothing
    expect(await b.compile(sources[0]!)).toBeNull();
    await b.close();
    expect(compileChildren()).toEqual(pids);
    expect(sharedCompileSessionCount()).toBe(1);
    await closeSharedCompileSessions();
    expect(sharedCompileSessionCount()).toBe(0);
    expect(compileChildren()).toEqual([]);
  });

  it('another working directory gets its own python3 (what `python3` names may differ there); at most one rests', async () => {
    await closeSharedCompileSessions();
    await pyCompileAll(sources);
    const [here] = compileChildren();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'migrate-compile-shared-cwd-'));
    temps.push(dir);
    process.chdir(dir);
    let lease;
    try {
      expect(await pyCompileAll(sources)).toEqual(await pyCompileAll(sources));
      // The resting one of the first directory ended: one python3, the second directory's.
      await until('the first directory\'s resting python3 to end', () => !compileChildren().includes(here!));
      expect(compileChildren()).toHaveLength(1);
      lease = sharedCompileSession();
      expect(await lease.compile(sources[0]!)).toBeNull();
    } finally {
      process.chdir(cwd);
    }
    const [there] = compileChildren();
    // One in use is not ended by a compile elsewhere.
    await pyCompileAll(sources);
    const both = compileChildren();
    expect(both).toHaveLength(2);
    expect(both).toContain(there);
    expect(both).not.toContain(here);
    expect(await lease.compile(sources[1]!)).toMatch(/IndentationError/);
    await lease.close();
    await closeSharedCompileSessions();
    expect(compileChildren()).toEqual([]);
  });

  it('a python3 that died is not handed out again: the next compile starts another', async () => {
    await closeSharedCompileSessions();
    await pyCompileAll(sources);
    const [dead] = compileChildren();
    process.kill(dead!, 'SIGKILL');
    await until('the killed python3 to be reaped', () => !compileChildren().includes(dead!));
    const again = await pyCompileAll(sources);
    expect(again[0]).toBeNull();
    expect(again[1]).toMatch(/IndentationError/);
    const now = compileChildren();
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(dead);
    await closeSharedCompileSessions();
  });

  it('an unused session keeps no process running: a script that compiles and returns ends at once, and its python3 with it', () => {
    ensureBuilt();
    const script = `
      const { pyCompileAll } = await import(${JSON.stringify(path.join(REPO, 'dist', 'src', 'lang', 'python', 'py-compile.js'))});
      const r = await pyCompileAll([{ name: 'a.py', text: 'x = 1\\n' }]);
      const { readdirSync, readFileSync } = await import('node:fs');
      const kids = readdirSync('/proc').filter((d) => /^\\d+$/.test(d)).filter((d) => {
        try { return readFileSync('/proc/' + d + '/stat', 'utf8').split(') ')[1].split(' ')[1] === String(process.pid); } catch { return false; }
      });
      console.log(JSON.stringify({ r, kids }));`;
    const started = Date.now();
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 })) as { r: unknown[]; kids: string[] };
    // It returns long before the session's idle end (30 s) would have ended python3.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(out.r).toEqual([null]);
    expect(out.kids, 'the resting python3 was alive when the script ended').toHaveLength(1);
    // Its stdin closed with the script: it ends by itself.
    const pid = Number(out.kids[0]);
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    return until('the python3 of the ended script to end', () => !alive());
  }, 60_000);

  it('the in-process CLI leaves no python3 behind: main() ends the sessions of the command (scan, then a run that scans, prechecks and verifies)', async () => {
    ensureBuilt();
    const root = await demoRepo();
    const scan = await cliInProcess(root, ['scan', '--json']);
    expect(scan.exitCode, scan.stderr).toBe(0);
    expect(compileChildren()).toEqual([]);
    const run = await cliInProcess(root, ['run', '--all', '--no-validate', '--no-commit', '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { results: Array<{ status: string }> }).results.filter((r) => r.status === 'migrated').length).toBeGreaterThan(3);
    expect(compileChildren()).toEqual([]);
  }, 120_000);
});
