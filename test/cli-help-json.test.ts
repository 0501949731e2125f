// `migrate --help --json` and `migrate <command> --help --json` print one JSON document (schemas/help.schema.json)
// read from commander's model, not the text help (before, --json was ignored and a script got the text).
// Each document is checked against the text help of the same command: the same commands, options and arguments.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliInProcessIn, ensureBuilt } from './helpers/cli.js';

beforeAll(() => ensureBuilt(), 180_000);

const validate = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(path.join(import.meta.dirname, '..', 'schemas', 'help.schema.json'), 'utf8')));

interface OptionJson { flags: string; long: string | null; short: string | null; value: string; variadic: boolean; negate: boolean; default: unknown; choices: string[] | null }
interface CommandJson { name: string; description: string; usage: string; arguments: Array<{ name: string; required: boolean; variadic: boolean }>; options: OptionJson[]; commands?: CommandJson[]; global_options?: OptionJson[]; program?: string; version?: string }

async function helpJson(args: string[]): Promise<CommandJson> {
  const r = await cliInProcessIn(os.tmpdir(), args);
  expect(r.exitCode, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  const doc = JSON.parse(r.stdout) as CommandJson;
  expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  return doc;
}

/** The text help's section (`Options:`, `Commands:`, `Arguments:`): the first word of each entry. */
async function textSection(args: string[], title: string): Promise<string[]> {
  const r = await cliInProcessIn(os.tmpdir(), args);
  expect(r.exitCode, r.stderr).toBe(0);
  const lines = r.stdout.split('\n');
  const at = lines.indexOf(`${title}:`);
  if (at < 0) return [];
  const entries: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (!l.startsWith('  ')) break;
    const m = /^ {2}(\S.*?)(?: {2,}|$)/.exec(l);
    if (m && !/^ {3}/.test(l)) entries.push(m[1]!);
  }
  return entries;
}

describe('--help --json', () => {
  it('the program: its options and every command in full, the same as the text help lists', async () => {
    const doc = await helpJson(['--help', '--json']);
    expect(doc.name).toBe('migrate');
    expect(doc.version).toMatch(/^\d+\.\d+\.\d+/);
    const names = doc.commands!.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['scan', 'run', 'status', 'review', 'report', 'promote']));
    expect((await textSection(['--help'], 'Commands')).map((t) => t.split(' ')[0])).toEqual(names);
    expect(doc.options.map((o) => o.flags)).toEqual(await textSection(['--help'], 'Options'));
    expect(doc.options.find((o) => o.long === '--color')).toMatchObject({ value: 'required', default: 'auto', choices: ['auto', 'always', 'never'] });
    // Every command's options and arguments as its own text help shows them (commander's `help [command]`
    // answers `help --help` with the program's help, so it is compared by its usage alone).
    expect(doc.commands!.find((c) => c.name === 'help')).toMatchObject({ description: 'display help for command', usage: 'help [command]' });
    for (const c of doc.commands!.filter((x) => x.name !== 'help')) {
      expect(c.options.map((o) => o.flags), c.name).toEqual(await textSection([c.name, '--help'], 'Options'));
      expect(c.arguments.map((a) => a.name), c.name).toEqual((await textSection([c.name, '--help'], 'Arguments')).map((t) => t.split(' ')[0]));
    }
  });

  it('a command: its arguments and options from the model, the program options it takes, and the same document however help is asked for', async () => {
    const run = await helpJson(['run', '--help', '--json']);
    expect(run).toMatchObject({ name: 'run', program: 'migrate', usage: 'migrate run [options] [agents...]' });
    expect(run.description).toBe('migrate the named agents (or all legacy ones with --all)');
    expect(run.arguments).toEqual([{ name: 'agents', description: 'class names, file paths, directories, globs, or startup-config names', required: false, variadic: true, choices: null }]);
    const opt = (long: string) => run.options.find((o) => o.long === long);
    expect(opt('--no-validate')).toMatchObject({ negate: true, value: 'none', default: null });
    expect(opt('--jobs')).toMatchObject({ short: '-j', value: 'required' });
    expect(opt('--transform')).toMatchObject({ value: 'required', variadic: true });
    expect(opt('--json')).toMatchObject({ value: 'none', negate: false });
    expect(opt('--help')).toMatchObject({ short: '-h' });
    expect(run.global_options!.map((o) => o.long)).toEqual(expect.arrayContaining(['--color', '--verbose', '--version']));
    // `help run`, `-h`, and the program's own options before the command (`--color never`) say the same.
    expect(await helpJson(['help', 'run', '--json'])).toEqual(run);
    expect(await helpJson(['--color', 'never', 'run', '-h', '--json'])).toEqual(run);
    // A command without --json of its own (review) is described all the same.
    const review = await helpJson(['review', '--help', '--json']);
    expect(review.options.map((o) => o.long)).toEqual(['--root', '--profile', '--help']);
  });

  it('without --json the help is the text it was, and after `--` --json is an operand, not a request', async () => {
    const text = await cliInProcessIn(os.tmpdir(), ['run', '--help']);
    expect(text.stdout).toMatch(/^Usage: migrate run \[options\] \[agents\.\.\.\]/);
    const after = await cliInProcessIn(os.tmpdir(), ['run', '--help', '--', '--json']);
    expect(after.stdout).toMatch(/^Usage: migrate run/);
  });
});
