// `migrate --help --json` / `migrate <command> --help --json` (schemas/help.schema.json): the commands, their
// options and arguments as one JSON document, read from commander's own model through its Help (the same
// visible options, arguments and usage the text help prints), so a script or a wrapper never parses the text.
import type { Argument, Command, Help, Option } from 'commander';
import { jsonText } from './terminal.js';

interface OptionJson {
  flags: string;
  long: string | null;
  short: string | null;
  description: string;
  /** none: a switch; required: `<value>`; optional: `[value]`. */
  value: 'none' | 'required' | 'optional';
  variadic: boolean;
  negate: boolean;
  default: unknown;
  choices: string[] | null;
}

interface ArgumentJson {
  name: string;
  description: string;
  required: boolean;
  variadic: boolean;
  choices: string[] | null;
}

interface CommandJson {
  name: string;
  description: string;
  usage: string;
  aliases: string[];
  arguments: ArgumentJson[];
  options: OptionJson[];
}

function optionJson(o: Option): OptionJson {
  return {
    flags: o.flags,
    long: o.long ?? null,
    short: o.short ?? null,
    description: o.description,
    value: o.required ? 'required' : o.optional ? 'optional' : 'none',
    variadic: o.variadic,
    negate: o.negate,
    // A --no-x switch's implied `true` is no default a user gives.
    default: o.negate ? null : (o.defaultValue ?? null),
    choices: o.argChoices ? [...o.argChoices] : null,
  };
}

function argumentJson(a: Argument): ArgumentJson {
  return { name: a.name(), description: a.description, required: a.required, variadic: a.variadic, choices: a.argChoices ? [...a.argChoices] : null };
}

function commandJson(cmd: Command, help: Help): CommandJson {
  return {
    name: cmd.name(),
    description: cmd.description(),
    usage: help.commandUsage(cmd),
    aliases: cmd.aliases(),
    arguments: help.visibleArguments(cmd).map(argumentJson),
    options: help.visibleOptions(cmd).map(optionJson),
  };
}

/**
 * The program (`command` is itself): its options, then every visible command in full; a command: it, and the
 * program's options it also takes (`global_options`, as the text help shows them).
 */
export function helpJson(program: Command, command: Command): string {
  const help = command.createHelp();
  if (command === program) {
    return jsonText({ ...commandJson(program, help), version: program.version() ?? null, commands: help.visibleCommands(program).map((c) => commandJson(c, c.createHelp())) });
  }
  return jsonText({ ...commandJson(command, help), program: program.name(), global_options: program.createHelp().visibleOptions(program).map(optionJson) });
}

/**
 * The command `--help` asks about, when it does (`--help`, `-h` before any `--`, or commander's `help [command]`):
 * the first operand naming a command, else the program. Undefined when no help is asked for.
 */
export function helpTarget(program: Command, argv: string[]): Command | undefined {
  const end = argv.indexOf('--');
  const args = end < 0 ? argv : argv.slice(0, end);
  // The operands before the command, skipping the values of the program's own options (`--color never`).
  const takesValue = (a: string) => !a.includes('=') && program.options.some((o) => (o.long === a || o.short === a) && (o.required || o.optional));
  const operands = args.filter((a, i) => !a.startsWith('-') && !(i > 0 && takesValue(args[i - 1]!)));
  const named = (n: string | undefined) => program.commands.find((c) => c.name() === n || c.aliases().includes(n ?? ''));
  if (operands[0] === 'help' && !named('help')) return named(operands[1]) ?? program;
  if (!args.includes('--help') && !args.includes('-h')) return undefined;
  return named(operands[0]) ?? program;
}
