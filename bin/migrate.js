#!/usr/bin/env node
// Thin launcher: the CLI is compiled from src/cli.ts by `npm run build`. `npm install -g .`
// and `npm link` link this folder, so its own node_modules/ and dist/ are what run.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const home = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const missing = !existsSync(path.join(home, 'node_modules', 'commander')) ? 'its dependencies are not installed' : !existsSync(path.join(home, 'dist', 'src', 'cli.js')) ? 'it is not built' : null;
if (missing) {
  process.stderr.write(`migrate: ${missing} in ${home}; run \`npm install && npm run build\` there first\n`);
  process.exit(2);
}
// A reader that stops early (`migrate diff X | head`, `status | grep -m1`) closes the pipe: the rest of the
// output has nowhere to go, which is not the command's failure (git and grep say nothing either), and a
// command that writes files goes on cleaning up rather than dying of the write with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code !== 'EPIPE') throw err;
  });
}
// Ctrl-C while the CLI loads its modules (a second or more) says so and exits 130, not silently.
// Run from a git hook (GIT_DIR set), every git command would act on the hook's repository, not the one
// each command works in (src/record/git-env.ts).
const { dropRepositoryGitEnv } = await import('../dist/src/record/git-env.js');
dropRepositoryGitEnv();
const { guardStartupSignals } = await import('../dist/src/core/startup-signals.js');
guardStartupSignals();
const { main } = await import('../dist/src/cli.js');
process.exitCode = await main(process.argv.slice(2));
