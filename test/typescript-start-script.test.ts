// The service's own start (package.json "start") gives validation's launch its environment and
// preloads: the start-script-env-and-preload fixture's scripts/start.sh (a region default, NODE_ENV,
// `exec node --require ./tracing.js dist/feed-relay.js`) read into a plan, in process; then the
// fixture's legacy file and _v2 started for real through the launch: each loads the tracer and
// relays the eu quotes (without the plan both died at import: no region, no tracer).
import { copyFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startPlan, withStartPlan } from '../src/lang/typescript/start-script.js';
import { fixtureRepo, stopWhen } from './helpers/ts-agent-process.js';
import { filesRepo } from './helpers/fixture-repo.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = path.join(here, '..', 'fixtures', 'typescript', 'start-script-env-and-preload');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const repo = (files: Record<string, string>): string => filesRepo(files, roots, 'migrate-start-plan-');

const repoFiles = { 'tsconfig.json': 'tsconfig.json', 'scripts/start.sh': 'scripts/start.sh', 'tracing.js': 'tracing.js' };

/** The fixture's repository; its own package.json (with the start) replaces the helper's. */
function fixtureWith(files: Record<string, string>): string {
  const root = fixtureRepo(fixture, { ...repoFiles, ...files }, roots);
  copyFileSync(path.join(fixture, 'package.json'), path.join(root, 'package.json'));
  return root;
}

describe('the start plan', () => {
  it('reads a start script: its defaults, its settings and its preload, for the legacy file and its _v2', () => {
    const root = fixtureWith({ 'src/feed-relay.ts': 'input.ts' });
    for (const file of ['src/feed-relay.ts', 'src/feed-relay_v2.ts']) {
      expect(startPlan(root, file)).toEqual({ env: { NODE_ENV: 'production' }, defaults: { RELAY_REGION: 'eu' }, preloads: ['--require', path.join(root, 'tracing.js')] });
    }
    const cmd = withStartPlan({ command: 'node', args: ['x.js'] }, startPlan(root, 'src/feed-relay.ts'), { RELAY_REGION: 'us' });
    // A default gives way to the environment; the preload comes before the script.
    expect(cmd).toEqual({ command: 'node', args: ['--require', path.join(root, 'tracing.js'), 'x.js'], env: { NODE_ENV: 'production' } });
  });

  it('reads an inline start, and ignores a start that runs another file', () => {
    const inline = repo({ 'package.json': JSON.stringify({ scripts: { start: 'npm run build && FEATURE_BATCH=1 node -r ./otel.js --enable-source-maps dist/server.js' } }), 'src/server.ts': '' });
    expect(startPlan(inline, 'src/server.ts')).toEqual({ env: { FEATURE_BATCH: '1' }, defaults: {}, preloads: ['--require', path.join(inline, 'otel.js')] });
    expect(startPlan(inline, 'src/other.ts')).toBeNull();
    const source = repo({ 'package.json': JSON.stringify({ scripts: { start: 'node --import=./register.mjs server.js' } }), 'server.js': '' });
    expect(startPlan(source, 'server.js')).toEqual({ env: {}, defaults: {}, preloads: ['--import', path.join(source, 'register.mjs')] });
    const branching = repo({ 'package.json': JSON.stringify({ scripts: { start: './run.sh' } }), 'run.sh': 'if [ -n "$X" ]; then\n  exec node dist/a.js\nfi\n', 'src/a.ts': '' });
    expect(startPlan(branching, 'src/a.ts')).toBeNull();
  });
});

describe('validation starts the agent as its start does', () => {
  it('legacy and _v2 load the tracer and get the region default', async () => {
    const root = fixtureWith({ 'src/feed-relay.ts': 'input.ts', 'src/feed-relay_v2.ts': 'expected.ts' });
    for (const file of ['src/feed-relay.ts', 'src/feed-relay_v2.ts']) {
      const { log } = await stopWhen(root, file, { RELAY_HEALTH_PORT: '0' }, (out) => /relaying eu quotes/.test(out));
      expect(log).toMatch(/\[trace\] tracer loaded/);
    }
  }, 90_000);
});
