// `migrate promote`: cut a validated, committed agent over to its `_v2` (seed 001's
// "replace {agent}.py with {agent}_v2.py" and "update imports in other modules"), as one
// commit that `migrate revert` undoes before the migration itself. Two modes (from
// .migrate/config.yaml `promote.mode`, or --mode): `replace` moves the `_v2` content onto
// the original path (startup configs keep starting the same path); `script_path` leaves
// both files and switches each startup config entry to the `_v2` file. Configs are edited
// in place (src/config/yaml-edit.ts): every other byte stays.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { MigrateError, UsageError } from '../core/errors.js';
import { TOOL_VERSION } from '../core/version.js';
import { findStartupConfigs, parseStartupConfig, positionOf, resolveScriptPath } from '../discover/startup-config.js';
import { listSourceFiles, withListingKept } from '../discover/files.js';
import { findImporters, findTsImporters, moduleNamespace, tsModuleExports, type ImportUse } from '../analysis/importers.js';
import { decodePythonSource } from '../lang/python/parser.js';
import { loadProfile } from '../profile/profile.js';
import { retargetImports } from '../discover/base-units.js';
import { editScalars, type ScalarEdit } from '../config/yaml-edit.js';
import { readRepoSettings, type PromoteMode } from '../config/settings.js';
import { checkTree, commitAgent, readHistory, TRAILER_PROMOTE, type MigrationHistory } from './git.js';
import type { RunJournal } from '../pipeline/journal.js';
import type { ValidationReport } from '../core/types.js';
import {
  assertAgentName,
  readRecord,
  recordPath,
  sha256,
  writeFileAtomic,
  writeRecord,
  type MigrationRecord,
  type PromotionRecord,
} from './migration-log.js';
import { recalledValidation } from './validation-cache.js';
import { fullyValidated } from './status.js';

const TS_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];

export interface PromoteResult {
  agent: string;
  mode: PromoteMode;
  commit: string;
  /** What the fleet starts now. */
  script: string;
  config_edits: PromotionRecord['config_edits'];
  importers: PromotionRecord['importers'];
  warnings: string[];
  /** A base migration unit's: what each of its agents starts now. */
  members?: Array<{ class: string; script: string }>;
}

interface Change {
  /** Relative to the root. */
  file: string;
  /** New content, or null to delete the file. */
  content: Uint8Array | string | null;
}

/**
 * The committed, validated migration a promotion starts from, or a one-line refusal. `history`:
 * the repository's history as readHistory just gave it, for a caller that asks about many agents
 * before committing anything (three git processes per agent otherwise).
 */
export async function promotable(
  root: string,
  agent: string,
  history?: MigrationHistory,
): Promise<{ record: MigrationRecord; migration: string; validated: PromotionRecord['validated'] }> {
  assertAgentName(agent);
  const h = (history ?? (await readHistory(root))).get(agent);
  if (!h) throw new UsageError(`${agent} was never migrated: promote cuts over a committed migration (migrate run ${agent})`);
  if (!h.active) throw new UsageError(`${agent}'s migration was reverted; there is nothing to promote`);
  if (h.promoted) throw new UsageError(`${agent} is already promoted (commit ${h.promoted.sha.slice(0, 12)} of ${h.promoted.date})`);
  const record = readRecord(root, agent);
  if (!record) throw new UsageError(`${recordPath(agent)} is missing although ${h.active.sha.slice(0, 12)} committed it; restore it first`);
  const { source, output } = record;
  if (!existsSync(path.join(root, output.path))) throw new UsageError(`${output.path} of ${agent} is missing; restore it before promoting`);
  if (sha256(readFileSync(path.join(root, output.path))) !== output.sha256) {
    throw new UsageError(`${output.path} changed since ${agent}'s migration commit; validate and commit it again before promoting`);
  }
  if (!existsSync(path.join(root, source.path)) || sha256(readFileSync(path.join(root, source.path))) !== source.sha256) {
    throw new UsageError(`${source.path} changed since ${agent} was migrated, so its _v2 would drop those changes; migrate it again (migrate run ${agent} --force)`);
  }
  // A base migration unit is promoted as one: the base's _v2 with every agent's, each of which must be
  // as committed and validated (the base itself is not started alone, so its agents' validations are its).
  if (record.unit) return { record, migration: h.active.sha, validated: unitValidated(root, agent, record.unit, record.migrated_at) };
  const recalled = recalledValidation(root, agent, output.path);
  const validated: PromotionRecord['validated'] | null = fullyValidated(record)
    ? { by: 'run', at: record.migrated_at }
    : recalled && fullyValidated({ validation: recalled.report })
      ? { by: 'validate', at: recalled.at }
      : null;
  if (!validated) {
    throw new UsageError(`${agent} is committed but ${output.path} has no passing validation; run migrate validate ${agent} first`);
  }
  return { record, migration: h.active.sha, validated };
}

/**
 * The validation a unit's promotion relies on: every agent's `_v2` as committed (its files unchanged
 * since the unit's commit) with a passing validation, the unit run's own or a later `migrate validate`
 * of the same bytes (then the latest of those). Throws one line naming the agent otherwise.
 */
function unitValidated(root: string, unitName: string, unit: NonNullable<MigrationRecord['unit']>, migratedAt: string): PromotionRecord['validated'] {
  let later: string | null = null;
  // A class between the base and its agents is started by them: its files must be as committed too.
  const files = [...unit.members, ...(unit.middles ?? [])];
  for (const m of files) {
    for (const [what, ref] of [['_v2', m.output], ['legacy file', m.source]] as const) {
      const abs = path.join(root, ref.path);
      if (!existsSync(abs)) throw new UsageError(`${ref.path} (${m.class}'s ${what}) of base migration unit ${unitName} is missing; restore it before promoting`);
      if (sha256(readFileSync(abs)) !== ref.sha256) {
        throw new UsageError(`${ref.path} (${m.class}'s ${what}) changed since base migration unit ${unitName} was committed; migrate the unit again (migrate run ${unitName} --force)`);
      }
    }
    if (!('validation' in m)) continue;
    if (fullyValidated({ validation: m.validation as ValidationReport })) continue;
    const recalled = recalledValidation(root, m.class, m.output.path);
    if (!recalled || !fullyValidated({ validation: recalled.report })) {
      throw new UsageError(`${m.class} of base migration unit ${unitName} has no passing validation of ${m.output.path}; run migrate validate ${unitName} first`);
    }
    if (!later || recalled.at > later) later = recalled.at;
  }
  return later ? { by: 'validate', at: later } : { by: 'run', at: migratedAt };
}

export async function promoteAgent(
  root: string,
  agent: string,
  opts: { mode?: PromoteMode; now?: Date; journal?: RunJournal | null } = {},
): Promise<PromoteResult> {
  // The startup configs' search and each importer check list the root: once for the agent, all of it
  // read before its files are written (a listing is kept for this agent only; the next one lists again).
  return withListingKept(() => promoteAgentIn(root, agent, opts));
}

async function promoteAgentIn(root: string, agent: string, opts: { mode?: PromoteMode; now?: Date; journal?: RunJournal | null }): Promise<PromoteResult> {
  await checkTree(root, [], { allowDirty: true });
  const { record, migration, validated } = await promotable(root, agent);
  const mode = opts.mode ?? readRepoSettings(root).promoteMode;
  const source = record.source.path;
  const output = record.output.path;
  const warnings: string[] = [];
  const changes: Change[] = [];

  // The files promoted: the agent's, or a unit's base then each of its agents.
  const unit = record.unit;
  const pairs: Array<{ label: string; source: string; output: string }> = [
    { label: agent, source, output },
    ...(unit?.members ?? []).map((m) => ({ label: m.class, source: m.source.path, output: m.output.path })),
    ...(unit?.middles ?? []).map((m) => ({ label: m.class, source: m.source.path, output: m.output.path })),
  ];
  // The modules whose importers' _v2 import their _v2: the base's and each middle class's.
  const unitModules = [source, ...(unit?.middles ?? []).map((m) => m.source.path)];
  const unitFiles = new Set(pairs.flatMap((p) => [p.source, p.output]));

  // Startup configs: replace keeps every entry on the original path (an entry that named the
  // _v2 goes back to it); script_path moves the original's entries to the _v2.
  const configEdits: PromotionRecord['config_edits'] = [];
  const started = new Set<string>();
  for (const file of findStartupConfigs(root)) {
    const config = parseStartupConfig(root, file);
    if (config.doc.errors.length) {
      warnings.push(`${config.rel}: not valid YAML, so not checked for ${agent} (see migrate check-config)`);
      continue;
    }
    const edits: ScalarEdit[] = [];
    for (const entry of config.agents) {
      if (!entry.script) continue;
      const rel = resolveScriptPath(root, config.file, entry.script.value, root).rel;
      const pair = pairs.find((p) => (mode === 'replace' ? p.output : p.source) === rel);
      if (!pair) continue;
      const [from, to] = mode === 'replace' ? [pair.output, pair.source] : [pair.source, pair.output];
      const value = retarget(entry.script.value, from, to);
      started.add(pair.label);
      edits.push({ node: entry.script.node, path: [...entry.path, 'script_path'], value });
      configEdits.push({ file: config.rel, line: positionOf(config, entry.script.node).line, agent: entry.name, from: entry.script.value, to: value });
    }
    if (edits.length) changes.push({ file: config.rel, content: editScalars(config.text, edits, config.rel) });
  }
  if (mode === 'script_path') {
    // A unit's base is started by its agents, never by a config entry of its own.
    const unstarted = (unit ? pairs.slice(1, 1 + unit.members.length) : pairs).filter((p) => !started.has(p.label));
    if (unstarted.length) {
      const which = unstarted.map((p) => (unit ? `${p.source} (${p.label})` : p.source)).join(', ');
      throw new UsageError(
        unit
          ? `no startup config starts ${which} of base migration unit ${agent}, so there is no script_path to switch to its _v2; promote with --mode replace`
          : `no startup config starts ${source}, so there is no script_path to switch to ${output}; promote with --mode replace`,
      );
    }
  }

  const outputBytes = readFileSync(path.join(root, output));
  const importers: ImportUse[] = [];
  const usesOf = new Map<string, ImportUse[]>();
  for (const p of pairs) {
    const bytes = p.output === output ? outputBytes : readFileSync(path.join(root, p.output));
    const uses = await checkImporters(root, p.label, record.language, mode, p.source, p.output, bytes, warnings, unitFiles);
    importers.push(...uses);
    usesOf.set(p.source, uses);
    // Replacing a unit's base moves every other module importing it onto the migrated base too, which
    // only the unit's agents were validated on: said, with the line, so a person can look.
    if (unit && mode === 'replace' && p.source === source) {
      for (const u of uses) warnings.push(`${u.file}:${u.line} imports ${u.module}, which now holds ${agent}'s migrated content; only the unit's agents were validated on it`);
    }
  }

  // A unit's files that take their _v2's content on replace, beyond the import (a handed cycle).
  const handed: string[] = [];
  if (mode === 'replace') {
    changes.push({ file: source, content: outputBytes }, { file: output, content: null });
    // A unit's agent's _v2 differs from its legacy file only by importing the base from the base's
    // _v2, which the original path of the base now holds: its legacy file is already its promoted
    // content, and its _v2 goes. Proven here, not assumed: anything else would be lost.
    for (const p of pairs.slice(1)) {
      const legacy = readFileSync(path.join(root, p.source), 'utf8');
      const v2 = readFileSync(path.join(root, p.output), 'utf8');
      if (retargetImports(legacy, p.source, unitModules) !== v2) {
        // An agent's _v2 that holds more than the import (the unit's cycle handed to the target: collect()
        // as collect_data(), its entry point calling run_forever()) is what was validated: its content goes
        // on its legacy path with the import pointing at the base's path again (proven: pointing it back at
        // the _v2 gives the _v2's bytes). Another module importing the agent's module would meet a class
        // whose cycle and loop changed name, which nothing validated: refused, naming its line.
        const promoted = retargetImports(v2, p.output, unitModules, true);
        if (retargetImports(promoted, p.source, unitModules) !== v2) {
          throw new UsageError(`cannot promote base migration unit ${agent}: ${p.output} imports the unit's modules other than as its _v2 import of ${agent} from ${output}, so its content cannot be put on ${p.source}; promote with --mode script_path`);
        }
        const outside = usesOf.get(p.source) ?? [];
        if (outside.length) {
          throw new UsageError(`cannot promote base migration unit ${agent}: ${outside.map((u) => `${u.file}:${u.line}`).join(', ')} import${outside.length === 1 ? 's' : ''} ${p.source}, whose class ${p.label} replace would change beyond its import (${p.output}: its cycle handed to the target), which only its own entry point was validated with; promote with --mode script_path`);
        }
        changes.push({ file: p.source, content: Buffer.from(promoted, 'utf8') });
        handed.push(p.source);
      }
      changes.push({ file: p.output, content: null });
    }
  }
  const at = opts.now ?? new Date();
  const script = mode === 'replace' ? source : output;
  const promotion: PromotionRecord = {
    mode,
    promoted_at: at.toISOString(),
    tool_version: TOOL_VERSION,
    migration_commit: migration,
    script: { path: script, sha256: sha256(outputBytes) },
    ...(mode === 'replace' ? { replaced: record.source, removed: pairs.map((p) => p.output) } : {}),
    ...(unit ? { members: unit.members.map((m) => (mode === 'replace' ? { class: m.class, script: m.source } : { class: m.class, script: m.output })) } : {}),
    config_edits: configEdits,
    importers,
    validated,
    warnings,
  };

  const backups = new Map<string, Buffer | null>();
  const recordFile = recordPath(agent);
  for (const f of [...changes.map((c) => c.file), recordFile]) {
    const abs = path.join(root, f);
    backups.set(f, existsSync(abs) ? readFileSync(abs) : null);
  }
  const restore = () => {
    for (const [f, bytes] of backups) {
      if (bytes === null) rmSync(path.join(root, f), { force: true });
      else writeFileAtomic(path.join(root, f), bytes);
    }
  };
  // The journal keeps the same backups on disk: a promote killed (kill -9, a hang-up) while
  // git commits had left the original overwritten, the _v2 deleted and both staged; the
  // next command now puts them back.
  const touched = [...changes.map((c) => c.file), recordFile];
  const journal = opts.journal;
  journal?.willCreateAll(touched);
  try {
    for (const c of changes) {
      if (c.content === null) rmSync(path.join(root, c.file));
      else writeFileAtomic(path.join(root, c.file), c.content);
    }
    writeRecord(root, { ...record, promotion });
    const members = unit ? ` (${unit.members.map((m) => m.class).join(', ')})` : '';
    const what =
      mode === 'replace'
        ? unit
          ? `${source} now holds the validated ${output} content; ${pairs.map((p) => p.output).join(', ')} are removed (${pairs.slice(1).map((p) => p.source).join(', ')} import ${agent} from ${source} again, as their _v2 did from ${output}${handed.length ? `; ${handed.join(', ')} hold${handed.length === 1 ? 's' : ''} ${handed.length === 1 ? 'its' : 'their'} validated _v2 content, the cycle handed to ${baseClassOf(root, record.profile)}` : ''}).`
          : `${source} now holds the validated ${output} content; ${output} is removed.`
        : `${configEdits.map((e) => `${e.file}:${e.line}`).join(', ')} now start${configEdits.length === 1 ? 's' : ''} ${unit ? pairs.slice(1).map((p) => p.output).join(', ') : output}.`;
    journal?.committing(touched);
    const commit = await commitAgent(root, {
      agent,
      profile: record.profile,
      baseClass: baseClassOf(root, record.profile),
      subject: unit
        ? mode === 'replace'
          ? `migrate(${agent}): promote base migration unit ${agent}${members}: ${output} to ${source}`
          : `migrate(${agent}): start the _v2 of base migration unit ${agent}${members} from the startup config`
        : mode === 'replace'
          ? `migrate(${agent}): promote ${output} to ${source}`
          : `migrate(${agent}): start ${output} from the startup config`,
      body: `${what}\nPromotes migration ${migration}; reverting this commit cuts back to the legacy agent.`,
      files: [...changes.map((c) => c.file), recordFile],
      deleted: changes.filter((c) => c.content === null).map((c) => c.file),
      trailers: [`${TRAILER_PROMOTE}: ${migration}`],
    });
    journal?.committed(touched);
    return { agent, mode, commit, script, config_edits: configEdits, importers, warnings, ...(promotion.members ? { members: promotion.members.map((m) => ({ class: m.class, script: m.script.path })) } : {}) };
  } catch (err) {
    restore();
    journal?.commitFailed();
    journal?.settled(touched);
    if (err instanceof MigrateError) throw err;
    throw new MigrateError(`cannot promote ${agent}: ${(err as Error).message}; nothing was changed`);
  }
}

function baseClassOf(root: string, profile: string): string {
  try {
    return loadProfile(profile, root).base_class;
  } catch {
    return profile; // a profile no longer installed: the name still says what the migration was
  }
}

/** `agents/x.py` in a script_path that names `agents/x.py` (or `./agents/x.py`, `x.py`) becomes the other file. */
function retarget(value: string, from: string, to: string): string {
  const fromBase = path.posix.basename(from);
  const toBase = path.posix.basename(to);
  if (value.endsWith(fromBase) && path.posix.dirname(from) === path.posix.dirname(to)) return value.slice(0, value.length - fromBase.length) + toBase;
  return to;
}

/**
 * replace: every name other modules import from the agent's module must exist in the new
 * content, and nothing may import the `_v2` module being removed; script_path: the
 * importers keep the legacy module, which is worth a warning, not a refusal.
 */
async function checkImporters(
  root: string,
  agent: string,
  language: MigrationRecord['language'],
  mode: PromoteMode,
  source: string,
  output: string,
  outputBytes: Buffer,
  warnings: string[],
  promoted: ReadonlySet<string> = new Set([source, output]),
): Promise<ImportUse[]> {
  // The promoted files themselves (a unit's agents import its base) are not other modules.
  const files = listSourceFiles(root, language === 'python' ? ['.py'] : TS_EXTENSIONS).filter((f) => !promoted.has(path.relative(root, f).split(path.sep).join('/')));
  const find = (target: string) => (language === 'python' ? Promise.resolve(findImporters(root, files, target)) : findTsImporters(root, files, target));
  const uses = await find(source);
  const v2Uses = await find(output);
  if (mode === 'script_path') {
    for (const u of uses) warnings.push(`${u.file}:${u.line} imports ${u.module}, which keeps the legacy code; the startup config now starts ${output}`);
    return [...uses, ...v2Uses];
  }
  const text = language === 'python' ? decodePythonSource(outputBytes, output) : outputBytes.toString('utf8');
  const names = language === 'python' ? moduleNamespace(text, output) : await tsModuleExports(text, output);
  if (!names && uses.length) warnings.push(`${output} re-exports another module wholesale: the names its importers take were not checked`);
  const broken: string[] = [];
  for (const u of uses) {
    if (u.names === '*') {
      warnings.push(`${u.file}:${u.line} takes everything from ${u.module}: the names it uses there were not checked`);
      continue;
    }
    const missing = names ? u.names.filter((n) => !names.has(n)) : [];
    if (missing.length) broken.push(`${u.file}:${u.line} imports ${missing.join(', ')} from ${u.module}, which ${output} no longer defines`);
  }
  for (const u of v2Uses) broken.push(`${u.file}:${u.line} imports ${u.module}, which promoting removes`);
  if (broken.length) {
    const more = broken.length > 3 ? ` (and ${broken.length - 3} more)` : '';
    throw new UsageError(`cannot promote ${agent}: ${broken.slice(0, 3).join('; ')}${more}`);
  }
  return [...uses, ...v2Uses];
}
