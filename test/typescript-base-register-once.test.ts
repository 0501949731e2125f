// The reference TypeScript base's registerOnce(): registering again on demand (an agent whose heartbeat
// learned that the registry forgot it), against a registry stand-in that forgets everything at the first
// heartbeat it is sent. One live record (the base's own, as registered at start), one deregistration at
// stop; nothing sent once stopping, nor without REGISTRY_URL; a registry that does not answer rejects it.
// And the base model learns it from the base's source (an older copy without it: null); a call the rewrite
// does not re-spell onto it keeps the agent's registration for review.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentInfo } from '../src/core/types.js';
import { typescriptAdapter } from '../src/lang/typescript/adapter.js';
import { loadBaseModel } from '../src/lang/typescript/base-model.js';
import { loadProfile, templatesDir } from '../src/profile/profile.js';
import { BaseAgent } from '../templates/runtime/typescript/common/core/base-agent.js';
import { forgetfulRegistry } from './helpers/forgetful-registry.js';

const template = path.join(templatesDir(), 'runtime', 'typescript', 'common', 'core', 'base-agent.ts');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

class Agent extends BaseAgent {
  again(): Promise<void> {
    return this.registerOnce();
  }
}

/** An agent built with REGISTRY_URL (or none) and a free health port; the environment restored at once. */
function agentWith(registry: string | undefined, name: string): Agent {
  const saved = { ...process.env };
  Object.assign(process.env, { HEALTH_CHECK_PORT: '0', AGENT_NAME: '' });
  delete process.env.METRICS_URL;
  if (registry) process.env.REGISTRY_URL = registry;
  else delete process.env.REGISTRY_URL;
  try {
    return new Agent({ name });
  } finally {
    process.env = saved;
  }
}

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 20));
};

describe('BaseAgent.registerOnce()', () => {
  it('registers the forgotten agent again: one live record, the one of start; one deregistration at stop', async () => {
    const registry = await forgetfulRegistry();
    const a = agentWith(registry.url, 'quotes');
    try {
      await a.start();
      await until(() => a.registered);
      const atStart = registry.live.get('quotes');
      expect(atStart).toMatchObject({ name: 'quotes', host: '127.0.0.1', pid: process.pid });
      // The registry restarts: it forgets the agent and answers its heartbeat 404.
      const beat = await fetch(`${registry.url}/heartbeat`, { method: 'POST', body: JSON.stringify({ name: 'quotes' }) });
      expect(beat.status).toBe(404);
      expect(registry.live.size).toBe(0);
      await a.again();
      expect([...registry.live.values()]).toEqual([atStart]);
      expect(a.registered).toBe(true);
      await a.stop();
      expect(registry.posts.filter((p) => p.url === '/register')).toHaveLength(2);
      expect(registry.posts.filter((p) => p.url === '/deregister').map((p) => p.body)).toEqual([{ name: 'quotes' }]);
      expect(registry.live.size).toBe(0);
    } finally {
      await a.stop();
      registry.close();
    }
  });

  it('a re-registration in flight when the agent stops lands before the deregistration; none is sent once stopping', async () => {
    // A registry slow to take a second registration (it applies it as it answers, 300 ms later): a
    // deregistration sent meanwhile would be undone by it, and the agent stay listed after its stop.
    const order: string[] = [];
    const live = new Set<string>();
    let registrations = 0;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const name = String(JSON.parse(body || '{}').name);
        const answer = () => {
          order.push(req.url ?? '');
          if (req.url === '/register') live.add(name);
          if (req.url === '/deregister') live.delete(name);
          res.writeHead(200).end('{}');
        };
        if (req.url === '/register' && ++registrations > 1) setTimeout(answer, 300);
        else answer();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const a = agentWith(`http://127.0.0.1:${(server.address() as { port: number }).port}`, 'inflight');
    try {
      await a.start();
      await until(() => a.registered);
      const pending = a.again();
      await new Promise((r) => setTimeout(r, 50));
      const stopped = a.stop();
      await a.again();
      await Promise.all([pending, stopped]);
      expect(order).toEqual(['/register', '/register', '/deregister']);
      expect(live.size).toBe(0);
    } finally {
      server.close();
    }
  });

  it('a first registration recorded but answered after its timeout is still deregistered at stop, last', async () => {
    // A registry that records the agent at once and answers 2.6 s later, past the base's 2 s timeout (an
    // embedded registry whose event loop is busy): the agent takes it for a failure and retries; stopped
    // before any answer, it must deregister all the same, after every registration it sent.
    const order: string[] = [];
    const live = new Set<string>();
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const name = String(JSON.parse(body || '{}').name);
        order.push(req.url ?? '');
        if (req.url === '/register') {
          live.add(name);
          setTimeout(() => res.writeHead(200).end('{}'), 2600).unref();
        } else {
          if (req.url === '/deregister') live.delete(name);
          res.writeHead(200).end('{}');
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const a = agentWith(`http://127.0.0.1:${(server.address() as { port: number }).port}`, 'slow-answer');
    try {
      await a.start();
      await until(() => order.includes('/register'));
      expect(a.registered).toBe(false);
      await a.stop();
      expect(order.at(-1)).toBe('/deregister');
      expect(order.filter((u) => u === '/deregister')).toHaveLength(1);
      expect(live.size).toBe(0);
    } finally {
      await a.stop();
      server.closeAllConnections();
      server.close();
    }
  }, 20_000);

  it('sends nothing without REGISTRY_URL, and rejects when the registry does not answer', async () => {
    const none = agentWith(undefined, 'unlisted');
    await none.start();
    await expect(none.again()).resolves.toBeUndefined();
    expect(none.registered).toBe(false);
    await none.stop();
    const registry = await forgetfulRegistry();
    const url = registry.url;
    registry.close();
    const gone = agentWith(url, 'unreachable');
    await gone.start();
    try {
      await expect(gone.again()).rejects.toThrow();
      expect(gone.registered).toBe(false);
    } finally {
      await gone.stop();
    }
  });
});

describe('the base model learns registerOnce()', () => {
  const profile = loadProfile('base-agent');
  function repoWithBase(base: string): string {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-register-once-'));
    roots.push(root);
    mkdirSync(path.join(root, 'common', 'core'), { recursive: true });
    writeFileSync(path.join(root, 'common', 'core', 'base-agent.ts'), base);
    return root;
  }

  it('from the reference base; not from an older copy without it, nor mistaking startRegistration() for it', () => {
    const source = readFileSync(template, 'utf8');
    const model = loadBaseModel(repoWithBase(source), profile);
    expect(model.registerOnceMethod).toBe('registerOnce');
    expect(model.registrationStartMethod).toBe('startRegistration');
    const older = source.replace(/protected registerOnce\(\)/, '#registerOnce()');
    expect(loadBaseModel(repoWithBase(older), profile).registerOnceMethod).toBeNull();
  });
});

describe('a re-registration the rewrite does not re-spell onto registerOnce()', () => {
  it('keeps register() and its calls for review, naming registerOnce()', async () => {
    // QuoteCache's heartbeat handing its caller the re-registration's promise (`return this.register();`): not a
    // statement of its own, so it is not re-spelled, and register() cannot go (its call would dangle).
    const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'typescript', 'registry-heartbeat-404-reregisters');
    const rel = 'agents/quote-cache.ts';
    const input = readFileSync(path.join(dir, 'input.ts'), 'utf8');
    const returned = input.replace('        await this.register();\n', '        return this.register();\n');
    expect(returned).not.toBe(input);
    const agent: AgentInfo = { name: 'QuoteCache', file: rel, language: 'typescript', class: 'QuoteCache', status: 'legacy', findings: [], line: 1, evidence: [] };
    const out = await typescriptAdapter.rewrite({ root: dir, file: path.join(dir, rel), source: returned, agent, profile: loadProfile('base-agent') });
    expect(out.status).toBe('changed');
    const item = out.kept_for_review.find((k) => k.symbol === 'register');
    expect(item?.reason).toContain('BaseAgent.registerOnce() would do that');
    expect(out.output).toContain('return this.register();');
    expect(out.output).toContain('private async register(): Promise<void> {');
    expect(out.output).not.toContain('registerOnce');
  });
});
