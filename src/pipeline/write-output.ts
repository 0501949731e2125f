// The `_v2` file is written atomically: a temporary file in the same folder, then a
// rename, so an interruption leaves either the whole file or none of it.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function writeOutputAtomic(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text, { encoding: 'utf8', flag: 'wx' });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
