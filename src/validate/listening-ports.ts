// The ports a set of processes listens on, read from /proc (Linux): the socket inodes each
// process holds open, matched against the kernel's TCP (LISTEN) and UDP (bound) tables.
// Null where /proc is not there, so a check can say it could not look.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

export function listeningPorts(pids: number[]): number[] | null {
  if (!existsSync('/proc/net/tcp')) return null;
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
  const ports = new Set<number>();
  // No socket held: nothing to look up (the tables list every socket of the machine).
  if (!inodes.size) return [];
  for (const [table, state] of [['tcp', '0A'], ['tcp6', '0A'], ['udp', '07'], ['udp6', '07']] as const) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== state || !inodes.has(f[9]!)) continue;
      const port = parseInt(f[1]!.split(':')[1]!, 16);
      if (port > 0) ports.add(port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}
