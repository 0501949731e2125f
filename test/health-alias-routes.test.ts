// What the base's own HTTP server answers (read from its source), and which files of a repository name a
// health alias path (/ping, /live) as something polls it: the two facts health-alias-routes.ts decides on
// (a warning, or a review item naming the file). The rewrite itself is proved by the fixtures
// health-alias-route-local-read-under-lock (warning) and health-ping-alias-probed-by-compose (review).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { learnFromSource } from '../src/analysis/base-model.js';
import { pathMentions } from '../src/analysis/probe-references.js';

const TEMPLATES = path.resolve(import.meta.dirname, '../templates/runtime/python');
const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

describe("the base's HTTP routes", () => {
  it('reference BaseAgent and HardenedAgentBase answer /health and /metrics, anything else 404', () => {
    const ref = learnFromSource(readFileSync(path.join(TEMPLATES, 'common/core/base_agent.py'), 'utf8'), 'BaseAgent', 'common/core/base_agent.py')!;
    expect(ref.httpRoutes).toEqual({ paths: ['/health', '/metrics'], otherwise: 404 });
    const hardened = learnFromSource(readFileSync(path.join(TEMPLATES, 'amoskys/agents/common/base.py'), 'utf8'), 'HardenedAgentBase', 'base.py')!;
    expect(hardened.httpRoutes).toEqual({ paths: ['/health', '/metrics'], otherwise: 404 });
  });

  it('a base whose handler also answers /ping (and /healthz) serves them', () => {
    const source = [
      'from http.server import BaseHTTPRequestHandler',
      'class FleetBase:',
      '    def _serve(self):',
      '        agent = self',
      '        class H(BaseHTTPRequestHandler):',
      '            def do_GET(self):',
      '                if self.path in ("/health", "/healthz/"):',
      '                    self.send_response(200)',
      '                elif self.path == "/ping":',
      '                    self.send_response(200)',
      '                else:',
      '                    self.send_error(410)',
      '        return H',
      '',
    ].join('\n');
    expect(learnFromSource(source, 'FleetBase', 'fleet_base.py')!.httpRoutes).toEqual({ paths: ['/health', '/healthz', '/ping'], otherwise: 410 });
  });
});

describe('files of the repository naming a probe path', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-probe-refs-'));
  temps.push(root);
  const files: Record<string, string> = {
    'deploy/k8s/quota.yaml': 'livenessProbe:\n  httpGet:\n    path: /live\n    port: 7751\n',
    'docker-compose.yml': 'services:\n  a:\n    healthcheck:\n      test: ["CMD", "curl", "-f", "http://localhost:7751/ping"]\n  b:\n    healthcheck:\n      test: ["CMD", "curl", "-f", "http://localhost:9100/ping"]\n',
    'tools/monitor.py': 'import requests\nrequests.get(f"http://{HOST}:7751/ping", timeout=2)\nrequests.get("http://db:5432/pingdom")\n',
    'agents/other_agent.py': 'if self.path == "/ping":\n    pass\n',
    'agents/quota_agent.py': 'if self.path == "/ping":\n    pass\n',
    'agents/other_agent_v2.py': 'x = "http://localhost:7751/ping"\n',
    'docs/ops.md': 'probe http://localhost:7751/ping\n',
  };
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  }
  const exclude = ['agents/quota_agent.py', 'agents/quota_agent_v2.py'];

  it('a bare path in a config counts; in code only a URL with a host; a URL to another port does not', () => {
    const ping = pathMentions(root, exclude, '/ping', new Set([7750, 7751]));
    expect(ping.map((m) => `${m.file}:${m.line}`)).toEqual(['docker-compose.yml:4', 'tools/monitor.py:2']);
    expect(pathMentions(root, exclude, '/live', new Set([7751])).map((m) => `${m.file}:${m.line}`)).toEqual(['deploy/k8s/quota.yaml:3']);
  });

  it("another agent's port is not this agent's probe", () => {
    expect(pathMentions(root, exclude, '/ping', new Set([9100])).map((m) => `${m.file}:${m.line}`)).toEqual(['docker-compose.yml:7']);
    expect(pathMentions(root, exclude, '/status', new Set([7751]))).toEqual([]);
  });
});
