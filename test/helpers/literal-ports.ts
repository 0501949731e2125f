// Runtime cases run side by side in one test file: validation gives each agent free ports for what
// the environment sets, not for a port an agent binds by a literal (`|| 7311`, a default its
// environment leaves in place). Cases sharing such a port take turns, else both would bind it at
// once and one die on EADDRINUSE, a failure of neither.
import { readdirSync, readFileSync } from 'node:fs';
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
    return done;
  };
}
