// Free loopback ports for agents under validation. Every port handed out stays
// reserved in this process until released, so agents validated in parallel
// never share one even when the kernel would hand the same port out twice.
import net from 'node:net';

const reserved = new Set<number>();

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
  // Bounded: the kernel's ephemeral range is large; 50 tries per port is plenty.
  for (let attempt = 0; ports.length < count && attempt < count * 50; attempt++) {
    const port = await listenOnce(0);
    if (reserved.has(port) || ports.includes(port)) continue;
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
