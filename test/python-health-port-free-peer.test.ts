// health-port-free-check deletes `if not probe(<health port>): raise ...` because the base binds that port in
// super().__init__() and the agent's own check would then find it taken. A probe whose host the caller
// chooses checks another machine's port (a standby asking whether the primary answers on the same health
// port number): that guard is business code the base's bind does not replace, and must be kept.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { rewriteAsCli } from './helpers/cli-verify.js';
import { loadProfile } from '../src/profile/profile.js';
import { scanRepository } from '../src/discover/scan.js';
import { decodePythonSource } from '../src/lang/python/parser.js';

const profile = loadProfile('base-agent');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('a port probe of another host beside the health port-free check', () => {
  it('keeps the peer guard and still removes the own-port check', async () => {
    const c = listCases().find((x) => x.name === 'health-port-free-check-before-own-bind')!;
    const root = materialize(c);
    roots.push(root);
    const file = path.join(root, c.rel);
    const text = readFileSync(file, 'utf8');
    const edited = text
      .replace(
        'def port_free(port):',
        'def peer_up(host, port):\n    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:\n        return s.connect_ex((host, port)) == 0\n\n\ndef port_free(port):',
      )
      .replace(
        '        self.running = True\n',
        '        if not peer_up(os.getenv("QUOTA_PRIMARY", "primary.internal"), self.health_port):\n            raise SystemExit("primary quota agent not answering")\n        self.running = True\n',
      );
    expect(edited.match(/peer_up\(/g)?.length, 'the fixture no longer has the shape this test edits').toBe(2);
    writeFileSync(file, edited);
    const scan = await scanRepository(root, profile);
    const agent = scan.agents.find((a) => a.file === c.rel)!;
    const out = await rewriteAsCli(root, c.rel, decodePythonSource(readFileSync(file), c.rel), agent, profile);
    expect(out.status).toBe('changed');
    expect(out.output).not.toContain('if not port_free(');
    expect(out.output).toContain('if not peer_up(os.getenv("QUOTA_PRIMARY", "primary.internal"), self.health_check_port):');
  });

  it('keeps a guard whose probe computes its host (a peer given, else this machine): not known to be local', async () => {
    const c = listCases().find((x) => x.name === 'health-port-free-check-before-own-bind')!;
    const root = materialize(c);
    roots.push(root);
    const file = path.join(root, c.rel);
    const text = readFileSync(file, 'utf8');
    const edited = text
      .replace(
        'def port_free(port):',
        'def port_answers(port, peer=None):\n    host = peer or "localhost"\n    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:\n        return s.connect_ex((host, port)) == 0\n\n\ndef port_free(port):',
      )
      .replace(
        '        self.running = True\n',
        '        if not port_answers(self.health_port, os.getenv("QUOTA_PRIMARY")):\n            raise SystemExit("primary quota agent not answering")\n        self.running = True\n',
      );
    expect(edited.match(/port_answers\(/g)?.length, 'the fixture no longer has the shape this test edits').toBe(2);
    writeFileSync(file, edited);
    const scan = await scanRepository(root, profile);
    const agent = scan.agents.find((a) => a.file === c.rel)!;
    const out = await rewriteAsCli(root, c.rel, decodePythonSource(readFileSync(file), c.rel), agent, profile);
    expect(out.status).toBe('changed');
    expect(out.output).not.toContain('if not port_free(');
    expect(out.output).toContain('if not port_answers(self.health_check_port, os.getenv("QUOTA_PRIMARY")):');
  });
});
