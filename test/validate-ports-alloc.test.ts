// The validator's ports: an agent is given a block of neighbouring ports (the ones a base or a
// legacy agent derives from AGENT_PORT or HEALTH_CHECK_PORT are its own), and a port reserved by
// one migrate process is never handed out by another (each draws at random from the same range,
// and a port is bound by its agent only seconds after it was found free).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import http from 'node:http';
import dgram from 'node:dgram';
import { datagramOnlyPorts } from '../src/validate/listening-ports.js';
import { advertisedPort, checkPorts, withRegisteredPort } from '../src/validate/checks/ports.js';
import { legacyHealthPort } from '../src/validate/legacy-health-port.js';
import {
  allocateAgentPorts, allocatePorts, BLOCK_SIZE, BLOCKS_APART, derivedPortMapping, fetchRefuses, isPortFree, releasePorts,
} from '../src/validate/ports.js';

/** `n` neighbouring ports nothing listens on now. */
async function freeRun(n: number): Promise<[number, number]> {
  for (let i = 0; i < 200; i++) {
    const lo = 20000 + Math.floor(Math.random() * 10000);
    const all = await Promise.all(Array.from({ length: n }, (_, k) => isPortFree(lo + k)));
    if (all.every(Boolean)) return [lo, lo + n - 1];
  }
  throw new Error('no free run of ports');
}

/** Another migrate process reserving every port of `range` with the built allocator, until told to go. */
async function otherProcessHolding(range: [number, number], count: number): Promise<{ ports: number[]; stop(): Promise<void> }> {
  const mod = pathToFileURL(path.resolve('dist/src/validate/ports.js')).href;
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    const { allocatePorts } = await import(${JSON.stringify(mod)});
    const ports = await allocatePorts(${count}, ${JSON.stringify(range)});
    console.log(JSON.stringify(ports));
    process.stdin.on('data', () => process.exit(0));
  `], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`holder exited with ${code}: ${out}`)));
  });
  return {
    ports: JSON.parse(line) as number[],
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin.write('go\n');
    }),
  };
}

describe('validation ports', () => {
  it('a port another migrate process holds (found free, not bound yet) is not handed out here', async () => {
    const range = await freeRun(2);
    const other = await otherProcessHolding(range, 2);
    try {
      expect(other.ports.sort()).toEqual([range[0], range[1]]);
      // Both are free to bind (their agent has not started yet): only the other process's claim says no.
      expect(await isPortFree(range[0])).toBe(true);
      await expect(allocatePorts(1, range)).rejects.toThrow(/could not find 1 free loopback ports/);
    } finally {
      await other.stop();
    }
    // Released when the other process is done: ours now.
    const mine = await allocatePorts(2, range);
    expect(mine.sort()).toEqual([range[0], range[1]]);
    releasePorts(mine);
  });

  it('the claims of a process that died without releasing them do not block the ports', async () => {
    const range = await freeRun(1);
    const mod = pathToFileURL(path.resolve('dist/src/validate/ports.js')).href;
    // SIGKILLed while holding: no exit handler ran, its claim file names a pid that is gone.
    const child = spawn(process.execPath, ['--input-type=module', '-e', `
      const { allocatePorts } = await import(${JSON.stringify(mod)});
      await allocatePorts(1, ${JSON.stringify(range)});
      console.log('held');
      setInterval(() => {}, 1000);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
    });
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    const mine = await allocatePorts(1, range);
    expect(mine).toEqual([range[0]]);
    releasePorts(mine);
  });

  it('an agent gets two blocks: its port and its health port far apart, each with its neighbours, none given to another agent', async () => {
    // Room for one agent's two blocks, no more: its port heads the first, its health port the last.
    const range = await freeRun(BLOCKS_APART + BLOCK_SIZE);
    const a = await allocateAgentPorts(range);
    try {
      const run = (from: number) => Array.from({ length: BLOCK_SIZE }, (_, k) => from + k);
      expect(a.block.sort((x, y) => x - y)).toEqual([...run(range[0]), ...run(range[0] + BLOCKS_APART)]);
      expect([a.port, a.health_port].sort((x, y) => x - y)).toEqual([range[0], range[0] + BLOCKS_APART]);
      // The ports an agent derives from its own (`port + 1..7`: a PUB, an admin page) are never its health port.
      expect(Math.abs(a.health_port - a.port)).toBeGreaterThanOrEqual(BLOCKS_APART);
      // Every port of the range is this agent's: none is handed to another.
      await expect(allocateAgentPorts(range)).rejects.toThrow(/could not find/);
    } finally {
      releasePorts(a.block);
    }
  });

  it('never hands out a port fetch() refuses to connect to (10080): the health check would fail on a healthy agent', async () => {
    // A range whose only two blocks one agent can have starts at 10080: refused, whether free or not.
    await expect(allocateAgentPorts([10080, 10080 + BLOCKS_APART + BLOCK_SIZE - 1])).rejects.toThrow(/could not find/);
    await expect(allocatePorts(1, [10080, 10080])).rejects.toThrow(/could not find/);
    expect(fetchRefuses(10080)).toBe(true);
    expect(fetchRefuses(10081)).toBe(false);
  });

  it('maps the legacy run\'s derived ports onto the same neighbours of the _v2\'s', () => {
    const run = (from: number) => Array.from({ length: BLOCK_SIZE }, (_, k) => from + k);
    const legacy = { port: 21000, health_port: 21000 + BLOCKS_APART, block: [...run(21000), ...run(21000 + BLOCKS_APART)] };
    const m = derivedPortMapping(legacy, { port: 25000, health_port: 26000 });
    expect(m.get(21002)).toBe(25002); // AGENT_PORT + 2
    expect(m.get(21004)).toBe(25004); // AGENT_PORT + 4: the agent's, not the health port's
    expect(m.get(21000 + BLOCKS_APART + 1)).toBe(26001); // HEALTH_CHECK_PORT + 1
    expect(m.has(21000)).toBe(false); // the given ones map as given
    expect(m.has(21000 + BLOCKS_APART)).toBe(false);
  });

  it('pairs a port the legacy agent derived beyond its block with the _v2\'s same neighbour, not a far one', () => {
    // edge_bundle.py: ConfigWatcherAgent on AGENT_PORT, a second agent of the file (LeaseKeeperAgent) serving
    // health on AGENT_PORT + 11, outside the reserved block: the _v2 serves it on its own AGENT_PORT + 11.
    const mapping = new Map([[25440, 31584], [25444, 31588]]);
    const base = { mapping, derived: new Map<number, number>(), health: { v2: 31588, legacy: 25444 }, ms: 1 };
    const ok = checkPorts({ ...base, legacy: [25444, 25451], now: [31588, 31595] });
    expect(ok.ok, ok.detail).toBe(true);
    expect(ok.detail).toBe('listens where the legacy agent did: 31588 (legacy 25444), 31595 (legacy 25451)');
    // Not there on the _v2: still missing.
    expect(checkPorts({ ...base, legacy: [25444, 25451], now: [31588] }).ok).toBe(false);
    // A fixed port far from the given ones never pairs with a _v2 port by offset.
    expect(checkPorts({ ...base, legacy: [25444, 7701], now: [31588, 7701 - 25440 + 31584] }).ok).toBe(false);
  });
  it('pairs a legacy agent\'s own fixed port and the neighbours it derived from it with the _v2\'s given port and the same neighbours', () => {
    // session_router.py (probe-py47): the legacy agent ignores AGENT_PORT and binds its own 5660 (REP), its HTTP
    // health on 5661 and a PUB on 5662; the _v2's base takes AGENT_PORT and HEALTH_CHECK_PORT, its PUB AGENT_PORT + 2.
    // Paired one by one, 5662 found no given port left and a right migration failed validation.
    const mapping = new Map([[25440, 31584], [25444, 31588]]);
    // 5661 answered the legacy run's health probe.
    const base = { mapping, derived: new Map<number, number>(), health: { v2: 31588, legacy: 5661 }, ms: 1 };
    const ok = checkPorts({ ...base, legacy: [5660, 5661, 5662], now: [31584, 31586, 31588] });
    expect(ok.ok, ok.detail).toBe(true);
    expect(ok.detail).toContain('5662 (the legacy agent\'s 5660 + 2) as 31586');
    expect(ok.detail).toContain('31588 (legacy 5661, its health port)');
    // The PUB socket gone from the _v2: still missing.
    expect(checkPorts({ ...base, legacy: [5660, 5661, 5662], now: [31584, 31588] }).ok).toBe(false);
    // Two fixed ports, one neighbour: paired by offset, not the neighbour with the health port.
    const two = checkPorts({ ...base, health: { v2: 31588 }, legacy: [5595, 5597], now: [31584, 31586, 31588] });
    expect(two.ok, two.detail).toBe(true);
    expect(two.detail).toContain('5597 (the legacy agent\'s 5595 + 2) as 31586');
  });
  it('pairs the neighbours a legacy agent derived from its own port, read from its code, with the _v2\'s same neighbours of AGENT_PORT', () => {
    // admin-port-from-replaced-port-param (QuotaAgent): `port=7340`, AGENT_PORT unread, health on 7341 and an admin
    // page on 7342, never 7340 itself; the _v2's base takes AGENT_PORT and the page follows it (AGENT_PORT + 2).
    // The legacy's 7342 paired with nothing the validator gave it, and a right migration failed on the ports check.
    const mapping = new Map([[25440, 31584], [25568, 31712]]);
    const derived = new Map([[25442, 31586]]);
    const base = { mapping, derived, health: { v2: 31712, legacy: 7341 }, own: { legacy: 7340, v2: 31584 }, ms: 1 };
    const ok = checkPorts({ ...base, legacy: [7341, 7342], now: [31586, 31712] });
    expect(ok.ok, ok.detail).toBe(true);
    expect(ok.detail).toContain('31586 (legacy 7342, its port 7340 + 2 read from its code)');
    // The admin page dropped from the _v2: 7342 is missing, named a business port.
    const broken = checkPorts({ ...base, legacy: [7341, 7342], now: [31712] });
    expect(broken.ok, broken.detail).toBe(false);
    expect(broken.detail).toContain('does not listen on 7342 (a business port)');
    // On another neighbour (AGENT_PORT + 3): not the one the legacy derived.
    expect(checkPorts({ ...base, legacy: [7341, 7342], now: [31587, 31712] }).ok).toBe(false);
    // Its own port unknown: as before, no pairing.
    expect(checkPorts({ ...base, own: undefined, legacy: [7341, 7342], now: [31586, 31712] }).ok).toBe(false);
  });

  it('never lets the _v2\'s health port stand in for a business port of the legacy agent', () => {
    // tsleft49-counter-relay-fixed-business-port: a TCP listener on a literal 7437, no health port of its own.
    const mapping = new Map([[25440, 31584], [25444, 31588]]);
    const base = { mapping, derived: new Map<number, number>(), health: { v2: 31588 }, ms: 1 };
    // The _v2 serves /health and never listens for the business: 7437 is missing, and named.
    const broken = checkPorts({ ...base, legacy: [7437], now: [31588] });
    expect(broken.ok, broken.detail).toBe(false);
    expect(broken.detail).toContain('does not listen on 7437 (a business port)');
    // Its business listener on the validator's AGENT_PORT (the base's port): paired with that one.
    const ok = checkPorts({ ...base, legacy: [7437], now: [31584, 31588] });
    expect(ok.ok, ok.detail).toBe(true);
    expect(ok.detail).toContain('7437 (fixed in the legacy agent) as 31584');
    // Its own health on a literal 8081 (it answered the probe) and the business on 7437: health goes to the
    // _v2's health port, the business still needs a listener.
    const own = { ...base, health: { v2: 31588, legacy: 8081 } };
    expect(checkPorts({ ...own, legacy: [7437, 8081], now: [31588] }).detail).toContain('does not listen on 7437 (a business port)');
    expect(checkPorts({ ...own, legacy: [7437, 8081], now: [31584, 31588] }).ok).toBe(true);
    // The health port gone too: named as the health port.
    expect(checkPorts({ ...own, legacy: [7437, 8081], now: [31584] }).detail).toContain('does not listen on 31588 (legacy 8081, its health port) (');
  });

  it('pairs a legacy agent\'s health on a neighbour it derived from its port with the _v2\'s health port', () => {
    // quota_agent.py (probe-py51): `self.health_port = self.port + 1`, HEALTH_CHECK_PORT never read; the _v2's base
    // serves /health on the HEALTH_CHECK_PORT it is given. The legacy run's probe found its health on AGENT_PORT + 1.
    const mapping = new Map([[25440, 31584], [25444, 31588]]);
    const derived = new Map([[25441, 31585]]);
    const base = { mapping, derived, health: { v2: 31588, legacy: 25441 }, ms: 1 };
    const ok = checkPorts({ ...base, legacy: [25441], now: [31588] });
    expect(ok.ok, ok.detail).toBe(true);
    expect(ok.detail).toContain('25441 (the legacy agent\'s health port, derived from its port) as 31588 (the _v2\'s health port)');
    // No health on the _v2 either: still missing.
    expect(checkPorts({ ...base, legacy: [25441], now: [] }).ok).toBe(false);
    // The neighbour did not answer as health (a business listener there): still the _v2's to listen on.
    const business = checkPorts({ ...base, health: { v2: 31588 }, legacy: [25441], now: [31588] });
    expect(business.ok, business.detail).toBe(false);
    expect(business.detail).toContain('does not listen on 31585 (legacy 25441) (a business port)');
  });

  it('finds a legacy agent\'s datagram health endpoint (a UDP socket answering "ping") by asking it over UDP', async () => {
    // cache_warmer_agent.py (probe-py51): `recvfrom` on port + 1, `ping` answered with a JSON status; its business
    // neighbour a UDP socket answering something else. Asked over HTTP, neither answered, and the ports check took the
    // health socket for a business port the _v2 (health over HTTP on the base) no longer bound.
    const bind = (answer: (msg: string) => string | null) => new Promise<dgram.Socket>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.on('message', (msg, rinfo) => {
        const reply = answer(msg.toString());
        if (reply !== null) s.send(reply, rinfo.port, rinfo.address);
      });
      s.bind(0, '127.0.0.1', () => resolve(s));
    });
    const health = await bind((m) => (m.trim() === 'ping' ? JSON.stringify({ status: 'ok', warmed: 3 }) : null));
    const business = await bind((m) => `ack ${m.length}`);
    const port = (s: dgram.Socket) => s.address().port;
    try {
      expect(datagramOnlyPorts([process.pid])).toEqual(expect.arrayContaining([port(health), port(business)]));
      const both = [port(business), port(health)];
      expect(await legacyHealthPort(both, 'http', [], undefined, both)).toBe(port(health));
      expect(await legacyHealthPort([port(business)], 'http', [], undefined, [port(business)])).toBeUndefined();
    } finally {
      health.close();
      business.close();
    }
  });

  it('finds a legacy agent\'s own health port by asking its ports, /health or /healthz', async () => {
    // A Node service's health on /healthz (the Kubernetes habit) beside a business port answering 404 to both paths:
    // the health one is found, the business one is not taken for it.
    const listen = (handler: http.RequestListener) => new Promise<http.Server>((resolve) => {
      const s = http.createServer(handler);
      s.listen(0, '127.0.0.1', () => resolve(s));
    });
    const healthz = await listen((req, res) => {
      if (req.url === '/healthz') res.end(JSON.stringify({ status: 'ok', uptime: 3 }));
      else { res.statusCode = 404; res.end(); }
    });
    const business = await listen((_req, res) => { res.statusCode = 404; res.end('no such route'); });
    try {
      const port = (s: http.Server) => (s.address() as { port: number }).port;
      expect(await legacyHealthPort([port(business), port(healthz)], 'http')).toBe(port(healthz));
      expect(await legacyHealthPort([port(business)], 'http')).toBeUndefined();
    } finally {
      healthz.close();
      business.close();
    }
  });

  it('finds a legacy agent\'s own health port on the paths its code serves health on (/live, /ping answering "pong")', async () => {
    // tsleft50-liveness-ping-own-port-business-api: health on a port of its own answering /live and /ping
    // with a bare "pong", beside a business API answering 404 there. Asked /health and /healthz alone, neither
    // port reads as health, and the liveness port was taken for a business port the _v2 dropped. With the paths
    // the scan read from the code (AgentInfo.health_paths), any 2xx there is its health answering.
    const listen = (handler: http.RequestListener) => new Promise<http.Server>((resolve) => {
      const s = http.createServer(handler);
      s.listen(0, '127.0.0.1', () => resolve(s));
    });
    const liveness = await listen((req, res) => {
      if (req.url === '/live' || req.url === '/ping') res.end('pong');
      else { res.statusCode = 404; res.end(); }
    });
    const business = await listen((_req, res) => { res.statusCode = 404; res.end('no such route'); });
    try {
      const port = (s: http.Server) => (s.address() as { port: number }).port;
      expect(await legacyHealthPort([port(business), port(liveness)], 'http')).toBeUndefined();
      expect(await legacyHealthPort([port(business), port(liveness)], 'http', ['/live', '/ping'])).toBe(port(liveness));
      expect(await legacyHealthPort([port(business)], 'http', ['/live', '/ping'])).toBeUndefined();
    } finally {
      liveness.close();
      business.close();
    }
  });

  it('finds a single-threaded legacy health server (http.server\'s HTTPServer) the ZMQ probe would otherwise hold', async () => {
    // agent-name-literal's health: HTTPServer serving one connection at a time. Asked both kinds (and both paths)
    // at once, whichever connection it accepted first held it: the ZMQ greeting (read as a request line that never
    // ends) kept the HTTP request waiting until it timed out too, and the health port read as a business port.
    // Which one is accepted first is a race, so this case passes on the old probe as often as not;
    // validate-leftovers and review-report failed on it every time (legacy agents with such a server).
    const py = spawn('python3', ['-c', [
      'import json, sys',
      'from http.server import BaseHTTPRequestHandler, HTTPServer',
      'class H(BaseHTTPRequestHandler):',
      '    def do_GET(self):',
      '        body = json.dumps({"status": "healthy"}).encode()',
      '        self.send_response(200 if self.path == "/health" else 404); self.end_headers(); self.wfile.write(body)',
      '    def log_message(self, *a): pass',
      's = HTTPServer(("127.0.0.1", 0), H)',
      'print(s.server_address[1], flush=True)',
      's.timeout = 20',
      's.handle_request(); s.handle_request(); s.handle_request()',
    ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        py.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
        py.once('exit', () => reject(new Error('python3 HTTPServer ended before it listened')));
      });
      expect(await legacyHealthPort([port], 'http')).toBe(port);
    } finally {
      py.kill('SIGKILL');
    }
  });

  it('fails the ports check naming the port the _v2 registers but does not listen on, when the legacy agent served where it registered', () => {
    // probe-py49 (service_base_v2.py:18): the listener binds the constructor's port parameter (7742) while the base
    // registers AGENT_PORT (31584). Every legacy port is paired (7742 fixed, 7743 as the validator's health port),
    // so the comparison alone passed, and the registry pointed at a port nobody listened on.
    const mapping = new Map([[25440, 31584], [25444, 31588]]);
    // 7743 answered the legacy run's health probe (the health pairs with health only).
    const ports = checkPorts({ mapping, derived: new Map<number, number>(), health: { v2: 31588, legacy: 7743 }, ms: 1, legacy: [7742, 7743], now: [7742, 31588] });
    expect(ports.ok, ports.detail).toBe(true);
    const dead = withRegisteredPort(ports, { legacyRegistered: 7742, legacy: [7742, 7743], registered: advertisedPort({ port: 31584 }), now: [7742, 31588] });
    expect(dead.ok).toBe(false);
    expect(dead.detail).toContain('registered port 31584, where it does not listen (it listens on 7742, 31588)');
    // Listening where it registers: unchanged.
    expect(withRegisteredPort(ports, { legacyRegistered: 7742, legacy: [7742, 7743], registered: 7742, now: [7742, 31588] })).toBe(ports);
    // A legacy agent that never listened on the port it registered (a worker, an exporter on a fixed port): nothing to say.
    expect(withRegisteredPort(ports, { legacyRegistered: 25440, legacy: [9187, 25444], registered: 31584, now: [9187, 31588] })).toBe(ports);
    // No legacy registration observed, or none in the _v2's record: nothing to say.
    expect(withRegisteredPort(ports, { legacyRegistered: null, legacy: [7742, 7743], registered: 31584, now: [7742, 31588] })).toBe(ports);
    expect(advertisedPort({ port: '31584' })).toBe(31584); // a Redis hash's field
    expect(advertisedPort({ name: 'x' })).toBeNull();
  });
});
