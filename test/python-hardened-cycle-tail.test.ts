// Run-time checks of legacy loop work moved onto the base. First: per-cycle work after the cycle and its publish in a legacy run() loop must still run every cycle on the
// base, at run time: the migrated kmod-textfile-each-cycle fixture runs on the reference base, whose loop is
// `run_cycle(); wait(collection_interval)`; the run_cycle() override calls super().run_cycle() and then
// _write_textfile(), so the node_exporter textfile is written after the first cycle and rewritten after each
// one (its cycle counter grows), and SIGTERM still ends it with exit status 0. Before the fix run() stayed for
// review: no run_forever(), nothing of this ran on the base. Validation's own check cannot tell: the legacy
// run writes the same file.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { migratedCase, recordingRegistry, removeRoots, startOnBase } from './helpers/python-hardened.js';

afterAll(removeRoots);

/** SIGTERM, as a service manager stops the agent (SIGKILL after 10 s): its exit code. */
async function terminated(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

const cyclesIn = (text: string) => Number(/^amoskys_kmod_cycles_total (\d+)$/m.exec(text)?.[1] ?? NaN);

it("run()'s per-cycle textfile write after the publish runs after every cycle of the base, from run_cycle()", async () => {
  const { root, v2 } = await migratedCase('kmod-textfile-each-cycle');
  const modules = path.join(root, 'proc/modules');
  mkdirSync(path.dirname(modules), { recursive: true });
  writeFileSync(modules, 'ext4 1007616 2 - Live 0x0000000000000000\nusb_storage 81920 0 - Live 0x0000000000000000\n');
  const prom = path.join(root, 'textfile', 'kmod_agent.prom');
  const paths: string[] = [];
  const { server, url } = await recordingRegistry(paths);
  try {
    const { child, exited, output: log } = startOnBase(root, v2, url, {
      EVENTBUS_URL: 'http://127.0.0.1:9',
      KMOD_FILE: modules,
      KMOD_SPOOL: path.join(root, 'data/spool/kmod_agent.jsonl'),
      KMOD_TEXTFILE_DIR: path.join(root, 'textfile'),
      KMOD_INTERVAL: '30',
      COLLECTION_INTERVAL: '0.3',
    });
    const end = Date.now() + 20_000;
    while (Date.now() < end && child.exitCode === null && !existsSync(prom)) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(prom), log()).toBe(true);
    const first = readFileSync(prom, 'utf8');
    expect(first).toContain('amoskys_kernel_modules 2\n');
    expect(first).toContain('amoskys_kernel_watched_modules 1\n');
    // Rewritten after later cycles: the counter the cycle keeps grows in the file.
    await new Promise((r) => setTimeout(r, 1500));
    expect(cyclesIn(readFileSync(prom, 'utf8')), log()).toBeGreaterThan(cyclesIn(first));
    expect(child.exitCode, log()).toBeNull();
    const code = await terminated(child, exited);
    expect(code, log()).toBe(0);
  } finally {
    server.close();
  }
}, 90_000);

// The loop's log lines over what the cycle answered, before its publish (pkg-watched-log-in-run), are written
// by the collect_data() built from the loop: a watched package installed while the migrated agent runs on the
// base gives its ERROR line. Before the fix run() stayed for review and nothing ran on the base.
it("run()'s log lines over the cycle's answer before its publish are still written on the base, from collect_data()", async () => {
  const { root, v2 } = await migratedCase('pkg-watched-log-in-run');
  const status = path.join(root, 'var/lib/dpkg/status');
  mkdirSync(path.dirname(status), { recursive: true });
  writeFileSync(status, 'Package: bash\nStatus: install ok installed\nVersion: 5.2-1\n\n');
  const paths: string[] = [];
  const { server, url } = await recordingRegistry(paths);
  try {
    const { child, exited, output: log } = startOnBase(root, v2, url, {
      EVENTBUS_URL: 'http://127.0.0.1:9',
      PKG_STATUS_FILE: status,
      PKG_INTERVAL: '1',
      COLLECTION_INTERVAL: '0.3',
    });
    let end = Date.now() + 20_000;
    while (Date.now() < end && child.exitCode === null && !paths.includes('POST /register')) await new Promise((r) => setTimeout(r, 100));
    expect(paths, log()).toContain('POST /register');
    await new Promise((r) => setTimeout(r, 800));
    expect(log()).not.toContain('watched package installed');
    writeFileSync(status, 'Package: bash\nStatus: install ok installed\nVersion: 5.2-1\n\nPackage: nmap\nStatus: install ok installed\nVersion: 7.93-1\n\n');
    end = Date.now() + 10_000;
    while (Date.now() < end && child.exitCode === null && !log().includes('watched package installed: nmap 7.93-1')) await new Promise((r) => setTimeout(r, 100));
    expect(log()).toMatch(/ERROR \[pkg_agent\] watched package installed: nmap 7\.93-1/);
    const code = await terminated(child, exited);
    expect(code, log()).toBe(0);
  } finally {
    server.close();
  }
}, 90_000);

// The legacy loop's own cycle counter after collect() (authlog-run-counts-cycles: `self.cycles += 1` then the
// "cycle done #%d" line the on-call check greps) runs from the run_cycle() override: once per cycle of the
// base, so the numbers in the agent's own log go 1, 2, 3 ... with no gap or repeat, and the "stopped after %d
// cycles" line shutdown() writes on SIGTERM counts them. Before the fix run() stayed for review (no _v2).
it("run()'s cycle counter after collect() counts each cycle of the base once, from run_cycle()", async () => {
  const { root, v2 } = await migratedCase('authlog-run-counts-cycles');
  const authLog = path.join(root, 'var/log/auth.log');
  mkdirSync(path.dirname(authLog), { recursive: true });
  writeFileSync(authLog, 'Dec  4 10:00:00 host sshd[1]: Failed password for root from 10.0.0.9 port 22 ssh2\n');
  const agentLog = path.join(root, 'logs/authlog_agent.log');
  const paths: string[] = [];
  const { server, url } = await recordingRegistry(paths);
  const numbers = () => [...(existsSync(agentLog) ? readFileSync(agentLog, 'utf8') : '').matchAll(/cycle done #(\d+) failed_total=/g)].map((m) => Number(m[1]));
  try {
    const { child, exited, output: log } = startOnBase(root, v2, url, {
      EVENTBUS_ADDRESS: '127.0.0.1:9',
      AUTHLOG_AGENT_LOG: agentLog,
      AUTHLOG_FILE: authLog,
      AUTHLOG_QUEUE_PATH: path.join(root, 'data/queue/authlog.db'),
      COLLECTION_INTERVAL: '0.2',
    });
    const end = Date.now() + 20_000;
    while (Date.now() < end && child.exitCode === null && numbers().length < 3) await new Promise((r) => setTimeout(r, 100));
    const seen = numbers();
    expect(seen.length, log()).toBeGreaterThanOrEqual(3);
    expect(seen, log()).toEqual(seen.map((_, i) => i + 1));
    const code = await terminated(child, exited);
    expect(code, log()).toBe(0);
    const last = numbers().at(-1)!;
    expect(readFileSync(agentLog, 'utf8'), log()).toContain(`authlog agent stopped after ${last} cycles`);
  } finally {
    server.close();
  }
}, 90_000);

// The legacy loop's own cycle counter BEFORE collect() (nfs-sigusr1-dump-cycle-counter: `self.cycle += 1` opening
// each loop turn, read by a SIGUSR1 state dump and by the "stopped after %d cycles" line) opens collect_data():
// the dump the on-call runbook asks for with SIGUSR1 carries a cycle number that grows with the base's cycles,
// and shutdown() counts them on SIGTERM. Before the fix run() stayed for review (no _v2, nothing ran on the base).
it("run()'s cycle counter before collect() counts each cycle of the base, read by a SIGUSR1 dump", async () => {
  const { root, v2 } = await migratedCase('nfs-sigusr1-dump-cycle-counter');
  const dump = path.join(root, 'nfs_state.json');
  const paths: string[] = [];
  const { server, url } = await recordingRegistry(paths);
  const cycleOf = async (): Promise<number> => {
    rmSync(dump, { force: true });
    child.kill('SIGUSR1');
    const end = Date.now() + 10_000;
    while (Date.now() < end && !existsSync(dump)) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 100));
    return JSON.parse(readFileSync(dump, 'utf8')).cycle as number;
  };
  const { child, exited, output: log } = startOnBase(root, v2, url, {
    // The recording server takes the reports too (it answers 200 to every path): no retry pauses the cycles.
    EVENTBUS_URL: `${url}/v1/events`,
    NFS_INTERVAL: '30s',
    NFS_STATE_DUMP: dump,
    COLLECTION_INTERVAL: '0.2',
  });
  try {
    const end = Date.now() + 20_000;
    while (Date.now() < end && child.exitCode === null && !paths.includes('POST /register')) await new Promise((r) => setTimeout(r, 100));
    expect(paths, log()).toContain('POST /register');
    const first = await cycleOf();
    expect(first, log()).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 1200));
    const later = await cycleOf();
    expect(later, log()).toBeGreaterThan(first);
    expect(paths, log()).toContain('POST /v1/events');
    expect(child.exitCode, log()).toBeNull();
    const code = await terminated(child, exited);
    expect(code, log()).toBe(0);
    expect(log()).toMatch(/nfs agent stopped after (\d+) cycles/);
    expect(Number(/nfs agent stopped after (\d+) cycles/.exec(log())![1])).toBeGreaterThanOrEqual(later);
  } finally {
    server.close();
  }
}, 90_000);

// The legacy loop's count of GOOD cycles (sysctl-try-counts-good-cycles: `try: self.collect(); self.cycles += 1
// except Exception: log`) ends collect_data() now, before its return: on the base a cycle whose collection raises
// (a malformed benchmark file, for a while) is still not counted, one that returns is, so the "stopped after %d
// good cycles" line shutdown() writes on SIGTERM equals the cycles that logged their keys, and is fewer than the
// cycles the base ran. Before the fix run() stayed for review (no _v2 written).
it("run()'s count of the cycles whose collect() returned counts only those on the base, from the end of collect_data()", async () => {
  const { root, v2 } = await migratedCase('sysctl-try-counts-good-cycles');
  const sys = path.join(root, 'proc/sys');
  mkdirSync(path.join(sys, 'net/ipv4'), { recursive: true });
  writeFileSync(path.join(sys, 'net/ipv4/ip_forward'), '1\n');
  const benchmark = path.join(root, 'etc/sysctl_benchmark.json');
  mkdirSync(path.dirname(benchmark), { recursive: true });
  const good = '{"net/ipv4/ip_forward": "0"}\n';
  writeFileSync(benchmark, good);
  const paths: string[] = [];
  const { server, url } = await recordingRegistry(paths);
  const { child, exited, output: log } = startOnBase(root, v2, url, {
    // The recording server takes the batches too (200 to every path): no retry pauses the cycles.
    EVENTBUS_URL: url,
    SYSCTL_ROOT: sys,
    SYSCTL_BENCHMARK: benchmark,
    COLLECTION_INTERVAL: '0.2',
  });
  const count = (re: RegExp) => (log().match(re) ?? []).length;
  const until = async (ok: () => boolean) => {
    const end = Date.now() + 20_000;
    while (Date.now() < end && child.exitCode === null && !ok()) await new Promise((r) => setTimeout(r, 50));
  };
  try {
    await until(() => count(/1 keys read, 1 events/g) >= 2);
    writeFileSync(benchmark, '{"net/ipv4/ip_forward": ');
    await until(() => count(/collect_data failed/g) >= 2);
    writeFileSync(benchmark, good);
    const before = count(/1 keys read, 1 events/g);
    await until(() => count(/1 keys read, 1 events/g) >= before + 2);
    expect(child.exitCode, log()).toBeNull();
    const code = await terminated(child, exited);
    expect(code, log()).toBe(0);
    const stopped = /sysctl drift agent stopped after (\d+) good cycles/.exec(log());
    expect(stopped, log()).not.toBeNull();
    const failed = count(/collect_data failed/g);
    expect(failed, log()).toBeGreaterThanOrEqual(2);
    expect(Number(stopped![1]), log()).toBe(count(/1 keys read, 1 events/g));
    expect(paths.some((p) => p === 'POST /publish'), log()).toBe(true);
  } finally {
    server.close();
  }
}, 90_000);

// Per-cycle work before the cycle in a legacy run() loop (inventory-reload-before-cycle: the INI inventory
// re-read when its mtime changed, before `try: self.collect()`) runs from the run_cycle() override before
// super().run_cycle(): started on the base with an empty inventory, the agent picks up a target written while
// it runs and probes it each cycle (DOWN after 3 failed probes). Before the fix run() stayed for review (no
// _v2); had the call been dropped, the target would never be probed.
it("run()'s per-cycle inventory re-read before collect() runs before every cycle of the base, from run_cycle()", async () => {
  const { root, v2 } = await migratedCase('inventory-reload-before-cycle');
  const inventory = path.join(root, 'inventory.ini');
  writeFileSync(inventory, '# rewritten by the CMDB export\n');
  const paths: string[] = [];
  const { server, url } = await recordingRegistry(paths);
  try {
    const { child, exited, output: log } = startOnBase(root, v2, url, {
      EVENTBUS_ADDRESS: '127.0.0.1:9',
      REACH_INVENTORY: inventory,
      REACH_QUEUE_PATH: path.join(root, 'data/queue/reach.db'),
      REACH_CONNECT_TIMEOUT: '0.2',
      COLLECTION_INTERVAL: '0.2',
    });
    let end = Date.now() + 20_000;
    while (Date.now() < end && child.exitCode === null && !paths.includes('POST /register')) await new Promise((r) => setTimeout(r, 100));
    expect(paths, log()).toContain('POST /register');
    await new Promise((r) => setTimeout(r, 600));
    expect(log()).toContain('no targets in inventory, nothing to probe');
    writeFileSync(inventory, '[late_target]\nhost = 127.0.0.1\nport = 9\n');
    end = Date.now() + 10_000;
    while (Date.now() < end && child.exitCode === null && !log().includes('unreachable: late_target')) await new Promise((r) => setTimeout(r, 100));
    expect(log()).toContain('inventory loaded: 1 targets (0 removed)');
    expect(log()).toContain('unreachable: late_target');
    const code = await terminated(child, exited);
    expect(code, log()).toBe(0);
  } finally {
    server.close();
  }
}, 90_000);
