// `migrate check-config`: startup configs against the schema, the file system, each
// other and the code. Exit 1 on errors (0 with --warn, the seed's migration path).
import { checkStartupConfigs } from '../config/check.js';
import { withListingKept } from '../discover/files.js';
import { schemaText } from '../config/schema.js';
import { configFindingCounts, configFindingsJson, configFindingsText } from '../report/config-findings.js';
import { colours } from '../report/terminal.js';
import { commandProfile, resolveRoot, type CommonFlags } from './common.js';
import { io } from '../core/invocation.js';

export interface CheckConfigOptions extends CommonFlags {
  profile?: string;
  warn?: boolean;
  json?: boolean;
  schema?: boolean;
}

export async function checkConfigCommand(opts: CheckConfigOptions): Promise<number> {
  if (opts.schema) {
    io.stdout.write(schemaText());
    return 0;
  }
  const root = resolveRoot(opts);
  // The profile's detection, the search for startup configs and the scan read one listing of the root (nothing is written).
  const result = await withListingKept(() => checkStartupConfigs(root, { profile: commandProfile(opts, root).profile }));
  io.stdout.write(opts.json ? configFindingsJson(result) : configFindingsText(result, colours(), { warn: opts.warn }));
  return configFindingCounts(result).error > 0 && !opts.warn ? 1 : 0;
}
