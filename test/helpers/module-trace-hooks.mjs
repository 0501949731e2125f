// Module loader hooks (run on the loader thread): append every module URL Node loads to
// the file named in MIGRATE_MODULE_TRACE, one per line, so a test can see what a command loaded.
import { appendFileSync } from 'node:fs';

export async function load(url, context, nextLoad) {
  if (process.env.MIGRATE_MODULE_TRACE) appendFileSync(process.env.MIGRATE_MODULE_TRACE, `${url}\n`);
  return nextLoad(url, context);
}
