// The default way to start a Python agent: the machine's python3 with the
// repository root on PYTHONPATH (so `from common.core.base_agent import ...` resolves).
import type { LaunchCommand } from '../pipeline/language.js';

export async function pythonLaunch(root: string, file: string): Promise<LaunchCommand> {
  const inherited = process.env.PYTHONPATH;
  return {
    command: 'python3',
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
