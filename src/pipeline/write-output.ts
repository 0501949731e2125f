// The `_v2` file is written atomically: a temporary file in the same folder, then a
// rename, so an interruption leaves either the whole file or none of it. The caller
// learns the temporary name before it exists (the run journal records it, so a crash
// in the middle of the write leaves nothing the next run does not remove).
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The temporary name the output is written under before the rename. */
export function tempPathOf(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
}

export function writeOutputAtomic(file: string, data: string | Uint8Array, beforeTemp?: (tmp: string) => void): void {
  const tmp = tempPathOf(file);
  beforeTemp?.(tmp);
  try {
    writeFileSync(tmp, data, { flag: 'wx' });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
