// The launch compiles an agent as isolated modules where that emits the same JavaScript as the
// whole-program compile (no const-enum questions to the checker: about two fifths of a launch's
// CPU), and as a whole program where it would not: a const enum (its members are inlined and an
// import read only through them is dropped), an enum in the sources, a script that is not an ES
// module. Each shape here is emitted both ways and compared byte for byte, the program the launch
// chose is named, and a compiled agent is run.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ts } from 'ts-morph';
import { compileForLaunch, programForEmit } from '../src/lang/typescript/launch.js';
import { typeRoots } from '../src/lang/typescript/project.js';
import { loadProfile } from '../src/profile/profile.js';
import { filesRepo } from './helpers/fixture-repo.js';

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const repo = (files: Record<string, string>): string => filesRepo(files, roots, 'migrate-launch-isolated-');

/** The settings that decide what the two ways differ on (the launch's others change neither). */
function optionsFor(root: string, cjs: boolean): ts.CompilerOptions {
  const module = cjs ? ts.ModuleKind.CommonJS : ts.ModuleKind.ES2022;
  const moduleResolution = cjs ? ts.ModuleResolutionKind.Node10 : ts.ModuleResolutionKind.Bundler;
  return { target: ts.ScriptTarget.ES2022, module, moduleResolution, outDir: path.join(root, 'out'), rootDir: root, types: ['node'], typeRoots: typeRoots(), noCheck: true };
}

/** Every file a program emits, by path relative to the root. */
function emitted(program: ts.Program, root: string): Record<string, string> {
  const out: Record<string, string> = {};
  program.emit(undefined, (name, text) => (out[path.relative(root, name)] = text));
  return out;
}

/** The launch's program and a whole-program compile of the same entry: isolated or not, and both emits. */
function bothWays(root: string, entry: string, cjs: boolean, extra: ts.CompilerOptions = {}) {
  const options = { ...optionsFor(root, cjs), ...extra };
  const chosen = programForEmit(path.join(root, entry), options, ts.createCompilerHost(options));
  const whole = ts.createProgram({ rootNames: [path.join(root, entry)], options, host: ts.createCompilerHost(options) });
  return { isolated: chosen.getCompilerOptions().isolatedModules === true, chosen: emitted(chosen, root), whole: emitted(whole, root) };
}

const OPTIONS = `// Settings of the alert relay, read from the environment at start.
export interface RelayOptions {
  port: number;
  channels: string[];
  retryMs: number;
}

export const DEFAULTS: RelayOptions = { port: 0, channels: ['pager', 'mail'], retryMs: 500 };

export function fromEnv(env: NodeJS.ProcessEnv): RelayOptions {
  return {
    port: Number(env.RELAY_PORT ?? DEFAULTS.port),
    channels: (env.RELAY_CHANNELS ?? DEFAULTS.channels.join(',')).split(',').filter(Boolean),
    retryMs: Number(env.RELAY_RETRY_MS ?? DEFAULTS.retryMs),
  };
}
`;

// A barrel re-exporting a type beside values: the type's re-export must go (an ES module naming
// an export the file does not have fails at start).
const INDEX = `export { RelayOptions, DEFAULTS, fromEnv } from './options.js';
export type { Severity } from './severity.js';
`;

const RELAY = (severityImport: string, use: string) => `import { EventEmitter } from 'node:events';
import { fromEnv, type RelayOptions } from './lib/index.js';
${severityImport}

// Relays alerts to the on-call channels, retrying a channel that refused one.
export class AlertRelay extends EventEmitter {
  private readonly options: RelayOptions;
  private sent = 0;

  constructor(options: RelayOptions) {
    super();
    this.options = options;
  }

  relay(message: string): string[] {
    this.sent += 1;
    return this.options.channels.map((c) => \`\${c}:\${message}:\${${use}}\`);
  }

  get count(): number {
    return this.sent;
  }
}

const relay = new AlertRelay(fromEnv(process.env));
console.log(relay.relay('disk full').join(' '), relay.count, process.env.HOME !== undefined);
`;

const SEVERITY_CONST = `// How loud an alert is: the pager wakes someone for Page.
export const enum Severity {
  Info = 1,
  Warn = 2,
  Page = 3,
}
`;

const SEVERITY_PLAIN = `export type Severity = 'info' | 'warn' | 'page';
export const PAGE: Severity = 'page';
`;

/** The relay's ES-module repository, with its severity module and how the relay reads it. */
function relayRepo(severity: string, severityImport: string, use: string): string {
  return repo({
    'package.json': '{ "name": "relay", "private": true, "type": "module" }\n',
    'services/lib/options.ts': OPTIONS,
    'services/lib/index.ts': INDEX,
    'services/lib/severity.ts': severity,
    'services/relay.ts': RELAY(severityImport, use),
  });
}

describe('the launch compiles as isolated modules only where the JavaScript is the same', () => {
  it('ES modules without enums: isolated, the same JavaScript, the type re-export dropped, and it runs', async () => {
    const root = relayRepo(SEVERITY_PLAIN, "import { PAGE } from './lib/severity.js';", 'PAGE');
    const r = bothWays(root, 'services/relay.ts', false);
    expect(r.isolated).toBe(true);
    expect(r.chosen).toEqual(r.whole);
    expect(r.chosen['out/services/lib/index.js']).not.toContain('RelayOptions');
    const { js, outDir } = await compileForLaunch(root, 'services/relay.ts', loadProfile('base-agent', root));
    roots.push(outDir);
    expect(execFileSync(process.execPath, [js], { encoding: 'utf8', env: { ...process.env, RELAY_CHANNELS: 'pager,sms' } })).toBe('pager:disk full:page sms:disk full:page 1 true\n');
  });

  it('a const enum: the whole program, its member inlined and its import dropped, as tsc does', async () => {
    const root = relayRepo(SEVERITY_CONST, "import { Severity } from './lib/severity.js';", 'Severity.Page');
    const r = bothWays(root, 'services/relay.ts', false);
    expect(r.isolated).toBe(false);
    expect(r.chosen).toEqual(r.whole);
    expect(r.chosen['out/services/relay.js']).toContain('3 /* Severity.Page */');
    expect(r.chosen['out/services/relay.js']).not.toContain('severity.js');
    const { js, outDir } = await compileForLaunch(root, 'services/relay.ts', loadProfile('base-agent', root));
    roots.push(outDir);
    expect(readFileSync(js, 'utf8')).toContain('3 /* Severity.Page */');
    expect(execFileSync(process.execPath, [js], { encoding: 'utf8' })).toBe('pager:disk full:3 mail:disk full:3 1 true\n');
  });

  it('an enum in the sources, or a script that is not a module: the whole program, the same JavaScript', () => {
    const withEnum = relayRepo(SEVERITY_CONST.replace('const enum', 'enum'), "import { Severity } from './lib/severity.js';", 'Severity.Page');
    const e = bothWays(withEnum, 'services/relay.ts', false);
    expect(e.isolated).toBe(false);
    expect(e.chosen).toEqual(e.whole);
    // A CommonJS script (require, no import or export): as a module it would be emitted otherwise.
    const script = repo({
      'bin/poller.ts': `const http = require('http');\nconst INTERVAL_MS = Number(process.env.POLL_MS ?? 1000);\nfunction poll(): void {\n  http.get('http://127.0.0.1:1/health', () => undefined).on('error', () => undefined);\n}\nsetInterval(poll, INTERVAL_MS).unref();\n`,
    });
    const s = bothWays(script, 'bin/poller.ts', true);
    expect(s.isolated).toBe(false);
    expect(s.chosen).toEqual(s.whole);
  });

  it('CommonJS JavaScript in a CommonJS build: isolated, the same JavaScript, and it runs; beside a const enum: the whole program', async () => {
    // A .js agent of `require` and `module.exports`, with its CommonJS helper and a TypeScript module it
    // requires: its build's module transform takes each file as a module by its own syntax.
    const files = {
      'package.json': '{ "name": "relay", "private": true }\n',
      'services/lib/config.js': `'use strict';\nconst DEFAULTS = { channels: ['pager', 'mail'], retryMs: 500 };\nexports.fromEnv = (env) => ({ ...DEFAULTS, channels: (env.RELAY_CHANNELS || DEFAULTS.channels.join(',')).split(',') });\n`,
      'services/lib/severity.ts': SEVERITY_PLAIN,
      'services/relay.js': `const http = require('http');\nconst { fromEnv } = require('./lib/config');\nconst { PAGE } = require('./lib/severity');\n\nclass AlertRelay {\n  constructor(options) {\n    this.options = options;\n    this.server = http.createServer((req, res) => res.end('ok'));\n  }\n  describe() {\n    return this.options.channels.map((c) => \`\${c}:\${PAGE}\`).join(' ') + ' ' + this.options.retryMs;\n  }\n}\n\nmodule.exports = AlertRelay;\nif (require.main === module) console.log(new AlertRelay(fromEnv(process.env)).describe());\n`,
    };
    const root = repo(files);
    const r = bothWays(root, 'services/relay.js', true, { allowJs: true });
    expect(r.isolated).toBe(true);
    expect(r.chosen).toEqual(r.whole);
    expect(Object.keys(r.chosen).sort()).toEqual(['out/services/lib/config.js', 'out/services/lib/severity.js', 'out/services/relay.js']);
    // A CommonJS build named by its target alone (no `module`: below ES2015 the compiler emits CommonJS) is one too.
    const byTarget = bothWays(root, 'services/relay.js', true, { allowJs: true, module: undefined, target: ts.ScriptTarget.ES5 });
    expect(byTarget.isolated).toBe(true);
    expect(byTarget.chosen).toEqual(byTarget.whole);
    expect(byTarget.chosen['out/services/relay.js']).toContain('module.exports = AlertRelay');
    const { js, outDir } = await compileForLaunch(root, 'services/relay.js', loadProfile('base-agent', root));
    roots.push(outDir);
    expect(execFileSync(process.execPath, [js], { encoding: 'utf8', env: { ...process.env, RELAY_CHANNELS: 'pager,sms' } })).toBe('pager:page sms:page 500\n');
    // The same agent reading a const enum member through require: inlined by the whole program only.
    const withConst = repo({ ...files, 'services/lib/severity.ts': SEVERITY_CONST, 'services/relay.js': files['services/relay.js'].replace("const { PAGE } = require('./lib/severity');", "const { Severity } = require('./lib/severity');\nconst PAGE = Severity.Page;") });
    const c = bothWays(withConst, 'services/relay.js', true, { allowJs: true });
    expect(c.isolated).toBe(false);
    expect(c.chosen).toEqual(c.whole);
  });

  it('a JSON module the agent imports: isolated, the same JavaScript and the same JSON', () => {
    // The launch resolves JSON modules; a JSON file is no ES module, yet isolatedModules changes nothing of its emit.
    const root = repo({
      'package.json': '{ "name": "relay", "private": true }\n',
      'services/settings.json': '{ "channels": ["pager", "mail"], "retryMs": 500 }\n',
      'services/relay.ts': `import settings from './settings.json';\nexport const channels: string[] = settings.channels;\nconsole.log(channels.join(' '), settings.retryMs);\n`,
    });
    const options = { ...optionsFor(root, true), resolveJsonModule: true, esModuleInterop: true };
    const entry = path.join(root, 'services/relay.ts');
    const chosen = programForEmit(entry, options, ts.createCompilerHost(options));
    const whole = ts.createProgram({ rootNames: [entry], options, host: ts.createCompilerHost(options) });
    expect(chosen.getCompilerOptions().isolatedModules).toBe(true);
    expect(emitted(chosen, root)).toEqual(emitted(whole, root));
    expect(Object.keys(emitted(chosen, root))).toContain('out/services/settings.json');
  });
});
