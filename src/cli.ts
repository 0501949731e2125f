// Commander wiring only: parse flags, call one command, turn its result into an exit code.
// Exit codes (DESIGN.md): 0 all went well; 1 an agent or a check failed; 2 usage or configuration error.
import { Command, CommanderError, Option } from 'commander';
import { UsageError, oneLine } from './core/errors.js';
import { TOOL_VERSION } from './core/version.js';
import './lang/adapters.js';
import { scanCommand } from './commands/scan.js';
import { runCommand } from './commands/run.js';
import { diffCommand } from './commands/diff.js';
import { validateCommand } from './commands/validate.js';
import { revertCommand } from './commands/revert.js';
import { statusCommand } from './commands/status.js';
import { initCommand } from './commands/init.js';
import { checkConfigCommand } from './commands/check-config.js';
import { promoteCommand } from './commands/promote.js';

const program = new Command();
program
  .name('migrate')
  .description('Move legacy Python and TypeScript agents onto a shared base class, one validated, revertible commit per agent.')
  .version(TOOL_VERSION)
  .exitOverride()
  .showHelpAfterError();

const root = () => new Option('--root <dir>', 'repository root').default(process.cwd(), 'the current directory');

function action(fn: (...args: any[]) => Promise<number>) {
  return async (...args: any[]) => {
    process.exitCode = await fn(...args);
  };
}

program
  .command('scan')
  .description('find agents and classify each as legacy, migrated or not an agent')
  .addOption(root())
  .option('--profile <name>', 'profile', 'base-agent')
  .option('--json', 'machine-readable output')
  .action(action((opts) => scanCommand(opts)));

program
  .command('run')
  .description('migrate the named agents (or all legacy ones with --all)')
  .argument('[agents...]', 'class names, file paths relative to the root, or startup-config names')
  .option('--all', 'every legacy agent')
  .addOption(root())
  .option('--profile <name>', 'profile', 'base-agent')
  .option('--dry-run', 'write nothing; print the diffs')
  .option('--patch <file>', "with --dry-run: write the _v2 files as a patch `git apply` accepts (- for standard output); the table goes to standard error")
  .option('--no-validate', 'skip the runtime checks')
  .option('--no-commit', 'do not commit')
  .option('--force', 'overwrite an existing _v2 file')
  .option('--allow-dirty', 'allow untracked files unrelated to the migration')
  .option('--concurrency <n>', 'agents validated at once', (v) => positiveInt(v, '--concurrency'))
  .option('--shard <i/n>', 'take only shard i of n (1-based) of the agents, deterministically')
  .option('--transform <file...>', 'jscodeshift-format transforms applied after the profile (TypeScript/JavaScript agents)')
  .option('--run-in-band', 'rewrite in this process instead of a worker pool')
  .option('--registry-url <url>', 'registry for validation (default: an embedded one on loopback)')
  .option('--metrics-url <url>', 'metrics sink for validation (default: an embedded one on loopback)')
  .option('--json', 'machine-readable output')
  .action(action((agents, opts) => runCommand(agents, opts)));

program
  .command('diff')
  .description('unified diff original -> _v2')
  .argument('<agent>')
  .addOption(root())
  .option('--profile <name>', 'profile', 'base-agent')
  .option('--stat', 'lines removed per concern instead of the diff')
  .action(action((agent, opts) => diffCommand(agent, opts)));

program
  .command('validate')
  .description("runtime checks on the agent's _v2 file")
  .argument('<agents...>')
  .addOption(root())
  .option('--profile <name>', 'profile', 'base-agent')
  .option('--concurrency <n>', 'agents validated at once', (v) => positiveInt(v, '--concurrency'))
  .option('--registry-url <url>', 'registry (default: an embedded one on loopback)')
  .option('--metrics-url <url>', 'metrics sink (default: an embedded one on loopback)')
  .option('--registry-deadline <seconds>', 'time allowed to register', (v) => positiveNumber(v, '--registry-deadline'))
  .option('--json', 'machine-readable output')
  .action(action((agents, opts) => validateCommand(agents, opts)));

program
  .command('revert')
  .description("undo that agent's migration commit (a promoted agent's promotion first)")
  .argument('<agent>')
  .addOption(root())
  .option('--json', 'machine-readable output')
  .action(action((agent, opts) => revertCommand(agent, opts)));

program
  .command('status')
  .description("every agent's state: legacy / migrated / validated / committed / promoted / reverted")
  .addOption(root())
  .option('--profile <name>', 'profile', 'base-agent')
  .option('--json', 'machine-readable output')
  .action(action((opts) => statusCommand(opts)));

program
  .command('init')
  .description("put the profile's reference base class where the profile imports it from")
  .addOption(root())
  .addOption(new Option('--lang <lang>', 'language').choices(['python', 'typescript']).default('python'))
  .option('--profile <name>', 'profile', 'base-agent')
  .action(action((opts) => initCommand(opts)));

program
  .command('check-config')
  .description('startup configs: schema, script paths from the project root, port collisions, plain-text secrets')
  .addOption(root())
  .option('--profile <name>', 'profile (its port names)', 'base-agent')
  .option('--warn', 'report errors but exit 0 (the migration path before a hard CI gate)')
  .option('--json', 'machine-readable output')
  .option('--schema', 'print the startup-config JSON schema and exit')
  .action(action((opts) => checkConfigCommand(opts)));

program
  .command('promote')
  .description('cut validated, committed agents over to their _v2 (file or startup-config script_path), one revertible commit each')
  .argument('[agents...]', 'class names, file paths relative to the root, or startup-config names')
  .option('--all-validated', 'every committed, validated agent not yet promoted')
  .option('--mode <mode>', 'replace (the _v2 content moves onto the original path) or script_path (configs start the _v2); default: .migrate/config.yaml promote.mode, else replace')
  .addOption(root())
  .option('--json', 'machine-readable output')
  .action(action((agents, opts) => promoteCommand(agents, opts)));

program
  .command('review')
  .description('each migrated, uncommitted agent: diff and review items, then accept / reject / edit / skip / quit')
  .argument('[agents...]', 'only these agents (class names or files)')
  .addOption(root())
  .option('--profile <name>', 'profile', 'base-agent')
  .action(action(async (agents, opts) => (await import('./commands/review.js')).reviewCommand(agents, opts)));

program
  .command('report')
  .description('one self-contained HTML report of the fleet: summary, diffs, reasons, validation evidence')
  .addOption(root())
  .option('--profile <name>', 'profile', 'base-agent')
  .option('--out <file>', 'where to write it (default: standard output when piped, else .git/migrate/report.html)')
  .action(action(async (opts) => (await import('./commands/report.js')).reportCommand(opts)));

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

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // help and version exit 0; every other commander error is a usage error.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else if (err instanceof UsageError) {
    process.stderr.write(`migrate: ${oneLine(err)}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`migrate: ${oneLine(err)}\n`);
    process.exitCode = 1;
  }
}
