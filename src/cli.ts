// Commander wiring only: parse flags, call one command, turn its result into an exit code.
// Exit codes (DESIGN.md): 0 all went well; 1 an agent or a check failed; 2 usage or
// configuration error; 130 interrupted. Each command's module is imported when that
// command runs, so `migrate --help` never loads tree-sitter, ts-morph or jscodeshift.
// main() is the whole CLI: bin/migrate.js calls it with the process's argv and streams, and
// sets the exit code it returns; a test calls it in its own process with captured streams.
import { Command, CommanderError, Option } from 'commander';
import { CommandFailure, UsageError, oneLine } from './core/errors.js';
import { closeCommandLeftovers, io, resetProcessState, withInvocation } from './core/invocation.js';
import { TOOL_VERSION } from './core/version.js';
import { errorJson, jsonRequested } from './report/error-json.js';
import { helpJson, helpTarget } from './report/help-json.js';
import { COLOR_MODES, setColorMode, type ColorMode } from './report/terminal.js';
import { releaseStartupSignals, startupCommand } from './core/startup-signals.js';

/** The commander program, new per call (commander keeps the parsed options on it); `exit` receives the command's code. */
function buildProgram(exit: (code: number) => void): Command {
  const program = new Command();
  program
    .name('migrate')
    .description('Move legacy Python and TypeScript agents onto a shared base class, one validated, revertible commit per agent.')
    .version(TOOL_VERSION)
    .addOption(new Option('--color <when>', 'colour the output').choices(COLOR_MODES).default('auto'))
    .option('--verbose', 'say which root, profile and base model are used')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      `
AGENT is a class name (any case), a file path, a directory or a glob ("agents/*_agent.py"),
or a name from a startup config. --root defaults to the git top level of the current directory.
Exit codes: 0 all went well; 1 an agent failed, a check failed, or legacy agents remain
(scan --check); 2 usage or configuration error (nothing was done); 130 interrupted (Ctrl-C).`,
    )
    .exitOverride()
    // Commander's own usage errors as one line like ours; the help is one flag away.
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`migrate: ${text.replace(/^error: /, '').trim()} (see --help)\n`),
    })
    .hook('preAction', (_program, command) => {
      setColorMode(command.optsWithGlobals().color as ColorMode);
      // Until the command has a handler of its own, a signal ends it with one line (core/startup-signals.ts);
      // review reads its keys raw and answers Ctrl-C itself.
      if (command.name() === 'review') releaseStartupSignals();
      else startupCommand(command.name(), ['init', 'report'].includes(command.name()));
    });

  const root = () => new Option('--root <dir>', 'repository root (default: the git top level of the current directory)');
  // No commander default: without the flag, .migrate/config.yaml's `profile:` or the repository's own base decides (profile/choose.ts).
  const profile = () =>
    new Option('--profile <name>', 'profile: a name under templates/profiles or .migrate/profiles, or a file (default: profile: in .migrate/config.yaml, else the one whose base the repository holds or imports, else base-agent)');
  const jobs = () =>
    new Option('-j, --jobs <n>', 'worker threads for scanning and rewriting (default: one per core, at most 4, from 300 agents or files on; 1: in this process)').argParser((v: string) => positiveInt(v, '--jobs'));
  const ignore = () =>
    new Option('--ignore <pattern>', 'leave out files matching this gitignore-style pattern (repeatable; adds to .migrate/config.yaml\'s ignore:)')
      .argParser((v: string, prev: string[] = []) => [...prev, v]);

  /** Run a command module's function with the parsed arguments and global flags; its number is the exit code. */
  function action(fn: (...args: any[]) => Promise<number>) {
    return async (...args: any[]) => {
      const command = args[args.length - 1] as Command;
      const flags = command.optsWithGlobals();
      exit(await fn(...args.slice(0, -2), flags));
    };
  }

  program
    .command('scan')
    .description('find agents and classify each as legacy, migrated or not an agent')
    .argument('[paths...]', 'files, directories or globs to scan (default: the whole root)')
    .addOption(root())
    .addOption(profile())
    .addOption(ignore())
    .option('--check', 'exit 1 while legacy agents remain (a CI gate)')
    .addOption(jobs())
    .option('--json', 'machine-readable output')
    .action(action(async (paths, flags) => (await import('./commands/scan.js')).scanCommand(paths, flags)));

  program
    .command('run')
    .description('migrate the named agents (or all legacy ones with --all)')
    .argument('[agents...]', 'class names, file paths, directories, globs, or startup-config names')
    .option('--all', 'every legacy agent')
    .addOption(root())
    .addOption(profile())
    .addOption(ignore())
    .option('--dry-run', 'write nothing; print the diffs')
    .option('--patch <file>', "with --dry-run: write the _v2 files as a patch `git apply` accepts (- for standard output); the table goes to standard error")
    .option('--no-validate', 'skip the runtime checks')
    .option('--no-commit', 'do not commit (commit later with `migrate commit`)')
    .option('--force', 'overwrite an existing _v2 file')
    .option('--allow-dirty', 'allow untracked files unrelated to the migration')
    .option('--concurrency <n>', 'agents starting validation at once (default 4); up to 4x as many past their start are watched meanwhile', (v) => positiveInt(v, '--concurrency'))
    .option('--shard <i/n>', 'take only shard i of n (1-based) of the agents, deterministically')
    .option('--transform <file...>', 'jscodeshift-format transforms applied after the profile (TypeScript/JavaScript agents)')
    .option('--run-in-band', 'scan and rewrite in this process instead of a worker pool')
    .addOption(jobs())
    .option('--registry-url <url>', 'registry for validation (default: an embedded one on loopback)')
    .option('--metrics-url <url>', 'metrics sink for validation (default: an embedded one on loopback)')
    .option('--timings', 'print the wall time of each stage on standard error')
    .option('--json', 'machine-readable output')
    .action(action(async (agents, flags) => (await import('./commands/run.js')).runCommand(agents, flags)));

  program
    .command('diff')
    .description('unified diff original -> _v2')
    .argument('<agent>')
    .addOption(root())
    .addOption(profile())
    .option('--stat', 'lines removed per concern instead of the diff')
    .action(action(async (agent, flags) => (await import('./commands/diff.js')).diffCommand(agent, flags)));

  program
    .command('validate')
    .description("runtime checks on the agent's _v2 file")
    .argument('<agents...>')
    .addOption(root())
    .addOption(profile())
    .option('--concurrency <n>', 'agents starting validation at once (default 4); up to 4x as many past their start are watched meanwhile', (v) => positiveInt(v, '--concurrency'))
    .option('--registry-url <url>', 'registry (default: an embedded one on loopback)')
    .option('--metrics-url <url>', 'metrics sink (default: an embedded one on loopback)')
    .option('--registry-deadline <seconds>', 'time allowed to register', (v) => positiveNumber(v, '--registry-deadline'))
    .option('--json', 'machine-readable output')
    .action(action(async (agents, flags) => (await import('./commands/validate.js')).validateCommand(agents, flags)));

  program
    .command('commit')
    .description('commit validated _v2 files left by a --no-commit run (one commit per agent)')
    .argument('<agents...>')
    .addOption(root())
    .addOption(profile())
    .option('--force', 'replace a migration-log/<Agent>.json migrate did not write (git keeps the old one)')
    .option('--json', 'machine-readable output')
    .action(action(async (agents, flags) => (await import('./commands/commit.js')).commitCommand(agents, flags)));

  program
    .command('revert')
    .description("undo that agent's migration commit (a promoted agent's promotion first)")
    .argument('<agent>')
    .addOption(root())
    .option('--json', 'machine-readable output')
    .action(action(async (agent, flags) => (await import('./commands/revert.js')).revertCommand(agent, flags)));

  program
    .command('status')
    .description("every agent's state: legacy / migrated / validated / committed / promoted / reverted")
    .addOption(root())
    .addOption(profile())
    .option('--json', 'machine-readable output')
    .action(action(async (flags) => (await import('./commands/status.js')).statusCommand(flags)));

  program
    .command('init')
    .description("put the profile's reference base class where the profile imports it from")
    .addOption(root())
    .addOption(new Option('--lang <lang>', 'language (default: typescript in a repository of JavaScript/TypeScript files only, else python)').choices(['python', 'typescript']))
    .addOption(new Option('--profile <name>', 'profile: a name under templates/profiles or .migrate/profiles, or a file (default: profile: in .migrate/config.yaml, else base-agent)'))
    .action(action(async (flags) => (await import('./commands/init.js')).initCommand(flags)));

  program
    .command('check-config')
    .description('startup configs: schema, script paths from the project root, port collisions, plain-text secrets')
    .addOption(root())
    .addOption(profile())
    .option('--warn', 'report errors but exit 0 (the migration path before a hard CI gate)')
    .option('--json', 'machine-readable output')
    .option('--schema', 'print the startup-config JSON schema and exit')
    .action(action(async (flags) => (await import('./commands/check-config.js')).checkConfigCommand(flags)));

  program
    .command('promote')
    .description('cut validated, committed agents over to their _v2 (file or startup-config script_path), one revertible commit each')
    .argument('[agents...]', 'class names, file paths relative to the root, or startup-config names')
    .option('--all-validated', 'every committed, validated agent not yet promoted')
    .option('--mode <mode>', 'replace (the _v2 content moves onto the original path) or script_path (configs start the _v2); default: .migrate/config.yaml promote.mode, else replace')
    .addOption(root())
    .option('--json', 'machine-readable output')
    .action(action(async (agents, flags) => (await import('./commands/promote.js')).promoteCommand(agents, flags)));

  program
    .command('review')
    .description('each migrated, uncommitted agent: diff and review items, then accept / reject / edit / skip / quit')
    .argument('[agents...]', 'only these agents (class names or files)')
    .addOption(root())
    .addOption(profile())
    .action(action(async (agents, opts) => (await import('./commands/review.js')).reviewCommand(agents, opts)));

  program
    .command('report')
    .description('one self-contained HTML report of the fleet: summary, diffs, reasons, validation evidence')
    .addOption(root())
    .addOption(profile())
    .option('--out <file>', 'where to write it (default: standard output when piped, else .git/migrate/report.html)')
    .action(action(async (opts) => (await import('./commands/report.js')).reportCommand(opts)));

  return program;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} takes a whole number of at least 1, not "${value}"`);
  return n;
}

function positiveNumber(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} takes a positive number, not "${value}"`);
  return n;
}

export interface MainOptions {
  /** Working directory of the command (default: the process's); the process's is restored after. */
  cwd?: string;
  /** The environment the command sees (default: the process's); the process's is restored after. */
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  /** Standard input of the command (default: the process's): review reads its answers there. */
  stdin?: NodeJS.ReadStream;
}

/**
 * `migrate <argv...>`: the exit code (0, 1, 2, 130...). Nothing calls process.exit; the
 * command's signal handlers are its own and removed when it returns. With a cwd or an env,
 * the process's working directory and environment are the command's while it runs (commands,
 * their child processes and worker threads read them there) and come back after: one call
 * at a time per process. Caches a command keeps between calls are forgotten first, so each
 * call sees what a freshly started tool would.
 */
export async function main(argv: string[], opts: MainOptions = {}): Promise<number> {
  const cwd = process.cwd();
  const env = { ...process.env };
  if (opts.cwd) process.chdir(opts.cwd);
  if (opts.env) replaceEnv(opts.env);
  resetProcessState();
  const stdout = jsonRequested(argv) ? writeTracked(opts.stdout ?? process.stdout) : undefined;
  try {
    return await withInvocation(
      { argv, stdout: stdout?.stream ?? opts.stdout ?? process.stdout, stderr: opts.stderr ?? process.stderr, stdin: opts.stdin, ...(stdout ? { jsonPending: () => !stdout.written() } : {}) },
      () => parseAndRun(argv, stdout),
    );
  } finally {
    // Nothing kept for reuse (python3 compile sessions) outlives the command: the tool's
    // process ends at once, an in-process caller is left no child of the command's.
    await closeCommandLeftovers();
    if (opts.env) replaceEnv(env);
    if (opts.cwd) process.chdir(cwd);
  }
}

/** process.env becomes `to` (the same object: child processes and Node read it there). */
function replaceEnv(to: NodeJS.ProcessEnv): void {
  for (const k of Object.keys(process.env)) if (!(k in to)) delete process.env[k];
  for (const [k, v] of Object.entries(to)) if (v !== undefined) process.env[k] = v;
}

/**
 * The stream, and whether anything was written to it: a --json command that ends without its
 * document (a refusal, a failure it reports on stderr only) gets the error document instead,
 * and one that printed its document gets no second one. Every other member is the stream's own.
 */
function writeTracked(stream: NodeJS.WriteStream): { stream: NodeJS.WriteStream; written: () => boolean } {
  let written = false;
  const proxy = new Proxy(stream, {
    get(target, prop) {
      if (prop === 'write') {
        return (...args: Parameters<NodeJS.WriteStream['write']>) => {
          written = true;
          return target.write(...args);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { stream: proxy, written: () => written };
}

async function parseAndRun(argv: string[], json?: { written: () => boolean }): Promise<number> {
  let code = 0;
  let failure: unknown;
  const program = buildProgram((c) => (code = c));
  // --help with --json: the command's description from commander's model, not its text help.
  const help = json ? helpTarget(program, argv) : undefined;
  if (help) {
    io.stdout.write(helpJson(program, help));
    return 0;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    failure = err;
    if (err instanceof CommanderError) {
      // help and version exit 0; every other commander error is a usage error (commander wrote its line).
      code = err.exitCode === 0 ? 0 : 2;
    } else {
      io.stderr.write(`migrate: ${oneLine(err)}\n`);
      code = err instanceof UsageError ? 2 : err instanceof CommandFailure ? err.exitCode : 1;
    }
  }
  if (json && code !== 0 && !json.written()) {
    io.stdout.write(errorJson(failure, code));
  }
  return code;
}
