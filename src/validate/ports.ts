// Free loopback ports for agents under validation. Every port handed out stays reserved until
// released, so agents validated in parallel never share one even when the kernel would hand the
// same port out twice: in this process (a set), and across the machine's other migrate processes
// (one claim file per port in a shared folder), whose own agents draw from the same range.
//
// An agent is given two blocks of neighbouring ports, not two loose ones: bases and legacy agents
// bind ports they derive from the ones they are given (`port + 2` for HTTP, `port + 1` for a PUB
// socket, `health + 1`), and a derived port nobody reserved could be another agent's AGENT_PORT.
// HEALTH_CHECK_PORT heads a block of its own, far from AGENT_PORT's (as deployments set the two
// apart): a health port a few ports past AGENT_PORT is where an agent's own `port + k` listener lands.
import { chmodSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { forgetOnReset } from '../core/invocation.js';

const reserved = new Set<number>();
forgetOnReset(() => releasePorts([...reserved]));

/** Ports in each of an agent's two blocks: AGENT_PORT (or HEALTH_CHECK_PORT) first, the rest its derived ones. */
export const BLOCK_SIZE = 8;
/**
 * How far apart the heads of an agent's two blocks lie at least: farther than the ports check pairs a
 * neighbour derived from a given port (checks/ports.ts FAR_OFFSET), so no port derives from both.
 */
export const BLOCKS_APART = 128;

/** The kernel's range for ports it picks itself (listen(0), outgoing connections). */
export function ephemeralRange(): [number, number] {
  try {
    const [a, b] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (a && b) return [a, b];
  } catch {
    // not Linux: the usual range
  }
  return [32768, 60999];
}

/**
 * Ports are drawn at random below the kernel's ephemeral range: a port the kernel hands out for
 * listen(0) or for any outgoing connection (of another validation, a test, the agent itself) could
 * be taken again between our check and the agent's bind, which showed as EADDRINUSE at start.
 */
function candidateRange(): [number, number] {
  const hi = Math.min(ephemeralRange()[0], 49152) - 1;
  return hi - 10000 >= 2000 ? [10000, hi] : [1024, 65535];
}
const RANGE = candidateRange();

/**
 * The machine-wide claims: a file per port naming the process holding it. A port is checked free
 * when it is chosen and bound by the agent only later (after the legacy run, after the start of a
 * python3), and another migrate process checking it meanwhile found it free too.
 */
const CLAIMS = path.join(os.tmpdir(), 'migrate-validation-ports');
let claimsUsable: boolean | undefined;

function claimsDir(): string | null {
  if (claimsUsable === undefined) {
    try {
      mkdirSync(CLAIMS, { recursive: true });
      // Every user's migrate draws from the same ports: anyone may claim (the umask took the bits).
      try {
        chmodSync(CLAIMS, 0o1777);
      } catch {
        // another user's folder, already shared
      }
      claimsUsable = true;
    } catch {
      claimsUsable = false; // a read-only tmp: this process's own reservations only
    }
  }
  return claimsUsable ? CLAIMS : null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claim `port` machine-wide; false when a live process (another migrate, another test worker) holds it. */
function claim(port: number): boolean {
  const dir = claimsDir();
  if (!dir) return true;
  const file = path.join(dir, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o666 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return true; // unwritable: our own set only
    }
    // Held: by a live process (a worker thread of this one included), or left by one that died.
    let holder = NaN;
    try {
      holder = Number(readFileSync(file, 'utf8'));
    } catch {
      continue; // released meanwhile
    }
    if (Number.isInteger(holder) && holder > 0 && alive(holder)) return false;
    try {
      unlinkSync(file);
    } catch {
      // another process cleared it first
    }
  }
  return false;
}

function unclaim(port: number): void {
  if (!claimsUsable) return;
  try {
    unlinkSync(path.join(CLAIMS, String(port)));
  } catch {
    // gone already
  }
}

// Claims of a process that ends without releasing them (an interrupted run) are cleared by the
// next claimant when it finds this pid gone; an orderly exit clears them at once. The exit
// handler is on the process only while this process holds a reservation: a command run inside
// a longer-lived process (the in-process CLI) leaves no handler behind.
function unclaimAll(): void {
  for (const p of reserved) unclaim(p);
}
function watchExit(): void {
  if (reserved.size) {
    if (!process.listeners('exit').includes(unclaimAll)) process.on('exit', unclaimAll);
  } else process.off('exit', unclaimAll);
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

/** Reserve `ports` (all or none): not ours already, not claimed by another process, free now. */
async function reserveAll(ports: number[]): Promise<boolean> {
  const taken: number[] = [];
  for (const p of ports) {
    if (reserved.has(p) || !claim(p)) {
      releasePorts(taken);
      return false;
    }
    reserved.add(p);
    taken.push(p);
  }
  watchExit();
  for (const p of ports) {
    if (!(await isPortFree(p).catch(() => false))) {
      releasePorts(taken);
      return false;
    }
  }
  return true;
}

/**
 * The ports fetch() refuses to connect to (the WHATWG "bad port" list: undici answers "bad port" and
 * never connects), above 1023. A health port among them failed the health check of an agent that
 * answered well (10080, a block head in the usual range): no block holds one.
 */
const FETCH_BAD_PORTS = new Set([1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080]);
export const fetchRefuses = (port: number): boolean => port < 1024 || FETCH_BAD_PORTS.has(port);

const randomIn = ([lo, hi]: [number, number]) => lo + Math.floor(Math.random() * (hi - lo + 1));

/** Reserve `count` distinct free ports on 127.0.0.1 (each on its own: see allocateAgentPorts for an agent's). */
export async function allocatePorts(count: number, range: [number, number] = RANGE): Promise<number[]> {
  const ports: number[] = [];
  // Bounded: the range holds thousands of ports; 50 tries per port is plenty.
  for (let attempt = 0; ports.length < count && attempt < count * 50; attempt++) {
    const port = randomIn(range);
    if (!fetchRefuses(port) && await reserveAll([port])) ports.push(port);
  }
  if (ports.length < count) {
    releasePorts(ports);
    throw new Error(`could not find ${count} free loopback ports`);
  }
  return ports;
}

export interface AgentPorts {
  port: number;
  health_port: number;
  /** Every port reserved for the agent (its two and their neighbours): release them all when it has stopped. */
  block: number[];
}

/**
 * Reserve two blocks of BLOCK_SIZE neighbouring free ports for one agent start, at least BLOCKS_APART
 * apart: AGENT_PORT heads one, HEALTH_CHECK_PORT the other, so that the ports an agent derives from
 * either (`port + 1..7`, `health + 1..7`) are its own too, free, handed to no other agent, and never
 * the other given port (with HEALTH_CHECK_PORT at AGENT_PORT + 4, an agent's own `port + 4` listener took it).
 */
export async function allocateAgentPorts(range: [number, number] = RANGE): Promise<AgentPorts> {
  // Aligned blocks: two agents' blocks never half overlap, so one taken port costs one block.
  const blocks = Math.floor((range[1] - range[0] + 1) / BLOCK_SIZE);
  const apart = Math.ceil(BLOCKS_APART / BLOCK_SIZE);
  const blockAt = (i: number) => Array.from({ length: BLOCK_SIZE }, (_, k) => range[0] + BLOCK_SIZE * i + k);
  for (let attempt = 0; blocks > apart && attempt < 100; attempt++) {
    const a = Math.floor(Math.random() * blocks);
    // The health block on either side of the agent's, wherever the range leaves room.
    const sides = [a - apart - Math.floor(Math.random() * (a - apart + 1)), a + apart + Math.floor(Math.random() * (blocks - a - apart))]
      .filter((h) => h >= 0 && h < blocks);
    const h = sides[Math.floor(Math.random() * sides.length)];
    if (h === undefined) continue;
    const block = [...blockAt(a), ...blockAt(h)];
    if (!block.some(fetchRefuses) && await reserveAll(block)) return { port: block[0]!, health_port: block[BLOCK_SIZE]!, block };
  }
  throw new Error(`could not find two blocks of ${BLOCK_SIZE} neighbouring free loopback ports`);
}

/**
 * The legacy run's derived ports → the _v2's: a port the legacy agent bound next to the ones it
 * was given (its AGENT_PORT + 2, its health port + 1) is the same neighbour of the _v2's.
 */
export function derivedPortMapping(legacy: AgentPorts, v2: { port: number; health_port: number }): Map<number, number> {
  const map = new Map<number, number>();
  for (const p of legacy.block) {
    if (p === legacy.port || p === legacy.health_port) continue;
    const fromPort = p - legacy.port;
    const fromHealth = p - legacy.health_port;
    if (fromPort > 0 && fromPort < BLOCK_SIZE) map.set(p, v2.port + fromPort);
    else if (fromHealth > 0 && fromHealth < BLOCK_SIZE) map.set(p, v2.health_port + fromHealth);
  }
  return map;
}

export function releasePorts(ports: Iterable<number>): void {
  for (const p of ports) {
    if (reserved.delete(p)) unclaim(p);
  }
  watchExit();
}

/** True when nothing listens on 127.0.0.1:port (we could bind it ourselves). */
export async function isPortFree(port: number): Promise<boolean> {
  try {
    await listenOnce(port);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') return false;
    throw err;
  }
}
