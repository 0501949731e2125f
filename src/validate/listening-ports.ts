// The ports a set of processes listens on, read from /proc (Linux): the socket inodes each
// process holds open, matched against the kernel's TCP (LISTEN) and UDP (bound) tables.
// Null where /proc is not there, so a check can say it could not look.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The socket inodes the processes hold open. */
function socketInodes(pids: number[]): Set<string> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
  }
  return inodes;
}

export function listeningPorts(pids: number[]): number[] | null {
  if (!existsSync('/proc/net/tcp')) return null;
  const ports = new Set(listening(socketInodes(pids), '/proc/net').map((l) => l.port));
  return [...ports].sort((a, b) => a - b);
}

/**
 * The ports the processes hold only a bound UDP socket on (no TCP listener): a datagram health endpoint
 * (`recvfrom` answering "ping") is asked over UDP, not with an HTTP request.
 */
export function datagramOnlyPorts(pids: number[]): number[] {
  const inodes = socketInodes(pids);
  const tcp = new Set(listening(inodes, '/proc/net', ['tcp', 'tcp6']).map((l) => l.port));
  return [...new Set(listening(inodes, '/proc/net', ['udp', 'udp6']).map((l) => l.port))].filter((p) => !tcp.has(p)).sort((a, b) => a - b);
}

/**
 * The IPv4 TCP addresses one process listens on (`0.0.0.0:7661`), read from its own network
 * namespace's table (a process started in a namespace of its own is seen there).
 */
export function listeningAddresses(pid: number): string[] {
  return listening(socketInodes([pid]), `/proc/${pid}/net`, ['tcp'])
    .map((l) => `${l.host}:${l.port}`)
    .sort();
}

/** The listening (TCP) and bound (UDP) sockets among `inodes`, from the tables under `dir`. */
function listening(inodes: Set<string>, dir: string, tables: string[] = ['tcp', 'tcp6', 'udp', 'udp6']): Array<{ host: string; port: number }> {
  const out: Array<{ host: string; port: number }> = [];
  // No socket held: nothing to look up (the tables list every socket of the machine).
  if (!inodes.size) return out;
  for (const table of tables) {
    const state = table.startsWith('tcp') ? '0A' : '07';
    let text: string;
    try {
      text = readFileSync(`${dir}/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== state || !inodes.has(f[9]!)) continue;
      const [hex, portHex] = f[1]!.split(':');
      const port = parseInt(portHex!, 16);
      // IPv4 in /proc is little-endian hex: 0100007F is 127.0.0.1.
      const host = hex!.length === 8 ? [3, 2, 1, 0].map((i) => parseInt(hex!.slice(i * 2, i * 2 + 2), 16)).join('.') : hex!;
      if (port > 0) out.push({ host, port });
    }
  }
  return out;
}
