// `node --import ./module-trace.mjs ...`: register the hooks that log every loaded module,
// and on exit add the CommonJS modules (require.cache), which a package may load itself.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

register('./module-trace-hooks.mjs', import.meta.url);
const require = createRequire(import.meta.url);
process.on('exit', () => {
  if (process.env.MIGRATE_MODULE_TRACE) appendFileSync(process.env.MIGRATE_MODULE_TRACE, Object.keys(require.cache).map((f) => `${f}\n`).join(''));
});
