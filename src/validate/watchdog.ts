// The tool's side of the watchdog (watchdog-main.ts): started on the first agent a
// command starts, told about every agent tree, never keeping the tool alive. Only the
// compiled tool has one (under a TypeScript test runner the file cannot run).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { onGroupChange, type TreeRecord } from './process-group.js';

const mainFile = fileURLToPath(new URL('./watchdog-main.js', import.meta.url));
let child: ChildProcess | undefined;
let unsubscribe: (() => void) | undefined;

function send(msg: object): void {
  if (!child) {
    child = spawn(process.execPath, [mainFile], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => (child = undefined));
    child.stdin!.on('error', () => {});
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
  }
  child.stdin!.write(`${JSON.stringify(msg)}\n`);
}

/** Start watching this process's agent trees (idempotent). */
export function enableWatchdog(): void {
  if (unsubscribe || !existsSync(mainFile)) return;
  unsubscribe = onGroupChange((tree: TreeRecord, live: boolean) => {
    send(live ? { op: 'track', tree } : { op: 'untrack', mark: tree.mark });
  });
}
