// Free loopback ports for agents under validation. Every port handed out stays
// reserved in this process until released, so agents validated in parallel
// never share one even when the kernel would hand the same port out twice.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { forgetOnReset } from '../core/invocation.js';

const reserved = new Set<number>();
forgetOnReset(() => reserved.clear());

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

/** Reserve `count` distinct free ports on 127.0.0.1. */
export async function allocatePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  // Bounded: the range holds thousands of ports; 50 tries per port is plenty.
  for (let attempt = 0; ports.length < count && attempt < count * 50; attempt++) {
    const port = RANGE[0] + Math.floor(Math.random() * (RANGE[1] - RANGE[0] + 1));
    if (reserved.has(port) || ports.includes(port)) continue;
    if (!(await isPortFree(port).catch(() => false))) continue;
    reserved.add(port);
    ports.push(port);
  }
  if (ports.length < count) {
    releasePorts(ports);
    throw new Error(`could not find ${count} free loopback ports`);
  }
  return ports;
}

export function releasePorts(ports: Iterable<number>): void {
  for (const p of ports) reserved.delete(p);
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
