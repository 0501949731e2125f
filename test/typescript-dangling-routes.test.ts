// Every route a read can take to a member (or an export) the rewrite took out of a TypeScript or
// JavaScript agent, each left dangling in a real output: the expected _v2 of a fixture with one
// read of a removed member added through each route (or another file of the repository reading
// it). The verify stage must refuse each, naming the member; the expected output, nothing.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentInfo } from '../src/core/types.js';
import { verifyTypeScript } from '../src/lang/typescript/verify.js';
import type { VerifyRequest } from '../src/pipeline/language.js';
import { loadProfile } from '../src/profile/profile.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'typescript');
const profile = loadProfile('base-agent');
const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

interface Route {
  /** The output with the read added (default: the expected output). */
  output?: string;
  /** The legacy file (default: the fixture's input). */
  legacy?: string;
  /** Other files of the repository, by path from the root. */
  files?: Record<string, string>;
  /** The member the refusal must name. */
  member?: string;
}

/** A repository holding the fixture's files, the legacy agent and the output as its _v2: the verify request for it. */
function request(fixture: string, rel: string, cls: string, inExt: string, route: Route): VerifyRequest {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-dangling-'));
  temps.push(root);
  const dir = path.join(FIXTURES, fixture);
  cpSync(dir, root, { recursive: true, filter: (src) => !/(input|expected)\.[jt]s$|case\.yaml$/.test(path.basename(src)) });
  const legacyFile = path.join(root, rel);
  mkdirSync(path.dirname(legacyFile), { recursive: true });
  writeFileSync(legacyFile, route.legacy ?? readFileSync(path.join(dir, `input.${inExt}`), 'utf8'));
  for (const [f, text] of Object.entries(route.files ?? {})) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), text);
  }
  const output = route.output ?? readFileSync(path.join(dir, `expected.${inExt}`), 'utf8');
  const agent: AgentInfo = { name: cls, file: rel, language: 'typescript', class: cls, status: 'legacy', findings: [], line: 1, evidence: [] };
  return { root, outputFile: legacyFile.replace(/(\.[jt]s)$/, '_v2$1'), output, agent, profile, idempotency: null };
}

// OrderRouter (TypeScript): the rewrite removed startHealthServer(), healthServer, timer, start() and shutdown().
const TS = { fixture: 'http-health-interval', rel: 'agents/order_router.ts', cls: 'OrderRouter', ext: 'ts' };
const tsIn = readFileSync(path.join(FIXTURES, TS.fixture, 'input.ts'), 'utf8');
const tsOut = readFileSync(path.join(FIXTURES, TS.fixture, 'expected.ts'), 'utf8');
const POLL = '  private poll(): void {\n';
const inPoll = (line: string) => tsOut.replace(POLL, `${POLL}    ${line}\n`);
const ON_STOP = '  protected override onStop(): void {\n';
const MAIN = "  const router = new OrderRouter(process.env.SPOOL ?? 'orders.json');\n";
// A static the legacy class had (a count of routers built) that the output lost.
const tsInStatic = tsIn.replace('  private routed = 0;\n', '  static built = 0;\n  private routed = 0;\n');
// The legacy exported a helper beside the class; the output lost it.
const HELPER = '\nexport function healthBody(): string {\n  return JSON.stringify({ status: \'ok\' });\n}\n';
const tsInHelper = tsIn + HELPER;
// A field declared without initializer whose only writer (start's createServer) went, the declaration and a read kept.
const definite = (decl: string) =>
  tsOut.replace('  private routed = 0;\n', `  ${decl}\n  private routed = 0;\n`).replace(ON_STOP, `${ON_STOP}    this.healthServer.close();\n`);

const TS_ROUTES: Record<string, Route> = {
  'this.member()': { output: inPoll('this.startHealthServer();'), member: 'startHealthServer' },
  "this['member']()": { output: inPoll("this['startHealthServer']();"), member: 'startHealthServer' },
  'this[key]() with a literal key': { output: inPoll("const method = 'shutdown';\n    this[method]();"), member: 'shutdown' },
  'const { member } = this': { output: inPoll('const { healthServer } = this;\n    healthServer?.close();'), member: 'healthServer' },
  '(this as any).member()': { output: inPoll('(this as any).startHealthServer();'), member: 'startHealthServer' },
  'an alias of this typed any': { output: inPoll('const self: any = this;\n    self.shutdown();'), member: 'shutdown' },
  'setInterval(this.member, ...)': { output: inPoll('setTimeout(this.shutdown, 1000);'), member: 'shutdown' },
  'this.member.bind(this)': { output: inPoll('process.once(\'SIGHUP\', this.shutdown.bind(this));'), member: 'shutdown' },
  'ClassName.staticMember': { legacy: tsInStatic, output: inPoll('OrderRouter.built += 1;'), member: 'built' },
  '(ClassName as any).staticMember': { legacy: tsInStatic, output: inPoll('(OrderRouter as any).built += 1;'), member: 'built' },
  'the instance main builds': { output: tsOut.replace(MAIN, `${MAIN}  process.on('SIGINT', () => router.shutdown());\n`), member: 'shutdown' },
  'a declare field whose writer went': { output: definite('declare private healthServer: http.Server;').replace("import { readFileSync", "import http from 'node:http';\nimport { readFileSync"), member: 'healthServer' },
  'a definite field (!) whose writer went': { output: definite('private healthServer!: { close(): void };'), member: 'healthServer' },
  'an export another file imports': {
    legacy: tsInHelper,
    files: { 'agents/health_probe.ts': "import { healthBody } from './order_router';\n\nconsole.log(healthBody());\n" },
    member: 'healthBody',
  },
  'an export another file reads through import * as': {
    legacy: tsInHelper,
    files: { 'ops/health_probe.ts': "import * as router from '../agents/order_router.js';\n\nconsole.log(router.healthBody());\n" },
    member: 'healthBody',
  },
  'a subclass in another file calling super.member()': {
    files: { 'agents/priority_router.ts': "import { OrderRouter } from './order_router.js';\n\nexport class PriorityRouter extends OrderRouter {\n  drain(): void {\n    console.log('priority router draining');\n    super.shutdown();\n  }\n}\n" },
    member: 'shutdown',
  },
  'a subclass in another file overriding a removed hook': {
    files: { 'agents/audited_router.ts': "import { OrderRouter } from './order_router.js';\n\nexport class AuditedRouter extends OrderRouter {\n  startHealthServer(): void {\n    console.log('health served by the audited router');\n  }\n}\n" },
    member: 'startHealthServer',
  },
  'another file calling it on an instance': {
    files: { 'bin/order-router.ts': "import { OrderRouter } from '../agents/order_router';\n\nconst router = new OrderRouter();\nrouter.start();\nprocess.on('SIGINT', () => router.shutdown());\n" },
    member: 'shutdown',
  },
};

// QuoteFanout (CommonJS JavaScript): the rewrite removed healthServer and pollTimer.
const JS = { fixture: 'cjs-nested-listen-callback-health-server', rel: 'lib/quote-fanout.js', cls: 'QuoteFanout', ext: 'js' };
const jsIn = readFileSync(path.join(FIXTURES, JS.fixture, 'input.js'), 'utf8');
const jsOut = readFileSync(path.join(FIXTURES, JS.fixture, 'expected.js'), 'utf8');
const FAN_OUT = '  fanOut(quote) {\n';
const inFanOut = (line: string) => jsOut.replace(FAN_OUT, `${FAN_OUT}    ${line}\n`);
const jsInStatic = jsIn.replace('module.exports = QuoteFanout;', 'QuoteFanout.instances = 0;\n\nmodule.exports = QuoteFanout;');
const JS_ROUTES: Record<string, Route> = {
  'this.member': { output: inFanOut('if (!this.healthServer) return;'), member: 'healthServer' },
  "this['member']": { output: inFanOut("if (!this['healthServer'].listening) return;"), member: 'healthServer' },
  'this[key] with a literal key': { output: inFanOut("const timer = 'pollTimer';\n    clearInterval(this[timer]);"), member: 'pollTimer' },
  'const { member } = this': { output: inFanOut('const { pollTimer } = this;\n    if (!pollTimer) return;'), member: 'pollTimer' },
  'an alias of this': { output: inFanOut('const self = this;\n    if (!self.healthServer.listening) return;'), member: 'healthServer' },
  'ClassName.staticMember': { legacy: jsInStatic, output: inFanOut('QuoteFanout.instances += 1;'), member: 'instances' },
  'the instance the module builds': {
    output: jsOut.replace('module.exports = QuoteFanout;', "module.exports = QuoteFanout;\n\nif (require.main === module) {\n  const fanout = new QuoteFanout({});\n  fanout.start();\n  setTimeout(() => clearInterval(fanout.pollTimer), 60000);\n}"),
    member: 'pollTimer',
  },
  'a CommonJS export another file requires': {
    legacy: jsIn.replace('module.exports = QuoteFanout;', 'module.exports = QuoteFanout;\nmodule.exports.DEFAULTS = DEFAULTS;'),
    files: { 'bin/show-defaults.js': "'use strict';\nconst { DEFAULTS } = require('../lib/quote-fanout');\n\nconsole.log(JSON.stringify(DEFAULTS));\n" },
    member: 'DEFAULTS',
  },
  'another file (bin) reading it on an instance': {
    files: { 'bin/quote-fanout.js': readFileSync(path.join(FIXTURES, JS.fixture, 'bin', 'quote-fanout.js'), 'utf8').replace("process.once('SIGTERM', () => {\n", "process.once('SIGTERM', () => {\n  clearInterval(fanout.pollTimer);\n") },
    member: 'pollTimer',
  },
};

// What must not be refused: the same names on what is not the agent, or guarded as absent.
const TS_CLEAN: Record<string, Route> = {
  'the expected output': {},
  'a subclass in another file with a field and a method of its own named like removed ones': {
    files: { 'agents/audited_router.ts': "import http from 'node:http';\nimport { OrderRouter } from './order_router.js';\n\nexport class AuditedRouter extends OrderRouter {\n  private healthServer: http.Server | null = null;\n\n  audit(): boolean {\n    return this.healthServer !== null;\n  }\n}\n" },
  },
  'another file calling the same name on another class': {
    files: { 'bin/order-router.ts': "import { OrderRouter } from '../agents/order_router';\nimport { EventEmitter } from 'node:events';\n\nclass Desk extends EventEmitter {\n  shutdown(): void {}\n}\nconst desk = new Desk();\nconst router = new OrderRouter();\nrouter.run();\ndesk.shutdown();\n" },
  },
  'a kept definite field an optional read expects absent': { output: tsOut.replace('  private routed = 0;\n', '  private healthServer!: { close(): void } | undefined;\n  private routed = 0;\n').replace(ON_STOP, `${ON_STOP}    this.healthServer?.close();\n`) },
  'a read a base typed any may answer (a mixin from an untyped package)': {
    output: inPoll('(this as any).startHealthServer();')
      .replace("import { BaseAgent } from '../common/core/base-agent.js';", "import { BaseAgent } from '../common/core/base-agent.js';\n// @ts-ignore: the package ships no types\nimport withAudit from 'audit-mixin';")
      .replace('export class OrderRouter extends BaseAgent {', 'export class OrderRouter extends (withAudit as any)(BaseAgent) {')
      .replace(/ override /g, ' '),
  },
  'an index with a key of any string': { output: inPoll("const stats: Record<string, number> = { routed: 1 };\n    const key = String(process.env.STAT ?? 'routed');\n    console.log(stats[key]);") },
};
const JS_CLEAN: Record<string, Route> = {
  'the expected output': {},
  "a function callback's own this": { output: inFanOut("this.terminals.forEach(function () {\n      return this && this.healthServer;\n    }, { healthServer: null });") },
};

// Every case in one verify call, as a run verifies its batch (one program per 50 outputs, not one each).
const CASES = [
  ...Object.entries(TS_CLEAN).map(([name, r]) => ({ key: `ts clean ${name}`, lang: TS, r })),
  ...Object.entries(JS_CLEAN).map(([name, r]) => ({ key: `js clean ${name}`, lang: JS, r })),
  ...Object.entries(TS_ROUTES).map(([name, r]) => ({ key: `ts ${name}`, lang: TS, r })),
  ...Object.entries(JS_ROUTES).map(([name, r]) => ({ key: `js ${name}`, lang: JS, r })),
];
const verdicts = new Map<string, string | null>();
beforeAll(async () => {
  const reqs = CASES.map((c) => request(c.lang.fixture, c.lang.rel, c.lang.cls, c.lang.ext, c.r));
  (await verifyTypeScript(reqs)).forEach((v, i) => verdicts.set(CASES[i]!.key, v));
}, 300_000);

describe('TypeScript verify: a removed member read through each route', () => {
  it.each(Object.keys(TS_CLEAN))('TypeScript: does not refuse %s', (route) => {
    expect(verdicts.get(`ts clean ${route}`)).toBeNull();
  });

  it.each(Object.keys(JS_CLEAN))('JavaScript: does not refuse %s', (route) => {
    expect(verdicts.get(`js clean ${route}`)).toBeNull();
  });

  it.each(Object.keys(TS_ROUTES))('TypeScript: refuses %s', (route) => {
    expect(verdicts.get(`ts ${route}`)).toMatch(new RegExp(`\\b${TS_ROUTES[route]!.member!}\\b`));
  });

  it.each(Object.keys(JS_ROUTES))('JavaScript: refuses %s', (route) => {
    expect(verdicts.get(`js ${route}`)).toMatch(new RegExp(`\\b${JS_ROUTES[route]!.member!}\\b`));
  });
});
