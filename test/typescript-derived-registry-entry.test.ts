// Second registry entries named from the agent's name, rewritten in process (the runtime proof is
// typescript-derived-registry-entry-runtime.test.ts): a heartbeat that registers only
// `${this.name}-http` stays, and the base is given this.name's value, not the suffixed name (before:
// super({ name: `${'edge-cache'}-http` }), so the heartbeat registered edge-cache-http-http); a method
// registering the agent and the second entry together is a review item naming both.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentInfo } from '../src/core/types.js';
import { typescriptAdapter } from '../src/lang/typescript/adapter.js';
import { loadProfile } from '../src/profile/profile.js';

const profile = loadProfile('base-agent');
const rel = 'agents/edge-cache.ts';
const agent: AgentInfo = { name: 'EdgeCache', file: rel, language: 'typescript', class: 'EdgeCache', status: 'legacy', findings: [], line: 1, evidence: [] };
const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-derived-entry-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const agentSource = (register: string) => `import http from 'node:http';

const REGISTRY_URL = process.env.REGISTRY_URL || 'http://127.0.0.1:8500';

export class EdgeCache {
  readonly name = 'edge-cache';
  private heartbeat: NodeJS.Timeout | null = null;
  private api: http.Server | null = null;

  constructor(private readonly port = Number(process.env.EDGE_PORT || 7600)) {}

${register}

  start(): void {
    this.api = http.createServer((req, res) => res.end('cached'));
    this.api.listen(this.port);
    void this.announce();
    this.heartbeat = setInterval(() => void this.announce(), 10_000);
  }

  stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.api?.close();
  }
}

if (require.main === module) {
  const edge = new EdgeCache();
  edge.start();
  process.on('SIGTERM', () => {
    edge.stop();
    process.exit(0);
  });
}
`;

const post = (name: string) => `    await fetch(\`\${REGISTRY_URL}/register\`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: ${name}, port: this.port, ttl: 30 }),
    });`;

const rewrite = (source: string) => typescriptAdapter.rewrite({ root, file: path.join(root, rel), source, agent, profile });

describe('a registry entry named from the agent name', () => {
  it('a heartbeat of the second entry alone stays, and the base gets the name it is built from', async () => {
    const out = await rewrite(agentSource(`  private async announce(): Promise<void> {\n${post('`${this.name}-http`')}\n  }`));
    expect(out.output).toContain("super({ name: 'edge-cache'");
    expect(out.output).not.toContain("'edge-cache'}-http");
    expect(out.output).toContain('name: `${this.name}-http`');
    expect(out.output).toMatch(/this\.announce\(\)/);
    expect(out.kept_for_review).toEqual([]);
    expect(out.warnings.join('\n')).toContain("the registry now also lists the agent itself under 'edge-cache'");
    expect(out.warnings.join('\n')).not.toContain("it now registers as 'EdgeCache'");
  }, 60_000);

  it('one method registering the agent and the second entry is kept for review, naming both', async () => {
    const out = await rewrite(agentSource(`  private async announce(): Promise<void> {\n${post('this.name')}\n${post('`${this.name}-http`')}\n  }`));
    const item = out.kept_for_review.find((k) => k.symbol === 'announce');
    expect(item?.reason).toContain('registers the agent (this.name, line');
    expect(item?.reason).toContain('and a second entry `${this.name}-http`');
    expect(out.output).toContain('name: `${this.name}-http`');
  }, 60_000);
});
