// Base migration units of seed 001 (hardened-agent-base) on real git repositories: a family helper
// (SourceAgent, WatcherAgent) and the agents subclassing it, with or without a class between, are
// one unit; its cycle is handed to HardenedAgentBase (collect() -> collect_data()) when nothing
// blocks it, each agent validated at runtime against the fake EventBus, one commit, promote and
// revert as one; else refused naming each blocker's line. Home-made bases of seed 000's shape:
// test/base-units.test.ts (same helpers, test/helpers/base-units.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliInProcess, commitAll, git, gitRepo } from './helpers/cli.js';
import { cases as hardenedCases, materialize as materializeHardened } from './helpers/python-hardened.js';
import { hardenedFleet, SEED001_VALIDATION, parsed, roots } from './helpers/base-units.js';

describe('base migration units, seed 001', () => {
  it("a family helper whose cycle is abstract (def collect(self): raise NotImplementedError) and whose publish counts self.published, which HostSensorAgent.status() reads, migrates as one unit: the count keeps counting on the _v2", async () => {
    const root = hardenedFleet('source-agent-family-abstract-collect');
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const unit = scan.units!.find((u) => u.name === 'SourceAgent')!;
    // Before: refused, HostSensorAgent (host_sensor_agent.py:105) reading self.published, which moving the
    // publish into HardenedAgentBase's publisher would stop, beside the abstract cycle and each collect().
    expect([unit.status, unit.blockers]).toEqual(['ready', []]);
    expect(unit.members.map((m) => `${m.class} ${m.file}:${m.line}`)).toEqual([
      'HostSensorAgent amoskys/agents/sensors/host_sensor_agent.py:87',
      'MountUsageAgent amoskys/agents/sensors/mount_usage_agent.py:26',
    ]);
    expect(unit.cycle).toMatchObject({ method: 'collect', line: 63, publish: '_publish_telemetry', loop: 'run', param: 'interval', value: '30' });
    const r = await cliInProcess(root, ['run', '--all', '--json', '--profile', 'hardened-agent-base'], SEED001_VALIDATION);
    const done = parsed('run', r.stdout).units!.find((u) => u.name === 'SourceAgent')!;
    expect([done.status, done.error ?? null], r.stdout).toEqual(['migrated', null]);
    const base = readFileSync(path.join(root, 'amoskys/agents/common/source_agent_v2.py'), 'utf8');
    expect(base).toContain('    def _publish_with_retry(self, events):\n');
    expect(base).toContain('            self.published += len(events)\n');
    // The record names the abstract method as removed, and nothing of the stand-in the preview used.
    const record = readFileSync(path.join(root, 'migration-log/SourceAgent.json'), 'utf8');
    expect(JSON.parse(record).removed).toContain('collect');
    expect(record).not.toContain('_subclass_cycle');
    // The operator's status keeps counting what was published: a cycle on the _v2 with a publisher taking every batch.
    const probe = [
      'import sys, os',
      'sys.path.insert(0, os.getcwd())',
      'from amoskys.agents.sensors.host_sensor_agent_v2 import HostSensorAgent',
      'class Bus:',
      '    def publish(self, events): pass',
      'a = HostSensorAgent(queue_path="data/probe.db")',
      'a.eventbus_publisher = Bus()',
      'a.run_cycle(); a.run_cycle()',
      'print(a.status()["published"])',
    ].join('\n');
    const out = spawnSync('python3', ['-c', probe], { cwd: root, encoding: 'utf8', env: { ...process.env, SENSOR_PROC_ROOT: '/proc' } });
    expect(out.stderr.split('\n').filter((l) => /Traceback|Error/.test(l))).toEqual([]);
    expect(out.stdout.trim()).toBe('2');
  }, 300_000);

  it("seed 001: the SourceAgent family (abstract collect(), three agents publishing through _publish_telemetry() in files of their own) migrates as one unit: each agent's collect() handed to collect_data(), each _v2 validated at runtime, one commit, a second run unchanged, revert restores the tree", async () => {
    const root = hardenedFleet('source-agent-family-unit-migrates');
    const head = git(root, ['rev-parse', 'HEAD']);
    const base = 'amoskys/agents/common/source_agent.py';
    const agents = ['amoskys/agents/sensors/host_sensor_agent.py', 'amoskys/agents/sensors/mount_usage_agent.py', 'amoskys/agents/sensors/net_dev_agent.py'];
    // Before: refused, the abstract cycle, each agent's collect() and entry point named as by-hand work.
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const ready = scan.units!.find((u) => u.name === 'SourceAgent')!;
    expect([ready.status, ready.blockers]).toEqual(['ready', []]);
    expect(ready.cycle).toMatchObject({ method: 'collect', publish: '_publish_telemetry', loop: 'run', value: '30', keyword: 'collection_interval', hook: 'collect_data', runForever: 'run_forever' });
    expect(ready.reason).toContain("one _v2 per agent importing it (its collect() handed to HardenedAgentBase as collect_data() returning what it published through _publish_telemetry(), its entry point constructing it with collection_interval and calling run_forever())");
    const r = await cliInProcess(root, ['run', '--all', '--json', '--profile', 'hardened-agent-base'], SEED001_VALIDATION);
    const unit = parsed('run', r.stdout).units!.find((u) => u.name === 'SourceAgent')!;
    expect([unit.status, unit.error ?? null], r.stdout).toEqual(['migrated', null]);
    const v2 = (f: string) => f.replace(/\.py$/, '_v2.py');
    expect(unit.files).toEqual([v2(base), ...agents.map(v2)]);
    // Each agent's _v2 ran on the base's _v2: health, registry, metrics, the bus (queued while it was down, drained after), clean shutdown.
    for (const cls of ['HostSensorAgent', 'MountUsageAgent', 'NetDevAgent']) {
      const report = unit.validation![cls]!;
      expect(report.checks.filter((k) => !k.ok && !k.skipped).map((k) => `${k.name}: ${k.detail}`), cls).toEqual([]);
      expect(report.checks.filter((k) => k.ok).map((k) => k.name), cls).toEqual(expect.arrayContaining(['health', 'registry', 'metrics', 'eventbus', 'shutdown']));
    }
    expect(git(root, ['rev-list', '--count', `${head}..HEAD`])).toBe('1');
    expect(git(root, ['show', '--name-only', '--format=', 'HEAD']).split('\n').filter(Boolean).sort()).toEqual([...unit.files!, 'migration-log/SourceAgent.json'].sort());
    const text = (f: string) => readFileSync(path.join(root, f), 'utf8');
    // The base: publish in EventBusPublisher, loop and stand-in gone, each agent named by its own class.
    expect(text(v2(base))).toContain('class SourceAgent(HardenedAgentBase):');
    expect(text(v2(base))).toContain('super().__init__(agent_name=type(self).__name__, **kwargs)');
    expect(text(v2(base))).not.toMatch(/_subclass_cycle|def collect|def run\(|signal\.signal/);
    // Each agent: collect_data() returning what it published, **kwargs to the base, its interval to the constructor.
    expect(text(v2(agents[0]!))).toContain('        return [telemetry]\n');
    expect(text(v2(agents[0]!))).toContain('    agent = HostSensorAgent(collection_interval=float(os.environ.get("SENSOR_INTERVAL", "30")))\n    agent.run_forever()\n');
    expect(text(v2(agents[1]!))).toContain('    MountUsageAgent(collection_interval=30).run_forever()\n');
    expect(text(v2(agents[2]!))).toContain('    def __init__(self, queue_path=QUEUE_PATH, skip=SKIP, **kwargs):\n        super().__init__(queue_path, **kwargs)\n');
    expect(text(v2(agents[2]!))).toContain('.split(","), collection_interval=float(os.environ.get("NETDEV_INTERVAL", "30"))).run_forever()');
    for (const f of agents) expect(text(v2(f)), f).not.toMatch(/def collect\(|_publish_telemetry/);
    // A second run changes nothing.
    const again = parsed('run', (await cliInProcess(root, ['run', '--all', '--json', '--profile', 'hardened-agent-base'])).stdout).units!.find((u) => u.name === 'SourceAgent')!;
    expect(again.status).toBe('unchanged');
    expect(git(root, ['rev-list', '--count', `${head}..HEAD`])).toBe('1');
    // The record warns of the helper's signal line the rewrite dropped (its words are not the base's).
    expect(JSON.parse(text('migration-log/SourceAgent.json')).warnings).toContain('_on_term() (the signal handler) removed: its log line naming the signal, logger.info("%s: signal %d, stopping", self.name, signum) (line 32), is replaced by HardenedAgentBase\'s own line for the signal it receives, in the base\'s words: change a log search or script that matches the legacy\'s');

    // promote (replace): each agent's _v2 is more than its file with another import (its cycle handed to the
    // target), so its file takes the _v2's validated content, importing the base from the base's path again.
    // Before: refused ("differs ... by more than importing SourceAgent"), so a unit with no startup config
    // could not be promoted at all. A module importing an agent's module would meet a changed class: refused.
    mkdirSync(path.join(root, 'tools'), { recursive: true });
    writeFileSync(path.join(root, 'tools/sensor_status.py'), 'import json\n\nfrom amoskys.agents.sensors.host_sensor_agent import HostSensorAgent\n\nprint(json.dumps(HostSensorAgent().status()))\n');
    commitAll(root, 'operator tool: print the host sensor status');
    const refused = await cliInProcess(root, ['promote', 'SourceAgent', '--mode', 'replace']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr.trim()).toBe(`migrate: cannot promote base migration unit SourceAgent: tools/sensor_status.py:3 imports ${agents[0]}, whose class HostSensorAgent replace would change beyond its import (${v2(agents[0]!)}: its cycle handed to the target), which only its own entry point was validated with; promote with --mode script_path`);
    git(root, ['rm', '-q', 'tools/sensor_status.py']);
    git(root, ['commit', '-q', '-m', 'operator tool moved to the ops repository']);
    const promote = await cliInProcess(root, ['promote', 'SourceAgent', '--mode', 'replace', '--json']);
    expect(promote.exitCode, promote.stderr).toBe(0);
    expect(text(base)).toBe(git(root, ['show', `${unit.commit}:${v2(base)}`]) + '\n');
    for (const f of unit.files!) expect(existsSync(path.join(root, f)), f).toBe(false);
    for (const f of agents) expect(text(f), f).toBe(git(root, ['show', `${unit.commit}:${v2(f)}`]).replace('from amoskys.agents.common.source_agent_v2 import', 'from amoskys.agents.common.source_agent import') + '\n');
    expect(git(root, ['log', '-1', '--format=%B'])).toContain(`${agents.join(', ')} hold their validated _v2 content, the cycle handed to HardenedAgentBase`);
    // What is started now runs: each agent's own file on the promoted base.
    const after = await cliInProcess(root, ['validate', ...agents, '--json'], SEED001_VALIDATION);
    expect(after.exitCode, after.stderr + after.stdout).toBe(0);
    // revert: the promotion, then the migration; the tree is the one before the unit (and the tool's two commits).
    expect((await cliInProcess(root, ['revert', 'SourceAgent'])).exitCode).toBe(0);
    for (const f of unit.files!) expect(existsSync(path.join(root, f)), f).toBe(true);
    expect((await cliInProcess(root, ['revert', 'SourceAgent'])).exitCode).toBe(0);
    expect(git(root, ['diff', '--name-only', head, 'HEAD']).split('\n').filter(Boolean).every((f) => f.startsWith('migration-log/reverts/SourceAgent-'))).toBe(true);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 400_000);

  it("seed 001: a class between the family helper and its agents (PolledSource: a proc root and read_proc()) moves with the handed cycle: its members kept, its __init__ handing the target's keywords on; each agent validated on it, one commit, promote (replace) and revert as one", async () => {
    const root = hardenedFleet('source-agent-polled-middle-class-migrates');
    const head = git(root, ['rev-parse', 'HEAD']);
    const base = 'amoskys/agents/common/source_agent.py';
    const middle = 'amoskys/agents/common/polled_source.py';
    const agents = ['amoskys/agents/sensors/host_sensor_agent.py', 'amoskys/agents/sensors/mount_usage_agent.py', 'amoskys/agents/sensors/net_dev_agent.py'];
    const v2 = (f: string) => f.replace(/\.py$/, '_v2.py');
    const text = (f: string) => readFileSync(path.join(root, f), 'utf8');
    // Before: refused for the class between (the by-hand shape: the abstract cycle, each agent's collect() and entry point).
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const ready = scan.units!.find((u) => u.name === 'SourceAgent')!;
    expect([ready.status, ready.blockers, ready.middles]).toEqual(['ready', [], [{ class: 'PolledSource', file: middle, line: 16 }]]);
    expect(ready.cycle).toMatchObject({ method: 'collect', hook: 'collect_data', keyword: 'collection_interval' });
    const r = await cliInProcess(root, ['run', '--all', '--json', '--profile', 'hardened-agent-base'], SEED001_VALIDATION);
    const unit = parsed('run', r.stdout).units!.find((u) => u.name === 'SourceAgent')!;
    expect([unit.status, unit.error ?? null], r.stdout).toEqual(['migrated', null]);
    expect(unit.files).toEqual([v2(base), ...agents.map(v2), v2(middle)]);
    for (const cls of ['HostSensorAgent', 'MountUsageAgent', 'NetDevAgent']) {
      const report = unit.validation![cls]!;
      expect(report.checks.filter((k) => !k.ok && !k.skipped).map((k) => `${k.name}: ${k.detail}`), cls).toEqual([]);
    }
    // The middle: its import of the helper's _v2 and **kwargs on to it, every other byte its own.
    expect(text(v2(middle))).toBe(text(middle).replace('from amoskys.agents.common.source_agent import', 'from amoskys.agents.common.source_agent_v2 import')
      .replace('    def __init__(self, queue_path, proc_root=PROC_ROOT):\n        super().__init__(queue_path)\n', '    def __init__(self, queue_path, proc_root=PROC_ROOT, **kwargs):\n        super().__init__(queue_path, **kwargs)\n'));
    expect(text(v2(agents[1]!))).toContain('from amoskys.agents.common.polled_source_v2 import PolledSource\n');
    expect(text(v2(agents[1]!))).toContain('    def __init__(self, queue_path=QUEUE_PATH, proc_root="/proc", **kwargs):\n        super().__init__(queue_path, proc_root=proc_root, **kwargs)\n');
    expect(text(v2(agents[1]!))).toContain('    MountUsageAgent(collection_interval=30).run_forever()\n');
    expect(git(root, ['rev-list', '--count', `${head}..HEAD`])).toBe('1');
    // promote (replace): every file of the unit on its legacy path, the middle's too; each agent's own file runs.
    const promote = await cliInProcess(root, ['promote', 'SourceAgent', '--mode', 'replace', '--json']);
    expect(promote.exitCode, promote.stderr).toBe(0);
    for (const f of unit.files!) expect(existsSync(path.join(root, f)), f).toBe(false);
    expect(text(middle)).toContain('    def __init__(self, queue_path, proc_root=PROC_ROOT, **kwargs):\n');
    expect(text(middle)).toContain('from amoskys.agents.common.source_agent import SourceAgent\n');
    const after = await cliInProcess(root, ['validate', agents[2]!, '--json'], SEED001_VALIDATION);
    expect(after.exitCode, after.stderr + after.stdout).toBe(0);
    expect((await cliInProcess(root, ['revert', 'SourceAgent'])).exitCode).toBe(0);
    expect((await cliInProcess(root, ['revert', 'SourceAgent'])).exitCode).toBe(0);
    expect(git(root, ['diff', '--name-only', head, 'HEAD']).split('\n').filter(Boolean).every((f) => f.startsWith('migration-log/reverts/SourceAgent-'))).toBe(true);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 400_000);

  it('the same class between, publishing a read failure itself (self._publish_telemetry() in read_proc()), keeps the handed unit refused naming that line', async () => {
    const root = hardenedFleet('source-agent-polled-middle-class-migrates');
    const middle = 'amoskys/agents/common/polled_source.py';
    writeFileSync(path.join(root, middle), readFileSync(path.join(root, middle), 'utf8').replace('            self.read_errors += 1\n', '            self.read_errors += 1\n            self._publish_telemetry(self.read_failure(path, e))\n'));
    commitAll(root, 'report unreadable proc files');
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const unit = scan.units!.find((u) => u.name === 'SourceAgent')!;
    expect(unit.status).toBe('refused');
    expect(unit.blockers.map((b) => [b.class, `${b.file}:${b.line}`, b.reason])).toEqual([
      ['PolledSource', `${middle}:29`, `PolledSource (${middle}:29) calls self._publish_telemetry, part of the cycle the unit hands to the target; the unit hands each agent's collect() to collect_data() through it`],
    ]);
  }, 60_000);

  it('seed 001: a class between the family helper and its agents (ScannerAgent implementing collect()) moves with the unit, which stays refused naming its collect() and publish lines', async () => {
    const root = hardenedFleet('source-agent-scanner-middle-class');
    const head = git(root, ['rev-parse', 'HEAD']);
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const unit = scan.units!.find((u) => u.name === 'SourceAgent')!;
    expect(unit.status).toBe('refused');
    expect(unit.middles).toEqual([{ class: 'ScannerAgent', file: 'amoskys/agents/common/scanner_agent.py', line: 15 }]);
    // Before: 'PackageInventoryAgent ... reaches SourceAgent through another class (ScannerAgent)', and nothing else.
    expect(unit.blockers.some((b) => /through another class/.test(b.reason))).toBe(false);
    expect(unit.blockers.map((b) => `${b.file}:${b.line}`)).toEqual([
      'amoskys/agents/common/scanner_agent.py:27',
      'amoskys/agents/common/source_agent.py:32',
      'amoskys/agents/common/source_agent.py:36',
      'amoskys/agents/common/source_agent.py:54',
      'amoskys/agents/common/source_agent.py:63',
      'amoskys/agents/common/source_agent.py:66',
      // The loop's interval: each agent's entry point (the count at line 46 is kept on the agent now).
      'amoskys/agents/inventory/listening_ports_agent.py:36',
      'amoskys/agents/inventory/package_inventory_agent.py:42',
    ]);
    expect(unit.blockers[0]!.reason).toBe('ScannerAgent (amoskys/agents/common/scanner_agent.py:27) implements collect(), publishing through self._publish_telemetry() (line 43): its _v2 must define collect_data() returning a list of what it hands to _publish_telemetry() instead, for HardenedAgentBase to publish (and queue what fails)');
    const middle = scan.skipped!.find((s) => s.file === 'amoskys/agents/common/scanner_agent.py')!;
    expect(middle.unit).toBe('SourceAgent');
    expect(middle.reason).toContain('base migration unit SourceAgent: ScannerAgent stands between SourceAgent and its agents and is refused: ScannerAgent (amoskys/agents/common/scanner_agent.py:27) implements collect()');
    const run = parsed('run', (await cliInProcess(root, ['run', '--all', '--json', '--profile', 'hardened-agent-base'])).stdout);
    expect(run.units!.map((u) => u.status)).toEqual(['refused']);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 120_000);

  it('the same family helper with its cycle marked @abc.abstractmethod (a docstring for a body) is seen as abstract and handed to the agents the same way', async () => {
    const c = hardenedCases.find((x) => x.name === 'source-agent-family-abstract-collect')!;
    const staged = materializeHardened(c);
    roots.push(staged);
    // The method's line the scan keeps is its decorator's: the abstract cycle went unseen, and each agent
    // was told "nothing in HostSensorAgent blocks it" (the base's items only).
    const file = path.join(staged, 'amoskys/agents/common/source_agent.py');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('import os\n', 'import abc\nimport os\n').replace('class SourceAgent:', 'class SourceAgent(abc.ABC):')
      .replace('    def collect(self):\n        raise NotImplementedError\n', '    @abc.abstractmethod\n    def collect(self):\n        """One cycle: read the sources and publish."""\n'));
    // An agent that only sets the count (no read of it) is not told it reads it.
    const mounts = path.join(staged, 'amoskys/agents/sensors/mount_usage_agent.py');
    writeFileSync(mounts, readFileSync(mounts, 'utf8').replace('        self.alerting = set()\n', '        self.alerting = set()\n        self.published = 0\n'));
    const root = gitRepo(staged, 'migrate-unit-');
    roots.push(root);
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const unit = scan.units!.find((u) => u.name === 'SourceAgent')!;
    // The cycle is found past its decorator (the def at line 65), its decorator blanked in the stand-in.
    expect([unit.status, unit.blockers]).toEqual(['ready', []]);
    expect(unit.cycle).toMatchObject({ method: 'collect', line: 65, publish: '_publish_telemetry' });
  });

  it("the family helper's count read by an agent's own cycle (a line logged each cycle) keeps the unit refused: counted after the base publishes, it would read last cycle's", async () => {
    const c = hardenedCases.find((x) => x.name === 'source-agent-family-abstract-collect')!;
    const staged = materializeHardened(c);
    roots.push(staged);
    const mounts = path.join(staged, 'amoskys/agents/sensors/mount_usage_agent.py');
    writeFileSync(mounts, readFileSync(mounts, 'utf8').replace('        events = []\n        for mount in self._mounts():', '        events = []\n        logger.info("%d published so far", self.published)\n        for mount in self._mounts():'));
    const root = gitRepo(staged, 'migrate-unit-');
    roots.push(root);
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const unit = scan.units!.find((u) => u.name === 'SourceAgent')!;
    expect(unit.status).toBe('refused');
    expect(unit.cycle).toBeUndefined();
    expect(unit.blockers.map((b) => `${b.file}:${b.line}`)).toContain('amoskys/agents/sensors/mount_usage_agent.py:41');
  });

  it("seed 001: a family helper whose agents publish from inside their loops and start its run() with their own interval: each agent's entry point is named at its line as what its _v2 must change", async () => {
    const root = hardenedFleet('watcher-agent-family-publish-loop');
    const head = git(root, ['rev-parse', 'HEAD']);
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const unit = scan.units!.find((u) => u.name === 'WatcherAgent')!;
    expect(unit.status).toBe('refused');
    const base = 'amoskys/agents/common/watcher_agent.py';
    const kmod = 'amoskys/agents/devices/kmod_watcher.py';
    const usb = 'amoskys/agents/devices/usb_device_watcher.py';
    expect(unit.blockers.map((b) => `${b.file}:${b.line}`)).toEqual([
      `${base}:32`, `${base}:35`, `${base}:54`, `${base}:63`, `${base}:66`,
      `${kmod}:44`, `${kmod}:62`, `${usb}:41`, `${usb}:58`,
    ]);
    const at = (f: string, line: number) => unit.blockers.find((b) => b.file === f && b.line === line)?.reason ?? '';
    // Before: run()'s item said only 'no entry point constructs WatcherAgent'; the entry points that do start
    // its loop, in the agents' files, were named nowhere.
    expect(at(usb, 58)).toBe(`UsbDeviceWatcher's entry point (${usb}:58: UsbDeviceWatcher().run(interval=float(os.environ.get("USB_INTERVAL", "...) starts WatcherAgent's run() (${base}:66), the loop HardenedAgentBase takes over: its _v2 must pass the interval this call gives to the constructor as collection_interval (WatcherAgent's run() defaults to 15) and call run_forever(), which the unit migration does not write`);
    expect(at(base, 66)).toContain('keeps run (amoskys/agents/common/watcher_agent.py:66) for review: nowhere to pass collection_interval=15 (no entry point constructs WatcherAgent)');
    expect(at(kmod, 44)).toContain('publishing through self._publish_telemetry() (line 51), self._publish_telemetry() (line 55)');
    // No count is read by an agent here: no such blocker.
    expect(unit.blockers.filter((b) => /reads self\./.test(b.reason))).toEqual([]);
    const run = parsed('run', (await cliInProcess(root, ['run', '--all', '--json', '--profile', 'hardened-agent-base'])).stdout);
    expect(run.units!.map((u) => u.status)).toEqual(['refused']);
    expect(git(root, ['rev-parse', 'HEAD'])).toBe(head);
    expect(git(root, ['status', '--porcelain'])).toBe('');
  }, 120_000);

  it("a family helper with a concrete cycle (collect() publishing what its agents' changes() hook returns) kept for its loop's interval names each agent's bare run() entry point", async () => {
    const c = hardenedCases.find((x) => x.name === 'watcher-agent-family-publish-loop')!;
    const staged = materializeHardened(c);
    roots.push(staged);
    const base = 'amoskys/agents/common/watcher_agent.py';
    const edit = (rel: string, fn: (s: string) => string) => writeFileSync(path.join(staged, rel), fn(readFileSync(path.join(staged, rel), 'utf8')));
    edit(base, (s) => s.replace('    def collect(self):\n        raise NotImplementedError("watchers implement collect()")\n',
      '    def changes(self):\n        return []\n\n    def collect(self):\n        events = self.changes()\n        if events:\n            self._publish_telemetry(telemetry_pb2.DeviceTelemetry(\n' +
      '                device_id=self.name, device_type="HOST", protocol="WATCH", timestamp_ns=time.time_ns(), events=events))\n'));
    for (const rel of ['amoskys/agents/devices/kmod_watcher.py', 'amoskys/agents/devices/usb_device_watcher.py']) {
      edit(rel, (s) => s.replace(/    def collect\(self\):[\s\S]*?(?=\n\n\nif __name__)/, '    def changes(self):\n        return [telemetry_pb2.TelemetryEvent(event_type="STATUS", attributes={"host": self.hostname})]')
        .replace(/\.run\(interval=float\(os\.environ\.get\("\w+", "15"\)\)\)/, '.run()'));
    }
    const root = gitRepo(staged, 'migrate-unit-');
    roots.push(root);
    const scan = parsed('scan', (await cliInProcess(root, ['scan', '--json', '--profile', 'hardened-agent-base'])).stdout);
    const unit = scan.units!.find((u) => u.name === 'WatcherAgent')!;
    expect(unit.status).toBe('refused');
    // Before: only the base's 'nowhere to pass collection_interval=15 (no entry point constructs WatcherAgent)'.
    expect(unit.blockers.filter((b) => b.file !== base).map((b) => b.reason)).toEqual([
      "KernelModuleWatcher's entry point (amoskys/agents/devices/kmod_watcher.py:49: KernelModuleWatcher().run()) starts WatcherAgent's run() (amoskys/agents/common/watcher_agent.py:72), the loop HardenedAgentBase takes over: its _v2 must construct it with collection_interval=15 (WatcherAgent's run() default) and call run_forever(), which the unit migration does not write",
      "UsbDeviceWatcher's entry point (amoskys/agents/devices/usb_device_watcher.py:46: UsbDeviceWatcher().run()) starts WatcherAgent's run() (amoskys/agents/common/watcher_agent.py:72), the loop HardenedAgentBase takes over: its _v2 must construct it with collection_interval=15 (WatcherAgent's run() default) and call run_forever(), which the unit migration does not write",
    ]);
  }, 120_000);

});
