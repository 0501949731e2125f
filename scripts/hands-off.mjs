#!/usr/bin/env node
// Hands-off figures: how many agents of a fleet end `migrated` / `needs-review` / `not-validated` / `failed`,
// the review items per agent, and the most frequent kinds of what is left for a human.
//
//   node scripts/hands-off.mjs                      the Python fixtures (those on the production-like
//                                                   base: rewrite only; those on the reference base
//                                                   and the demo fleet: rewrite + runtime validation)
//   --no-validate                                   rewrite only everywhere
//   node scripts/hands-off.mjs --repo DIR [--validate] [--profile NAME]
//                                                   any repository (copied first: never touched)
//   --only model|reference|demo                     just that block of the fixtures run (the others are slow)
//   --json                                          one JSON document instead of the tables
//
// Every fleet runs in a temporary copy, through the real command line (`migrate run --all
// --json --no-commit`), so the figures are what a user gets.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dropRepositoryGitEnv } from '../dist/src/record/git-env.js';
import { pythonFixturesRepos } from './fixture-fleets.mjs';

// Started from a git hook (GIT_DIR set), the temporary fleet's `git init` would re-initialise the hook's repository.
dropRepositoryGitEnv();

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const cli = path.join(repo, 'bin', 'migrate.js');

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

/** A review item's kind, from the reason the engine gave (the groups the issue counts). */
const KINDS = [
  ['caller outside the file', /^[\w./-]+\.py:\d+ (reaches|uses) /],
  ['port-plan conflict', /port plan/],
  ['early override renamed', /renamed to _agent|calls \w+\(\) before the agent is set up/],
  ['teardown kept', /\b(cleanup|stop|shutdown|close|_cleanup|_shutdown|_stop)\(\) does business work/],
  ['main loop kept', /holds business logic|takes parameters; kept|is async; kept/],
  ['base never started', /starts nothing when constructed|starts nothing \(no \/health/],
  ['own socket under a base-owned name', /not the health port|not the agent's port|clashes with the base|agent's own socket/],
  ['health member still used', /ad-hoc health .*still used|health .*still used at line/],
  ['health carries business state', /health payload carries|health code that also touches business|fields that cannot be expressed in the agent's scope/],
  // A path the legacy health server also answered (a business route, a probe alias): the base's server answers /health and /metrics only.
  ['route the base does not serve', /health server also answered|removed health server answered GET/],
  ['caller of the legacy health port', /connects to the legacy health port/],
  ['several instances in one process', /builds several \w+ in one process/],
  ['second agent in the file', /a second legacy agent of this file/],
  ['own metrics push', /pushes the agent's own samples/],
  ['running re-assigned', /self\.running is owned|running is renamed agent_running/],
  ['base-owned attribute re-assigned', /is owned by the base|also set by .*inside super|after BaseAgent\.__init__ set it|re-bound .* after super\(\)\.__init__\(\)/],
  ['exit code changed', /exit code \d|exits 0/],
  ['entry-point mode', /the entry point also (uses|constructs)/],
  ['constructed elsewhere', /constructs \w+ outside the entry point/],
  ['base given no ports', /BaseAgent\.__init__ is given no/],
  ['signal handler kept', /signal handler/],
  ['entry point', /entry point|__main__/],
  ['old base member', /only the old base|called by the old base|the old base \w+(\(\))?'s \w+\(\)|old base \w+ started/],
  ['caller outside the file', /outside the (class|file)|another file|^[\w./-]+\.py:\d+ \(.*\) reach(es)? \w+, renamed/],
  ['health (other)', /health/i],
];

function kindOf(reason) {
  for (const [kind, re] of KINDS) if (re.test(reason)) return kind;
  return 'other';
}

function sh(cmd, argv, cwd, env = {}) {
  return spawnSync(cmd, argv, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } });
}

function gitInit(dir) {
  const git = (...a) => sh('git', ['-c', 'user.name=hands-off', '-c', 'user.email=hands-off@example.invalid', ...a], dir);
  if (!existsSync(path.join(dir, '.git'))) git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '--allow-empty', '-m', 'fleet');
}

/** Run the whole fleet (one repository or several) through `migrate run --all --json` and summarise it. */
function measure(label, dirs, options) {
  return summarise(label, [dirs].flat().flatMap((dir) => runFleet(label, dir, options)));
}

function runFleet(label, dir, { validate, profile }) {
  const argv = [cli, 'run', '--all', '--json', '--no-commit', '--concurrency', '4'];
  if (!validate) argv.push('--dry-run', '--no-validate');
  if (profile) argv.push('--profile', profile);
  const r = sh(process.execPath, argv, dir);
  let out;
  try {
    out = JSON.parse(r.stdout);
  } catch {
    throw new Error(`${label}: migrate run printed no JSON (exit ${r.status}): ${r.stderr.split('\n').slice(-3).join(' ')}`);
  }
  return out.results;
}

/** run --json keeps DESIGN.md's five statuses: a not-validated agent is failed there, with validation.not_run. */
function statusOf(result) {
  return result.status === 'failed' && result.validation?.not_run ? 'not-validated' : result.status;
}

function summarise(label, results) {
  // not-validated: written and verified, but validation could not run here (a module the agent and its legacy both lack).
  const counts = { migrated: 0, 'needs-review': 0, 'not-validated': 0, failed: 0, other: 0 };
  const kinds = new Map();
  let items = 0;
  for (const x of results) {
    const status = statusOf(x);
    if (status in counts) counts[status]++;
    else counts.other++;
    items += x.kept_for_review.length;
    for (const k of x.kept_for_review) {
      const kind = kindOf(k.reason);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
  }
  const agents = results.length;
  return {
    label,
    agents,
    ...counts,
    review_items: items,
    review_items_per_agent: agents ? Number((items / agents).toFixed(2)) : 0,
    warnings: results.reduce((n, x) => n + x.warnings.length, 0),
    kinds: [...kinds.entries()].sort((a, b) => b[1] - a[1]),
    per_agent: results.map((x) => ({
      agent: x.agent,
      status: statusOf(x),
      review: x.kept_for_review.length,
      warnings: x.warnings.length,
      ...(x.error ? { error: x.error } : {}),
    })),
  };
}

function demoFleetRepo() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hands-off-demo-'));
  cpSync(path.join(repo, 'fixtures', 'demo-fleet'), dir, { recursive: true });
  sh(process.execPath, [cli, 'init'], dir);
  gitInit(dir);
  return dir;
}

function copyRepo(src, profile) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hands-off-repo-'));
  cpSync(src, dir, { recursive: true, filter: (s) => !s.includes(`${path.sep}.git${path.sep}`) && !s.endsWith(`${path.sep}.git`) && !/_v2\.py$/.test(s) });
  // The profile's reference base where the repository has none (what a user runs first).
  sh(process.execPath, [cli, 'init', ...(profile ? ['--profile', profile] : [])], dir);
  gitInit(dir);
  return dir;
}

function print(m) {
  const pct = (n) => (m.agents ? `${Math.round((100 * n) / m.agents)}%` : '-');
  console.log(`\n== ${m.label}: ${m.agents} agents`);
  console.log(`   migrated ${m.migrated} (${pct(m.migrated)})   needs-review ${m['needs-review']}   not-validated ${m['not-validated']}   failed ${m.failed}${m.other ? `   other ${m.other}` : ''}`);
  console.log(`   review items ${m.review_items} (${m.review_items_per_agent} per agent)   warnings ${m.warnings}`);
  if (m.kinds.length) {
    console.log('   most frequent review kinds:');
    for (const [k, n] of m.kinds.slice(0, 8)) console.log(`     ${String(n).padStart(4)}  ${k}`);
  }
  console.log('   per agent:');
  for (const a of m.per_agent) {
    console.log(`     ${a.agent.padEnd(32)} ${a.status.padEnd(13)} review ${String(a.review).padStart(2)}  warnings ${String(a.warnings).padStart(2)}${a.error ? `  ${a.error.slice(0, 110)}` : ''}`);
  }
}

const temps = [];
try {
  const measured = [];
  const target = option('--repo');
  if (target) {
    const dir = copyRepo(path.resolve(target), option('--profile'));
    temps.push(dir);
    measured.push(measure(path.basename(path.resolve(target)), dir, { validate: flag('--validate'), profile: option('--profile') }));
  } else {
    const only = option('--only');
    if (only && !['model', 'reference', 'demo'].includes(only)) throw new Error(`--only ${only}: model, reference or demo`);
    if (!only || only === 'model') {
      const fx = pythonFixturesRepos('model', repo);
      fx.forEach(gitInit);
      temps.push(...fx);
      measured.push(measure('Python fixtures on the production-like base (rewrite only: inputs import zmq)', fx, { validate: false }));
    }
    if (!only || only === 'reference') {
      const rx = pythonFixturesRepos('reference', repo);
      rx.forEach(gitInit);
      temps.push(...rx);
      measured.push(measure('Python fixtures on the reference base (rewrite + runtime validation)', rx, { validate: !flag('--no-validate') }));
    }
    if (!only || only === 'demo') {
      const demo = demoFleetRepo();
      temps.push(demo);
      measured.push(measure('demo fleet (rewrite + runtime validation)', demo, { validate: !flag('--no-validate') }));
    }
  }
  if (flag('--json')) console.log(JSON.stringify(measured, null, 2));
  else measured.forEach(print);
} finally {
  if (!flag('--keep')) for (const t of temps) rmSync(t, { recursive: true, force: true });
  else for (const t of temps) console.error(`kept ${t}`);
}
