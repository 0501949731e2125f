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

  // [what breaks, the fixture's text, what replaces it, what the reason says]
  const variants: Array<[string, string, string, string]> = [
    ['a signal handler that does more than stop and exit', '    await fanout.stop();\n    process.exit(0);', "    await fanout.stop();\n    console.log('bye');\n    process.exit(0);", 'the signal handler at line 139 does more than stop the service and exit'],
    ['the server variable read besides the infrastructure', 'stats: () => ({ ...counters })', 'stats: () => ({ ...counters, listening: !!server?.listening })', 'server is read at line 133 besides the infrastructure the base replaces'],
    ['a /health that can answer 503', "res.writeHead(200, { 'content-type': 'application/json' });", "res.writeHead(backoff.size > 5 ? 503 : 200, { 'content-type': 'application/json' });", 'the server of start() (line 102) serves more than a /health that always answers 200'],
    ['a /health answer that reads the request', 'backingOff: backoff.size }', 'backingOff: backoff.size, asked: req.url }', "the /health answer reads req, the handler's own"],
    ['business work between the infrastructure of start()', '    await register();\n', '    await register();\n    await mkdir(SENT, { recursive: true });\n', 'start() does business work between its infrastructure (line 112)'],
    ['the registration called from somewhere else too', 'return { start, stop, sweep,', 'return { start, stop, register, sweep,', 'register() is called at line 133 besides start()'],
    ['a push whose samples are not written out line by line', 'fanout_sweeps_total${l} ${counters.sweeps}\\n`;', 'fanout_sweeps_total${l} ${counters.sweeps}\\n` + extra();', 'the metrics push of pushMetrics() (line 80) is not a list of samples the base can record'],
  ];
  for (const [what, from, to, reason] of variants) {
    it(what, () => {
      const out = rewrite(variant(from, to));
      expect(out.status).toBe('skipped');
      expect(out.error).toContain(`not moved onto the base automatically, as ${reason}`);
    });
  }

  it('a TypeScript factory (its class would need typed members)', () => {
    const out = rewrite(input, 'services/webhook-fanout.ts');
    expect(out.status).toBe('skipped');
    expect(out.error).toContain('it is TypeScript (only JavaScript factories are converted)');
  });
});
