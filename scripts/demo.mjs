#!/usr/bin/env node
// The README's demo: the whole job on the bundled demo fleet, in a temporary copy (the
// repository's own files are never touched): init the base, scan, migrate every legacy
// agent with validation against the embedded registry and metrics sink, one commit per
// agent, then status, the cut-over of the validated agents (promote), a revert (which
// undoes a promotion first), and status again.
import { cpSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dropRepositoryGitEnv } from '../dist/src/record/git-env.js';

// Started from a git hook (GIT_DIR set), the temporary fleet's `git init` would re-initialise the hook's repository.
dropRepositoryGitEnv();

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const cli = path.join(repo, 'bin', 'migrate.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'migrate-demo-'));
cpSync(path.join(repo, 'fixtures', 'demo-fleet'), work, { recursive: true });

// Colour as migrate decides it: FORCE_COLOR first, then NO_COLOR, then "is stdout a terminal".
const force = process.env.FORCE_COLOR;
const color = force !== undefined ? !['0', 'false', 'no'].includes(force.toLowerCase()) : !process.env.NO_COLOR && Boolean(process.stdout.isTTY);

// The survival check keeps each agent under watch for the profile's window (30 s) after its first
// healthy answer; the demo watches for 5 s so the whole job shows in well under a minute
// (MIGRATE_SURVIVAL_WINDOW_S set by the caller wins).
const survivalWindow = process.env.MIGRATE_SURVIVAL_WINDOW_S ?? '5';

function sh(cmd, args, { check = true } = {}) {
  const env = { ...process.env, FORCE_COLOR: color ? '1' : '0', MIGRATE_SURVIVAL_WINDOW_S: survivalWindow };
  const r = spawnSync(cmd, args, { cwd: work, stdio: 'inherit', env });
  if (check && r.status !== 0) {
    console.error(`demo: ${cmd} ${args.join(' ')} exited with ${r.status}`);
    process.exit(r.status ?? 1);
  }
  return r.status;
}
const git = (...args) => sh('git', ['-c', 'user.name=Migration Engineer', '-c', 'user.email=engineer@example.invalid', ...args]);
const migrate = (...args) => sh(process.execPath, [cli, ...args], { check: false });
const step = (title) => console.log(color ? `\n\x1b[1m== ${title}\x1b[0m` : `\n== ${title}`);

step(`demo fleet copied to ${work}`);
git('init', '-q', '-b', 'main');
migrate('init');
git('add', '-A');
git('commit', '-q', '-m', 'demo fleet with the reference BaseAgent');

step('migrate scan');
migrate('scan');

step('migrate check-config (the startup config: schema, script paths, ports, secrets)');
migrate('check-config');

step(`migrate run --all (validate each agent against the embedded registry and metrics sink, survival window ${survivalWindow} s; one commit per agent)`);
const runExit = migrate('run', '--all', '--concurrency', '8');

step('migrate status');
migrate('status');

step('migrate promote --all-validated --mode script_path (the startup config now starts each validated _v2)');
migrate('promote', '--all-validated', '--mode', 'script_path');

const log = spawnSync('git', ['log', '--format=%s', '--grep=^migrate('], { cwd: work, encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
const first = /^migrate\((\w+)\)/.exec(log[log.length - 1] ?? '')?.[1];
if (first) {
  step(`migrate diff ${first}`);
  migrate('diff', first);
  step(`migrate revert ${first}`);
  migrate('revert', first);
  step('migrate status (after the revert)');
  migrate('status');
}

step('git log');
sh('git', ['log', '--oneline']);
console.log(`\nThe demo repository stays at ${work} for a look around.`);
// Exit 0 says no agent failed; an agent that needs a person (review items) exits 0 too, and the
// run's summary line above counts both.
console.log(`migrate run exited ${runExit}: ${runExit === 0 ? 'no agent failed (the summary above counts any needing review)' : 'agents that need a human are listed above with their one-line reason'}.`);
// The demo itself succeeded when the tool ran end to end; agents that fail validation are part of what it shows.
process.exit(runExit === 0 || runExit === 1 ? 0 : runExit);
