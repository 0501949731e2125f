// Two (or more) builds side by side on one generated fleet, alternated round by round, in CPU
// seconds (user + system of the process and its children, from /usr/bin/time): on a shared
// machine wall time follows the other users' load, CPU time much less so. An optimisation is
// merged on these figures (the rule: clearly outside the noise, at least 8% of the run's CPU).
//
//   node dist/test/bench/ab.js --agents 250 --rounds 3 before=/tmp/base/bin/migrate.js after=bin/migrate.js
//   node dist/test/bench/ab.js --pool ...          # with the worker pool (-j 2) instead of --run-in-band
//   node dist/test/bench/ab.js --ts-share 1 ...    # share of TypeScript agents (default 0.1; 1 = TypeScript only)
//   node dist/test/bench/ab.js ... -- scan --json  # another command
//   LABEL=node-flags@path: e.g. young=--max-semi-space-size=64@bin/migrate.js runs node with those flags
//
// Each run starts from the committed fleet (git clean), and the `_v2` files each run wrote are
// hashed: builds that write different outputs are reported (compare them with same-outputs).
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFleet } from './fleet/fleet.js';
import { dropRepositoryGitEnv } from '../../src/record/git-env.js';

// Started from a git hook (GIT_DIR set), the temporary fleets' `git init` would re-initialise the hook's repository.
dropRepositoryGitEnv();

const ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'fixtures', 'python'))) dir = path.dirname(dir);
  return dir;
})();

const TIME = '/usr/bin/time';

interface Build {
  label: string;
  flags: string[];
  cli: string;
}

interface Run {
  round: number;
  label: string;
  cpu: number;
  wall: number;
  rssMB: number;
  load: number;
  exit: number | null;
  outputs: string;
}

function git(dir: string, ...args: string[]): void {
  const r = spawnSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', ...args], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

/** One hash over every `_v2` file under dir (path and text), in path order. */
function outputsHash(dir: string): string {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.git' || e.name === 'node_modules') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/_v2\.[a-z]+$/.test(e.name)) files.push(p);
    }
  };
  walk(dir);
  const h = createHash('sha1');
  for (const f of files.sort()) h.update(path.relative(dir, f)).update('\0').update(readFileSync(f)).update('\0');
  return `${files.length} files ${h.digest('hex').slice(0, 12)}`;
}

function once(dir: string, build: Build, command: string[], round: number): Run {
  git(dir, 'clean', '-fdxq');
  git(dir, 'checkout', '-q', '.');
  const marker = path.join(os.tmpdir(), `migrate-ab-${process.pid}.time`);
  const load = os.loadavg()[0]!;
  const r = spawnSync(TIME, ['-f', '%U %S %e %M', '-o', marker, process.execPath, ...build.flags, build.cli, ...command], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    env: { ...process.env, FORCE_COLOR: '0', MIGRATE_CACHE: '0' },
  });
  const [user, sys, wall, rss] = readFileSync(marker, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  rmSync(marker, { force: true });
  return { round, label: build.label, cpu: user! + sys!, wall: wall!, rssMB: rss! / 1024, load, exit: r.status, outputs: outputsHash(dir) };
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function main(): number {
  const args = process.argv.slice(2);
  const dash = args.indexOf('--');
  const tail = dash >= 0 ? args.splice(dash).slice(1) : null;
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? !!args.splice(i, 1) : false;
  };
  const agents = Number(opt('--agents') ?? 250);
  const rounds = Number(opt('--rounds') ?? 3);
  const pool = flag('--pool');
  const typescriptShare = Number(opt('--ts-share') ?? 0.1);
  const builds: Build[] = args.map((a) => {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new Error(`${a}: expected LABEL=path/bin/migrate.js`);
    const spec = a.slice(eq + 1);
    const at = spec.lastIndexOf('@');
    return { label: a.slice(0, eq), flags: at >= 0 ? spec.slice(0, at).split(/\s+/).filter(Boolean) : [], cli: path.resolve(at >= 0 ? spec.slice(at + 1) : spec) };
  });
  if (builds.length < 2 || !existsSync(TIME)) {
    console.error('usage: ab [--agents N] [--rounds N] [--pool] [--ts-share 0..1] LABEL=[node-flags@]bin/migrate.js LABEL=... [-- migrate command]  (needs /usr/bin/time)');
    return 2;
  }
  const command = tail ?? ['run', '--all', '--no-validate', '--no-commit', '--json', ...(pool ? ['-j', '2'] : ['--run-in-band'])];
  const dir = mkdtempSync(path.join(os.tmpdir(), `migrate-ab-${agents}-`));
  try {
    writeFleet(dir, agents, { baseDir: path.join(ROOT, 'fixtures', 'python', '_base'), typescriptShare });
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'fleet');
    console.log(`${agents} agents (${typescriptShare * 100}% TypeScript), ${rounds} rounds alternated: migrate ${command.join(' ')}`);
    const runs: Run[] = [];
    for (let round = 1; round <= rounds; round++) {
      // Who goes first alternates too: a load that rises through a round weighs on both.
      const order = round % 2 ? builds : [...builds].reverse();
      for (const b of order) {
        const r = once(dir, b, command, round);
        runs.push(r);
        console.log(`round ${round}  ${b.label.padEnd(10)} cpu ${r.cpu.toFixed(2).padStart(6)} s  wall ${r.wall.toFixed(1).padStart(6)} s  rss ${r.rssMB.toFixed(0).padStart(5)} MB  load ${r.load.toFixed(1).padStart(4)}  exit ${r.exit}  ${r.outputs}`);
      }
    }
    const first = builds[0]!.label;
    const cpuOf = (label: string) => runs.filter((r) => r.label === label).map((r) => r.cpu);
    console.log('\nCPU seconds        mean  median     min   vs ' + first + ' (mean, median)');
    for (const b of builds) {
      const xs = cpuOf(b.label);
      const vs = b.label === first ? '' : `${((mean(xs) / mean(cpuOf(first)) - 1) * 100).toFixed(1)}%, ${((median(xs) / median(cpuOf(first)) - 1) * 100).toFixed(1)}%`;
      console.log(`${b.label.padEnd(14)} ${mean(xs).toFixed(2).padStart(7)} ${median(xs).toFixed(2).padStart(7)} ${Math.min(...xs).toFixed(2).padStart(7)}   ${vs}`);
    }
    const hashes = new Set(runs.map((r) => r.outputs));
    if (hashes.size > 1) console.log(`\noutputs differ between runs: ${[...hashes].join(' | ')}`);
    return hashes.size > 1 || new Set(runs.map((r) => r.exit)).size > 1 ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = main();
