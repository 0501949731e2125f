// A newcomer's clone: `npm ci` accepts the committed lock file and changes no tracked file,
// and `npm install -g .` gives a working `migrate`. npm runs offline from the local cache
// (CI's own `npm ci` filled it), so the test downloads nothing; with a cold cache it skips.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { REPO, ensureBuilt, git } from './helpers/cli.js';

const temps: string[] = [];
beforeAll(() => ensureBuilt(), 180_000);
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const tmp = (prefix: string) => {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(d);
  return d;
};
const OFFLINE = ['--offline', '--no-audit', '--no-fund', '--ignore-scripts'];

describe('a clean install from a clone', () => {
  it('npm ci changes no tracked file; the bin says what is missing until built; npm install -g . then runs migrate', async (ctx) => {
    const clone = path.join(tmp('migrate-clone-'), 'migrate');
    git(REPO, ['clone', '-q', '--no-hardlinks', REPO, clone]);
    const ci = await execa('npm', ['ci', ...OFFLINE], { cwd: clone, reject: false, all: true, timeout: 300_000 });
    if (ci.exitCode !== 0 && /ENOTCACHED|only-if-cached/.test(String(ci.all))) {
      ctx.skip('the npm cache lacks packages of package-lock.json (a cold cache); CI fills it with its own npm ci first');
    }
    expect(ci.exitCode, String(ci.all).slice(-2000)).toBe(0);
    expect(git(clone, ['status', '--porcelain', '--untracked-files=all']), 'npm ci left every tracked file as committed').toBe('');

    const bin = path.join(clone, 'bin', 'migrate.js');
    const unbuilt = await execa('node', [bin, '--version'], { reject: false });
    expect(unbuilt.exitCode).toBe(2);
    expect(String(unbuilt.stderr)).toBe(`migrate: it is not built in ${clone}; run \`npm install && npm run build\` there first`);

    // The build itself is `npm run build` (tsc), which the suite has just run on these sources.
    cpSync(path.join(REPO, 'dist'), path.join(clone, 'dist'), { recursive: true });
    const prefix = tmp('migrate-global-');
    const global = await execa('npm', ['install', '-g', '.', '--prefix', prefix, ...OFFLINE], { cwd: clone, reject: false, all: true, timeout: 120_000 });
    expect(global.exitCode, String(global.all)).toBe(0);
    const version = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version as string;
    const installed = await execa(path.join(prefix, 'bin', 'migrate'), ['--version'], { cwd: os.tmpdir(), reject: false });
    expect(installed.exitCode, String(installed.stderr)).toBe(0);
    expect(String(installed.stdout)).toBe(version);
    const help = await execa(path.join(prefix, 'bin', 'migrate'), ['scan', '--help'], { cwd: os.tmpdir(), reject: false });
    expect(help.exitCode).toBe(0);
    expect(String(help.stdout)).toContain('--check');
    expect(git(clone, ['status', '--porcelain', '--untracked-files=all']), 'dist/ is ignored, nothing else changed').toBe('');
  }, 400_000);
});
