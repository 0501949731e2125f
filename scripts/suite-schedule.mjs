#!/usr/bin/env node
// How long the test suite would take on N forks, from one full run's per-file CPU and wall
// (MIGRATE_TEST_CPU_LOG, test/helpers/cpu-log.ts): the files start in vitest.config.ts's order
// (HEAVY_FIRST, then the rest by size, as vitest does with no results cache) and each runs on
// the next free fork. A file is its CPU plus the rest of its wall as waiting; the CPU of the
// files running at once shares the cores (a file needing more than its share runs slower), the
// waiting does not. The walls are scaled so that `--forks-now` forks give `--seconds` (a CI run's
// time), then other fork counts are scheduled with the same figures, also with each file's time
// varied by +-30 % (8 draws) to see how much the order's luck is worth. `--scale` gives the walls'
// factor instead (the one a run before a change was fitted with, to schedule a log after it).
//   node scripts/suite-schedule.mjs CPU_LOG --seconds 834 [--forks-now 3] [--cores 2]
//   node scripts/suite-schedule.mjs CPU_LOG --scale 0.749
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const log = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (!log) {
  console.error('usage: suite-schedule.mjs CPU_LOG (--seconds S [--forks-now N] | --scale A) [--cores C]');
  process.exit(2);
}
const seconds = opt('seconds', NaN);
const forksNow = opt('forks-now', 3);
const cores = opt('cores', 2);
const repo = path.resolve(import.meta.dirname, '..');

// The first line of each file: a log several runs appended to holds one full run first.
const first = new Map();
for (const line of readFileSync(log, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const l = JSON.parse(line);
  if (!first.has(l.file) && existsSync(path.join(repo, l.file))) first.set(l.file, l);
}
const config = readFileSync(path.join(repo, 'vitest.config.ts'), 'utf8');
const listStart = config.indexOf('const HEAVY_FIRST');
const heavy = [...config.slice(listStart, config.indexOf('];', listStart)).matchAll(/'(test\/[^']+)'/g)].map((m) => m[1]);
const rank = (f) => (heavy.includes(f) ? heavy.indexOf(f) : heavy.length);
const size = (f) => statSync(path.join(repo, f)).size;
const files = [...first.values()].sort((a, b) => rank(a.file) - rank(b.file) || size(b.file) - size(a.file));

/** Seconds to run every file on `forks`, walls scaled by `alpha`, each file's time times (1 +- jitter). */
function schedule(forks, alpha, jitter = 0, seed = 1) {
  let r = seed;
  const rnd = () => (r = (r * 1103515245 + 12345) % 2147483648) / 2147483648;
  const tasks = files.map((l) => {
    const j = 1 + jitter * (2 * rnd() - 1);
    const cpu = (l.user + l.sys) * j;
    return { cpu, wait: Math.max(0, l.wall * alpha * j - cpu), done: 0 };
  });
  const running = [];
  const dt = 0.1;
  let t = 0;
  let next = 0;
  let busy = 0;
  while (next < tasks.length || running.length) {
    while (running.length < forks && next < tasks.length) running.push(tasks[next++]);
    // Cores a file would keep busy alone (its CPU over its wall), summed over the running files.
    const demand = running.reduce((s, x) => s + x.cpu / (x.wait + x.cpu || 1), 0);
    const slower = Math.max(1, demand / cores);
    for (const x of running) x.done += dt / (x.wait + x.cpu * slower || 1e-9);
    busy += Math.min(demand, cores) * dt;
    for (let i = running.length - 1; i >= 0; i--) if (running[i].done >= 1) running.splice(i, 1);
    t += dt;
  }
  return { seconds: t, busy: busy / t };
}

let alpha = opt('scale', 1);
if (Number.isFinite(seconds)) {
  let lo = 0.05;
  let hi = 5;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (schedule(forksNow, mid).seconds > seconds) hi = mid;
    else lo = mid;
  }
  alpha = lo;
}
const cpu = files.reduce((s, l) => s + l.user + l.sys, 0);
const wall = files.reduce((s, l) => s + l.wall, 0);
console.log(`${files.length} files, ${cpu.toFixed(0)} CPU-s, ${wall.toFixed(0)} wall-s summed; walls scaled by ${alpha.toFixed(3)}`);
for (const forks of [2, 3, 4, 5, 6]) {
  const { seconds: s, busy } = schedule(forks, alpha);
  const varied = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => schedule(forks, alpha, 0.3, seed).seconds);
  console.log(`${forks} forks: ${s.toFixed(0)} s (${Math.min(...varied).toFixed(0)}-${Math.max(...varied).toFixed(0)} varied), cores busy ${busy.toFixed(2)} of ${cores}`);
}
