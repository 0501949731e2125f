// The default way to start a Python agent: the machine's python3 with the
// repository root on PYTHONPATH (so `from common.core.base_agent import ...` resolves).
import type { LaunchCommand } from '../pipeline/language.js';

/** Per environment, per repository root: the interpreter python3 names there. */
const interpreters = new WeakMap<object, Map<string, Promise<string>>>();

/**
 * The interpreter `python3` starts in `root` under `env`, asked once. A version manager's
 * shim (pyenv's is a shell script choosing the version at every start) cost 0.2 s of CPU
 * per start on a quiet machine and seconds on a loaded one, taken out of the agent's short
 * baseline window; the interpreter it picks is the same one for every agent of the run.
 * Plain `python3` when it cannot be asked: the start then fails the usual way ("not found").
 */
export function python3In(root: string, env: Record<string, string | undefined> = process.env): Promise<string> {
  let byRoot = interpreters.get(env);
  if (!byRoot) interpreters.set(env, (byRoot = new Map()));
  let exe = byRoot.get(root);
  if (!exe) {
    // execa loaded here, when an agent is started: a scan never does (some 100 modules).
    exe = import('execa')
      .then(({ execa }) => execa('python3', ['-c', 'import sys; print(sys.executable)'], { cwd: root, env, extendEnv: false, reject: false, timeout: 30_000 }))
      .then(
      (r) => {
        const out = r.exitCode === 0 ? String(r.stdout).trim() : '';
        return out.startsWith('/') ? out : 'python3';
      },
      () => 'python3',
    );
    byRoot.set(root, exe);
  }
  return exe;
}

export async function pythonLaunch(root: string, file: string, env: Record<string, string | undefined> = process.env): Promise<LaunchCommand> {
  const inherited = process.env.PYTHONPATH;
  return {
    command: await python3In(root, env),
    args: [file],
    env: {
      PYTHONPATH: inherited ? `${root}:${inherited}` : root,
      // Unbuffered output: the log check must see every line even when the agent is killed.
      PYTHONUNBUFFERED: '1',
      // Validation must not leave __pycache__ folders in the repository.
      PYTHONDONTWRITEBYTECODE: '1',
    },
  };
}
