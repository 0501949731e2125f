// How many times a run parses each Python text with tree-sitter, and from where: issue 15 asks
// for each file parsed at most twice per run (its input once, its output once). The CLI runs in
// this process with the binding's Parser#parse wrapped (the same module instance the adapter
// loads), on a generated fleet or a given directory; worker threads are not counted, so the run
// is made in band.
//
//   node dist/test/bench/parse-count.js                       # a 50-agent generated fleet
//   node dist/test/bench/parse-count.js --agents 250 --max 2  # exit 1 when a text is parsed more than twice
//   node dist/test/bench/parse-count.js --dir path/to/fleet   # a copy of it (the directory is left as it was)
//   node dist/test/bench/parse-count.js -- scan --json        # another command (default: run --all --no-validate --no-commit)
//
// Texts are told apart by content: an output equal to its input (an agent left unchanged) is one
// text. Each parse is charged to the first project function below the parser module.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import { Writable } from 'node:stream';
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

interface Counted {
  n: number;
  chars: number;
  sites: Map<string, number>;
}

/** The first frame of project code under the parser module: where the parse was asked for. */
function siteOf(stack: string): string {
  const frames = stack.split('\n').slice(1).map((l) => l.trim().replace(/^at /, ''));
  const own = frames.find((f) => /\/(src|transforms)\//.test(f) && !/lang\/python\/parser\.[jt]s/.test(f)) ?? frames[0] ?? '?';
  return own.replace(/\(.*?\/(dist\/)?(src|transforms)\//, '($2/').replace(/:\d+\)$/, ')');
}

function git(dir: string, ...args: string[]): void {
  const r = spawnSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', ...args], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const dash = args.indexOf('--');
  const command = dash >= 0 ? args.splice(dash).slice(1) : ['run', '--all', '--no-validate', '--no-commit', '--json'];
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const agents = Number(opt('--agents') ?? 50);
  const from = opt('--dir');
  const max = opt('--max');
  if (args.length) {
    console.error('usage: parse-count [--agents N | --dir DIR] [--max N] [-- migrate command...]');
    return 2;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'migrate-parse-count-'));
  try {
    if (from) cpSync(path.resolve(from), dir, { recursive: true });
    else writeFleet(dir, agents, { baseDir: path.join(ROOT, 'fixtures', 'python', '_base') });
    if (!from) {
      git(dir, 'init', '-q', '-b', 'main');
      git(dir, 'add', '-A');
      git(dir, 'commit', '-q', '-m', 'fleet');
    }
    // The instance the adapter gets: tree-sitter is a CommonJS module, one per process.
    const Parser = createRequire(path.join(ROOT, 'package.json'))('tree-sitter') as { prototype: { parse: (input: unknown, ...rest: unknown[]) => unknown } };
    const parse = Parser.prototype.parse;
    const texts = new Map<string, Counted>();
    Parser.prototype.parse = function (this: unknown, input: unknown, ...rest: unknown[]) {
      if (typeof input === 'string') {
        const key = createHash('sha1').update(input).digest('hex');
        let c = texts.get(key);
        if (!c) texts.set(key, (c = { n: 0, chars: input.length, sites: new Map() }));
        c.n++;
        const site = siteOf(new Error().stack ?? '');
        c.sites.set(site, (c.sites.get(site) ?? 0) + 1);
      }
      return parse.call(this, input, ...rest);
    };
    const { main: cli } = await import('../../src/cli.js');
    const sink = new Writable({ write: (_chunk, _enc, done) => done() }) as unknown as NodeJS.WriteStream;
    const exit = await cli([...command, ...(command[0] === 'run' && !command.includes('--run-in-band') ? ['--run-in-band'] : [])], { cwd: dir, stdout: sink, stderr: process.stderr });
    Parser.prototype.parse = parse;
    const all = [...texts.values()];
    const parses = all.reduce((s, c) => s + c.n, 0);
    const hist = new Map<number, number>();
    for (const c of all) hist.set(c.n, (hist.get(c.n) ?? 0) + 1);
    const sites = new Map<string, number>();
    for (const c of all) for (const [s, k] of c.sites) sites.set(s, (sites.get(s) ?? 0) + k);
    console.log(`migrate ${command.join(' ')} (exit ${exit}): ${parses} parses of ${all.length} distinct texts`);
    console.log(`texts by times parsed: ${[...hist].sort((a, b) => a[0] - b[0]).map(([n, k]) => `${k} x${n}`).join(', ')}`);
    console.log('parses by caller:');
    for (const [s, k] of [...sites].sort((a, b) => b[1] - a[1])) console.log(`${String(k).padStart(8)}  ${s}`);
    const worst = all.filter((c) => c.n > Number(max ?? Infinity));
    for (const c of worst.slice(0, 5)) console.log(`parsed ${c.n} times (${c.chars} chars): ${[...c.sites].map(([s, k]) => `${k}x ${s}`).join('; ')}`);
    return worst.length ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
