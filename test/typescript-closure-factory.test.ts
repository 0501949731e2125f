// A closure factory is moved onto the base only when every statement of its start() and stop()
// is accounted for: variants of the closure-factory-fanout-replay-caller fixture that break one
// condition each stay the named skip, the reason saying which statement. In process, no runs.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { rewriteTypeScript } from '../src/lang/typescript/rewrite.js';
import { loadProfile } from '../src/profile/profile.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, '..', 'fixtures', 'typescript', 'closure-factory-fanout-replay-caller');
const input = readFileSync(path.join(dir, 'input.mjs'), 'utf8');
const profile = loadProfile('base-agent');

function rewrite(source: string, file = 'services/webhook-fanout.mjs') {
  return rewriteTypeScript({ root: dir, file: path.join(dir, file), source, className: 'createFanout', profile });
}

/** The fixture with `from` replaced by `to` (which must be there once). */
function variant(from: string, to: string): string {
  expect(input.split(from)).toHaveLength(2);
  return input.replace(from, to);
}

describe('closure factory onto the base: what keeps it a skip', () => {
  it('the fixture itself converts (the control for the variants below)', () => {
    expect(rewrite(input).status).toBe('changed');
  });

  it('business work in stop() becomes onStop(), which the base runs on stop() and on SIGTERM alike', () => {
    const out = rewrite(variant('  async function stop() {\n    clearInterval(timer);\n', "  async function stop() {\n    clearInterval(timer);\n    await sweep(); // last round before the service goes\n"));
    expect(out.status).toBe('changed');
    expect(out.output).toContain('    async onStop() {\n      await sweep(); // last round before the service goes\n    }\n  }\n  const agent = new FanoutAgent(');
    expect(out.output).toContain('  async function stop() {\n    await agent.stop();\n  }');
  });

  it("fields the base's record lacks, read from constants and the factory's options, go into the class's registrationRecord()", () => {
    const out = rewrite(variant('body: JSON.stringify({ name, port: healthPort, health_check_port: healthPort }),', "body: JSON.stringify({ name, port: healthPort, health_check_port: healthPort, capabilities: ['webhooks'], region: opts.region ?? SENT }),"));
    expect(out.status).toBe('changed');
    expect(out.output).toContain("    registrationRecord() {\n      return { ...super.registrationRecord(), capabilities: ['webhooks'], region: opts.region ?? SENT };\n    }\n");
    expect(out.output).not.toContain('/register`');
  });

  // [what breaks, the fixture's text, what replaces it, what the reason says]
  const variants: Array<[string, string, string, string]> = [
    ['a signal handler that does more than stop and exit', '    await fanout.stop();\n    process.exit(0);', "    await fanout.stop();\n    console.log('bye');\n    process.exit(0);", 'the signal handler at line 139 does more than stop the service and exit'],
    ['the server variable read besides the infrastructure', 'stats: () => ({ ...counters })', 'stats: () => ({ ...counters, listening: !!server?.listening })', 'server is read at line 133 besides the infrastructure the base replaces'],
    ['a /health that can answer 503', "res.writeHead(200, { 'content-type': 'application/json' });", "res.writeHead(backoff.size > 5 ? 503 : 200, { 'content-type': 'application/json' });", 'the server of start() (line 102) serves more than a /health that always answers 200'],
    ['a /health answer that reads the request', 'backingOff: backoff.size }', 'backingOff: backoff.size, asked: req.url }', "the /health answer reads req, the handler's own"],
    ['business work between the infrastructure of start()', '    await register();\n', '    await register();\n    await mkdir(SENT, { recursive: true });\n', 'start() does business work between its infrastructure (line 112)'],
    ['the registration called from somewhere else too', 'return { start, stop, sweep,', 'return { start, stop, register, sweep,', 'register() is called at line 133 besides start()'],
    ['a registration carrying a field the base cannot read when it registers', 'body: JSON.stringify({ name, port: healthPort, health_check_port: healthPort }),', "body: JSON.stringify({ name, port: healthPort, health_check_port: healthPort, capabilities: ['webhooks'], registeredAt: Date.now() }),", "its registration (register(), line 91) sends 'capabilities', 'registeredAt' (line 97), which the base's registration does not send (it sends name, host, port, health_check_port, pid)"],
    ['a push whose samples are not written out line by line', 'fanout_sweeps_total${l} ${counters.sweeps}\\n`;', 'fanout_sweeps_total${l} ${counters.sweeps}\\n` + extra();', 'the metrics push of pushMetrics() (line 80) is not a list of samples the base can record'],
  ];
  for (const [what, from, to, reason] of variants) {
    it(what, () => {
      const out = rewrite(variant(from, to));
      expect(out.status).toBe('skipped');
      expect(out.error).toContain(`not moved onto the base automatically, as ${reason}`);
    });
  }
});

describe('closure factory onto the base: the arrow form', () => {
  const arrowDir = path.join(here, '..', 'fixtures', 'typescript', 'closure-factory-arrow-block-consts');
  const arrow = readFileSync(path.join(arrowDir, 'input.cjs'), 'utf8');
  const run = (source: string) => rewriteTypeScript({ root: arrowDir, file: path.join(arrowDir, 'services/price-watch.cjs'), source, className: 'createPriceWatch', profile });

  it('an inline registration with extra fields the base cannot read at its registration stays the named skip, naming them (removed, they would be lost)', () => {
    const from = 'body: JSON.stringify({ name, port: healthPort, health_check_port: healthPort }),';
    expect(arrow.split(from)).toHaveLength(2);
    const out = run(arrow.replace(from, "body: JSON.stringify({ name, port: healthPort, health_check_port: healthPort, tags: ['pricing'], startedAt: Date.now() }),"));
    expect(out.status).toBe('skipped');
    expect(out.error).toContain("not moved onto the base automatically, as its registration (register(), line 49) sends 'tags', 'startedAt' (line 55)");
  });

  it('the registration declared with another const in one statement stays a skip (its statement cannot go alone)', () => {
    const from = '  const register = async () => {';
    const out = run(arrow.replace(from, '  const retries = 3, register = async () => {'));
    expect(out.status).toBe('skipped');
    expect(out.error).toContain('register is declared with other variables (line 49)');
  });
});

describe('closure factory onto the base: an object held in a const and returned', () => {
  const objectDir = path.join(here, '..', 'fixtures', 'typescript', 'closure-factory-object-const-arrow-members');
  const source = readFileSync(path.join(objectDir, 'input.ts'), 'utf8');
  const run = (text: string) => rewriteTypeScript({ root: objectDir, file: path.join(objectDir, 'agents/price-alerts.ts'), source: text, className: 'createPriceAlertsAgent', profile });
  const members = '    alertCount: () => alerts,\n';
  const withMember = (extra: string) => {
    expect(source.split(members)).toHaveLength(2);
    return source.replace(members, members + extra);
  };

  it('start and stop written as methods of the object convert like arrow members', () => {
    const from = '    start: async (): Promise<void> => {';
    expect(source.split(from)).toHaveLength(2);
    const out = run(source.replace(from, '    async start(): Promise<void> {'));
    expect(out.status).toBe('changed');
    expect(out.output).toContain("    async start(): Promise<void> {\n      await agent2.start();\n      log(`watching");
  });

  it('a registration sending the health port as the shorthand { port } keeps the registry pointing at a port that answers', () => {
    const shorthand = source.replaceAll('healthPort', 'port').replace('port: port }', 'port }');
    expect(shorthand).toContain("host: '127.0.0.1', port })");
    const out = run(shorthand);
    expect(out.status).toBe('changed');
    expect(out.output).toContain('process.env.AGENT_PORT = process.env.HEALTH_CHECK_PORT?.trim() || String(port);');
  });

  // [what breaks, the member added after alertCount, what the reason says]
  const variants: Array<[string, string, string]> = [
    ['a spread after start and stop, which may replace them', '    ...(opts as object),\n', 'returns agent (line 73), whose spread ...(opts as object) (line 71) comes after its start and stop and may replace them'],
    ['a member that restarts the object (the base starts once)', '    restart: async (): Promise<void> => {\n      await agent.stop();\n      await agent.start();\n    },\n', "returns agent (line 76), whose start() is called by the factory's own code at line 73: the base's agent starts once"],
    ['a getter reading the server the base replaces', '    get listening(): boolean {\n      return server !== null;\n    },\n', 'server is read at line 72 besides the infrastructure the base replaces'],
  ];
  for (const [what, extra, reason] of variants) {
    it(what, () => {
      const out = run(withMember(extra));
      expect(out.status).toBe('skipped');
      expect(out.error).toContain(`not moved onto the base automatically, as ${reason.startsWith('returns') ? 'createPriceAlertsAgent ' : ''}${reason}`);
    });
  }

  it('the interval kept on the object (agent.timer = ...) is not the closure\'s: start() stays, the reason says so', () => {
    const withTimer = source.replace('      timer = setInterval(check, opts.intervalMs ?? 1000);', '      timer = setInterval(check, opts.intervalMs ?? 1000);\n      (agent as { last?: NodeJS.Timeout }).last = timer;');
    expect(withTimer).not.toBe(source);
    const out = run(withTimer);
    expect(out.status).toBe('skipped');
    expect(out.error).toContain('timer is read at line 63 besides the infrastructure the base replaces');
  });
});
