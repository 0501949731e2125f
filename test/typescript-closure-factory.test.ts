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

  it('a signal handler that does more than stop and exit', () => {
    const out = rewrite(variant('    await fanout.stop();\n    process.exit(0);', "    await fanout.stop();\n    console.log('bye');\n    process.exit(0);"));
    expect(out.status).toBe('skipped');
    expect(out.error).toContain('not moved onto the base automatically, as the signal handler at line 139 does more than stop the service and exit');
  });

  it('the server variable read besides the infrastructure', () => {
    const out = rewrite(variant('stats: () => ({ ...counters })', 'stats: () => ({ ...counters, listening: !!server?.listening })'));
    expect(out.status).toBe('skipped');
    expect(out.error).toContain('server is read at line 133 besides the infrastructure the base replaces');
  });

  it('a /health that can answer 503', () => {
    const out = rewrite(variant("res.writeHead(200, { 'content-type': 'application/json' });", "res.writeHead(backoff.size > 5 ? 503 : 200, { 'content-type': 'application/json' });"));
    expect(out.status).toBe('skipped');
    expect(out.error).toContain('serves more than a /health that always answers 200');
  });

  it('a /health answer that reads the request', () => {
    const out = rewrite(variant('backingOff: backoff.size }', 'backingOff: backoff.size, asked: req.url }'));
    expect(out.status).toBe('skipped');
    expect(out.error).toContain("the /health answer reads req, the handler's own");
  });

  it('business work between the infrastructure of start()', () => {
    const out = rewrite(variant('    await register();\n', "    await register();\n    await mkdir(SENT, { recursive: true });\n"));
    expect(out.status).toBe('skipped');
    expect(out.error).toContain('start() does business work between its infrastructure (line 112)');
  });

  it('the registration called from somewhere else too', () => {
    const out = rewrite(variant('return { start, stop, sweep,', 'return { start, stop, register, sweep,'));
    expect(out.status).toBe('skipped');
    expect(out.error).toContain('register() is called at line 133 besides start()');
  });

  it('a push whose samples are not written out line by line', () => {
    const out = rewrite(variant('fanout_sweeps_total${l} ${counters.sweeps}\\n`;', 'fanout_sweeps_total${l} ${counters.sweeps}\\n` + extra();'));
    expect(out.status).toBe('skipped');
    expect(out.error).toContain('the metrics push of pushMetrics() (line 80) is not a list of samples the base can record');
  });

  it('a TypeScript factory (its class would need typed members)', () => {
    const out = rewrite(input, 'services/webhook-fanout.ts');
    expect(out.status).toBe('skipped');
    expect(out.error).toContain('it is TypeScript (only JavaScript factories are converted)');
  });
});
