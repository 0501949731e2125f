// A cgroup (v2) per agent where the machine lets us make one: every process the agent
// ever starts stays in it whatever it does (double fork, setsid, a cleared
// environment), so "what is left of the agent" is one file to read and one to write.
// Without a writable cgroup2 hierarchy the caller falls back to the process tree.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

let base: string | null | undefined;

/** The directory of our own cgroup in a mounted cgroup2 hierarchy, or null. */
function ownCgroupDir(): string | null {
  if (base !== undefined) return base;
  base = null;
  if (process.env.MIGRATE_NO_CGROUP) return base; // the fallback, on demand (tests, debugging)
  try {
    const own = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'))
      ?.slice(3);
    if (!own) return base;
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      // "id parent major:minor root mountpoint options ... - fstype source superoptions"
      const [left, right] = line.split(' - ');
      if (!right?.startsWith('cgroup2 ')) continue;
      const f = left!.split(' ');
      const root = unescapeMount(f[3]!);
      const mount = unescapeMount(f[4]!);
      if (own !== root && !own.startsWith(root === '/' ? '/' : `${root}/`)) continue;
      const dir = path.join(mount, path.relative(root, own));
      if (existsSync(path.join(dir, 'cgroup.procs'))) {
        base = dir;
        break;
      }
    }
  } catch {
    base = null;
  }
  return base;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Make an empty cgroup for one agent; undefined when the hierarchy is not ours to write. */
export function createAgentCgroup(name: string): string | undefined {
  const parent = ownCgroupDir();
  if (!parent) return undefined;
  const dir = path.join(parent, name);
  try {
    mkdirSync(dir);
    return dir;
  } catch {
    return undefined;
  }
}

/** The file a process writes its own pid into to join the cgroup (before it execs the agent). */
export function procsFile(dir: string): string {
  return path.join(dir, 'cgroup.procs');
}

/** Pids in the cgroup (every live process the agent started; empty when it is gone). */
export function cgroupPids(dir: string): number[] {
  try {
    return readFileSync(procsFile(dir), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function inCgroup(pid: number, dir: string): boolean {
  return cgroupPids(dir).includes(pid);
}

/** SIGKILL everything in the cgroup: cgroup.kill where the kernel has it, else freeze, kill each, thaw. */
export function killCgroup(dir: string): void {
  try {
    writeFileSync(path.join(dir, 'cgroup.kill'), '1');
    return;
  } catch {
    // older kernel (before 5.14): one by one, frozen so nothing forks meanwhile
  }
  const freeze = path.join(dir, 'cgroup.freeze');
  const frozen = tryWrite(freeze, '1');
  for (const pid of cgroupPids(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  if (frozen) tryWrite(freeze, '0');
}

function tryWrite(file: string, text: string): boolean {
  try {
    writeFileSync(file, text);
    return true;
  } catch {
    return false;
  }
}

/** Remove the (empty) cgroup; false while processes are still in it. */
export function removeCgroup(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
