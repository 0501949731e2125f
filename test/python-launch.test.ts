// The default Python launch asks which interpreter `python3` is once per repository and
// environment, then starts that interpreter directly: a version manager's shim (a shell
// script choosing the version at each start) is not paid again at every agent start.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pythonLaunch } from '../src/validate/python-launch.js';
import { learnPython3 } from '../src/lang/python/python3.js';
import { resetProcessState } from '../src/core/invocation.js';

const real = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('pythonLaunch', () => {
  it('starts the interpreter a python3 shim chose, asking the shim once per repository', async () => {
    const shims = mkdtempSync(path.join(os.tmpdir(), 'migrate-shim-'));
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-shim-root-'));
    temps.push(shims, root);
    const calls = path.join(shims, 'calls');
    writeFileSync(path.join(shims, 'python3'), `#!/bin/sh\necho "$PWD" >> '${calls}'\nexec '${real}' "$@"\n`);
    chmodSync(path.join(shims, 'python3'), 0o755);
    const env = { ...process.env, PATH: `${shims}:${process.env.PATH}` };

    const first = await pythonLaunch(root, 'agents/a_v2.py', env);
    const second = await pythonLaunch(root, 'agents/b_v2.py', env);
    expect(first.command).toBe(real);
    expect(second).toMatchObject({ command: real, args: ['agents/b_v2.py'] });
    expect(first.env?.PYTHONPATH?.split(':')[0]).toBe(root);
    // Asked once, in the repository (where a .python-version would choose the version).
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual([root]);
  });

  it('takes the interpreter the scan learnt in the same directory and environment, without asking python3 again', async () => {
    // What a run's scan learnt (python3.ts): a symlink to the real interpreter, so the answer tells where it came from.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'migrate-learnt-'));
    temps.push(dir);
    const learnt = path.join(dir, 'python3');
    symlinkSync(real, learnt);
    resetProcessState();
    try {
      learnPython3(learnt);
      expect((await pythonLaunch(process.cwd(), 'agents/a_v2.py', { ...process.env })).command).toBe(learnt);
      // Another environment (or another directory) may choose another interpreter: python3 is asked there.
      expect((await pythonLaunch(process.cwd(), 'agents/a_v2.py', { ...process.env, MIGRATE_LAUNCH_TEST: '1' })).command).toBe(real);
      expect((await pythonLaunch(dir, 'agents/a_v2.py', { ...process.env })).command).toBe(real);
    } finally {
      resetProcessState();
    }
  });

  it('keeps plain python3 when none is on the PATH, so the start fails the usual way', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'migrate-nopath-'));
    temps.push(empty);
    const launch = await pythonLaunch(empty, 'agents/a_v2.py', { ...process.env, PATH: empty });
    expect(launch.command).toBe('python3');
  });

  it('runs a package module that imports its siblings relatively as that module, so its imports resolve', async () => {
    // agents/ingest/agent_v2.py of a package started through its __main__.py: `from .config import ...`
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-pkg-root-'));
    temps.push(root);
    mkdirSync(path.join(root, 'agents', 'ingest'), { recursive: true });
    writeFileSync(path.join(root, 'agents', '__init__.py'), '');
    writeFileSync(path.join(root, 'agents', 'ingest', '__init__.py'), '');
    writeFileSync(path.join(root, 'agents', 'ingest', 'config.py'), 'class IngestConfig:\n    PORT = 7130\n');
    writeFileSync(
      path.join(root, 'agents', 'ingest', 'agent_v2.py'),
      'from .config import IngestConfig\n\n\nif __name__ == "__main__":\n    print("port", IngestConfig.PORT)\n',
    );
    writeFileSync(path.join(root, 'agents', 'plain_v2.py'), 'import os\nprint("plain")\n');
    const pkg = await pythonLaunch(root, 'agents/ingest/agent_v2.py');
    expect(pkg.args).toEqual(['-m', 'agents.ingest.agent_v2']);
    const out = execFileSync(pkg.command, pkg.args, { cwd: root, env: { ...process.env, ...pkg.env }, encoding: 'utf8' });
    expect(out.trim()).toBe('port 7130');
    // A file without relative imports is still run as a script.
    expect((await pythonLaunch(root, path.join(root, 'agents', 'plain_v2.py'))).args).toEqual([path.join(root, 'agents', 'plain_v2.py')]);
  });
  it('a src/ layout: the folder the agent\'s own packages are imported from goes on PYTHONPATH after the root, nothing for the rest', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-src-layout-'));
    temps.push(root);
    const agentDir = path.join(root, 'src', 'amoskys', 'agents', 'proc');
    mkdirSync(agentDir, { recursive: true });
    mkdirSync(path.join(root, 'src', 'grpc'));
    mkdirSync(path.join(root, 'common'));
    writeFileSync(path.join(root, 'src', 'grpc', '__init__.py'), '');
    const agent = 'src/amoskys/agents/proc/proc_agent_v2.py';
    writeFileSync(path.join(root, agent), 'import os, grpc\nfrom amoskys.agents.common.base import HardenedAgentBase\n');
    const inherited = process.env.PYTHONPATH;
    const paths = (await pythonLaunch(root, agent)).env!.PYTHONPATH!.split(':');
    expect(paths.slice(0, 2)).toEqual([root, path.join(root, 'src')]);
    // Imports the root holds (common), the standard library's (os): the root alone, as before.
    writeFileSync(path.join(root, agent), 'import os\nfrom common.config import load\n');
    const flat = (await pythonLaunch(root, agent)).env!.PYTHONPATH!;
    expect(flat).toBe(inherited ? `${root}:${inherited}` : root);
  });
  it('an entry point with a required argparse sub-command is started with the one whose branch constructs the agent', async () => {
    // probe-py27: InvoiceBatcher (`serve` / `once`, required=True) and its legacy run both exited 2 on
    // "the following arguments are required: command" and every check failed on the parser.
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-subcommand-'));
    temps.push(root);
    mkdirSync(path.join(root, 'agents'));
    const agent = [
      'import argparse',
      'class InvoiceBatcher:',
      '    def __init__(self, port=7520):',
      '        self.port = port',
      '    def run(self):',
      '        pass',
      'def run_once(spool):',
      '    print("once", spool)',
      'def main(argv=None):',
      '    parser = argparse.ArgumentParser()',
      '    sub = parser.add_subparsers(dest="command", required=True)',
      '    once = sub.add_parser("once", help="one batch and exit")',
      '    once.add_argument("--spool", default="spool")',
      '    serve = sub.add_parser("serve", help="run as a service")',
      '    serve.add_argument("--port", type=int, default=7520)',
      '    args = parser.parse_args(argv)',
      '    if args.command == "once":',
      '        run_once(args.spool)',
      '    elif args.command == "serve":',
      '',
      '        InvoiceBatcher(port=args.port).run()',
      'if __name__ == "__main__":',
      '    main()',
      '',
    ].join('\n');
    writeFileSync(path.join(root, 'agents', 'invoice_batcher_v2.py'), agent);
    expect((await pythonLaunch(root, 'agents/invoice_batcher_v2.py', process.env, 'InvoiceBatcher')).args).toEqual(['agents/invoice_batcher_v2.py', 'serve']);
    // An optional sub-command (the agent runs without one, as LedgerSnapshotAgent's `else:` branch): nothing added.
    writeFileSync(path.join(root, 'agents', 'ledger_v2.py'), agent.replace('dest="command", required=True', 'dest="command"'));
    expect((await pythonLaunch(root, 'agents/ledger_v2.py', process.env, 'InvoiceBatcher')).args).toEqual(['agents/ledger_v2.py']);
    // No branch of a named sub-command constructs the class: nothing to choose.
    expect((await pythonLaunch(root, 'agents/invoice_batcher_v2.py', process.env, 'OtherAgent')).args).toEqual(['agents/invoice_batcher_v2.py']);
  });

  // ScannerBridgeAgent (hands-off): `parser.add_argument("command", choices=["run", "ping"])`, the ping branch
  // returns and the agent is constructed after it. Started bare, the legacy and the _v2 both exited 2.
  it('an entry point with a required positional command is started with the choice that reaches the agent', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-launch-positional-'));
    temps.push(root);
    mkdirSync(path.join(root, 'agents'));
    const entry = (dispatch: string[]) => [
      'import argparse',
      'class ScannerBridgeAgent:',
      '    def run(self):',
      '        pass',
      'def ping(port):',
      '    print(port)',
      'def main():',
      '    parser = argparse.ArgumentParser()',
      '    parser.add_argument("command", choices=["run", "ping"])',
      '    parser.add_argument("--health-port", type=int, default=7711)',
      '    args = parser.parse_args()',
      ...dispatch,
      'if __name__ == "__main__":',
      '    main()',
      '',
    ].join('\n');
    const launch = async (dispatch: string[]) => {
      writeFileSync(path.join(root, 'agents', 'scanner_bridge_v2.py'), entry(dispatch));
      return (await pythonLaunch(root, 'agents/scanner_bridge_v2.py', process.env, 'ScannerBridgeAgent')).args;
    };
    // The other choice's branch ends main(): the agent is what the remaining one starts.
    expect(await launch(['    if args.command == "ping":', '        ping(args.health_port)', '        return', '    ScannerBridgeAgent().run()'])).toEqual(['agents/scanner_bridge_v2.py', 'run']);
    // A branch of its own constructs it.
    expect(await launch(['    if args.command == "ping":', '        ping(args.health_port)', '    elif args.command == "run":', '        ScannerBridgeAgent().run()'])).toEqual(['agents/scanner_bridge_v2.py', 'run']);
    // No branch ends: which choice starts the agent is not told by the code.
    expect(await launch(['    if args.command == "ping":', '        ping(args.health_port)', '    ScannerBridgeAgent().run()'])).toEqual(['agents/scanner_bridge_v2.py']);
    // An optional positional (nargs="?") runs without one: nothing added.
    writeFileSync(path.join(root, 'agents', 'scanner_bridge_v2.py'), entry(['    if args.command == "ping":', '        return', '    ScannerBridgeAgent().run()']).replace('"command", choices', '"command", nargs="?", choices'));
    expect((await pythonLaunch(root, 'agents/scanner_bridge_v2.py', process.env, 'ScannerBridgeAgent')).args).toEqual(['agents/scanner_bridge_v2.py']);
  });
});
