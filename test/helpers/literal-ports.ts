// Runtime cases run side by side in one test file: validation gives each agent free ports for what
// the environment sets, not for a port an agent binds by a literal (`|| 7311`, a default its
// environment leaves in place). Cases sharing such a port take turns, else both would bind it at
// once and one die on EADDRINUSE, a failure of neither.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The ports a case's agents may bind by a literal: a number of 4-5 digits on a line of its files
 * that names a port or listens (`|| 7311`, `listen(7410)`). Files `skip` matches are not read.
 */
export function literalPorts(dir: string, skip: (name: string) => boolean = () => false): number[] {
  const ports = new Set<number>();
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || skip(e.name)) continue;
    for (const line of readFileSync(path.join(e.parentPath, e.name), 'utf8').split('\n')) {
      if (!/port|listen/i.test(line)) continue;
      for (const m of line.matchAll(/\b\d{4,5}\b/g)) if (Number(m[0]) >= 1024 && Number(m[0]) <= 65535) ports.add(Number(m[0]));
    }
  }
  return [...ports];
}

/**
 * Turns on literal ports: `take(ports)` waits until every earlier case holding one of them has
 * released it (in the order the cases asked, the test order), and gives the release of this one.
 * Other test files (forks) bind the same literals (a fixture validated by its Phase 5 part and by a
 * test of its own): each port is also held across processes, by a lock file naming the holder's
 * pid, taken in port order (no two cases wait on each other), a lock whose holder is gone taken over.
 */
export function portTurns(): (ports: number[]) => Promise<() => void> {
  /** Per literal port, the last case that asked for it: a later one waits for it to end. */
  const holders = new Map<number, Promise<void>>();
  return async (ports) => {
    const earlier = [...new Set(ports.map((p) => holders.get(p)).filter((x): x is Promise<void> => !!x))];
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    for (const p of ports) holders.set(p, mine);
    await Promise.all(earlier);
    const locks: string[] = [];
    for (const p of [...new Set(ports)].sort((a, b) => a - b)) {
      const lock = await portLock(p);
      if (lock) locks.push(lock);
    }
    return () => {
      for (const lock of locks) rmSync(lock, { force: true });
      done();
    };
  };
}

/** Longest wait for another process's case to free a port: past it the case runs (and may fail, as before). */
const PORT_LOCK_WAIT_MS = 180_000;

async function portLock(port: number): Promise<string | null> {
  const lock = path.join(os.tmpdir(), `migrate-test-port-${port}.lock`);
  const until = Date.now() + PORT_LOCK_WAIT_MS;
  while (Date.now() < until) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return lock;
    } catch {
      if (!holderAlive(lock)) {
        rmSync(lock, { force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return null;
}

function holderAlive(lock: string): boolean {
  let text: string;
  try {
    text = readFileSync(lock, 'utf8');
    // Created, its pid not written yet: held, unless it stayed so (its writer died in between).
    if (text === '') return Date.now() - statSync(lock).mtimeMs < 5_000;
  } catch {
    return false;
  }
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
