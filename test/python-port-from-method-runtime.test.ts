// A port read through the agent's one-line method (port-from-method-health-not-from-parameter:
// `self.port = port if port is not None else self._launcher_port()`, the launcher's port file): the base is now
// given that method's expression, so it gets the port the legacy bound. The legacy file and its expected _v2 are
// started for real, as their entry points start them (no ports given: no AGENT_PORT / HEALTH_CHECK_PORT), each
// with a port file of its own: each must answer a lock request on the UDP port the file names and /health on
// that port + 1; the _v2's base reports that port as its own (what it registers).
import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { allocateAgentPorts, releasePorts } from '../src/validate/ports.js';
import { healthJson } from './helpers/health-json.js';
import { agentRuns, sleep } from './helpers/python-agent-runs.js';

const CASE = 'port-from-method-health-not-from-parameter';
const runs = agentRuns();

/** One datagram to the UDP port, its JSON answer (null after 1 s). */
function udp(port: number, request: object): Promise<Record<string, unknown> | null> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      resolve(null);
    }, 1000);
    sock.on('message', (m) => {
      clearTimeout(timer);
      sock.close();
      resolve(JSON.parse(m.toString()));
    });
    sock.send(JSON.stringify(request), port, '127.0.0.1');
  });
}

async function run(root: string, file: string, port: number): Promise<{ health: Record<string, unknown> | null; lock: Record<string, unknown> | null; output: string }> {
  const portDir = path.join(root, 'run-ports');
  mkdirSync(portDir, { recursive: true });
  writeFileSync(path.join(portDir, 'SessionLockAgent.port'), `${port}\n`);
  const { child, output } = runs.start(root, [file], { AGENT_PORT_DIR: portDir });
  let health: Record<string, unknown> | null = null;
  for (let i = 0; i < 150 && child.exitCode === null && !(health && 'granted' in health); i++) {
    health = await healthJson(port + 1);
    if (!(health && 'granted' in health)) await sleep(100);
  }
  let lock: Record<string, unknown> | null = null;
  for (let i = 0; i < 5 && !lock && child.exitCode === null; i++) lock = await udp(port, { action: 'acquire', lock: 'session:42', owner: 'tts', ttl: 5 });
  // Asked again: the lock granted is counted there.
  health = (await healthJson(port + 1)) ?? health;
  const exited = new Promise((r) => child.on('exit', r));
  if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000)]);
  return { health, lock, output: output() };
}

describe('a port read through a one-line method of the agent, given to the base', () => {
  it(`${CASE}: legacy and _v2 listen where the port file says`, async () => {
    const c = listCases().find((x) => x.name === CASE)!;
    const legacyRoot = runs.root(materialize(c));
    const v2Root = runs.root(materialize(c));
    const v2File = path.join(v2Root, c.rel.replace(/\.py$/, '_v2.py'));
    writeFileSync(v2File, readFileSync(c.expectedFile));
    // Two blocks of neighbouring free ports: the health port is the port file's + 1 in both.
    const [a, b] = [await allocateAgentPorts(), await allocateAgentPorts()];
    try {
      const [legacy, v2] = await Promise.all([run(legacyRoot, path.join(legacyRoot, c.rel), a.block[0]!), run(v2Root, v2File, b.block[0]!)]);
      expect(legacy.lock, legacy.output).toEqual({ status: 'ok', granted: true });
      expect(v2.lock, v2.output).toEqual(legacy.lock);
      expect(legacy.health, legacy.output).toMatchObject({ status: 'ok', granted: 1 });
      // The base's own fields: the port the legacy took from the file, and its health port + 1.
      expect(v2.health, v2.output).toMatchObject({ status: 'ok', granted: 1, port: b.block[0], health_check_port: b.block[0]! + 1 });
    } finally {
      releasePorts([...a.block, ...b.block]);
    }
  }, 60_000);
});
