// The migration log: one JSON record per agent under migration-log/, written
// with a stable key order so a record diffs cleanly and each agent's file is
// touched only by that agent's own commits (no cross-agent conflicts on revert).
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeptForReview, Language, ValidationReport } from '../core/types.js';
import { MigrateError, UsageError, oneLine } from '../core/errors.js';
import { TOOL_VERSION } from '../core/version.js';
import { ajvFor, precompiled } from '../core/precompiled.js';
import type { ReviewAnswer } from './review-log.js';

export const LOG_DIR = 'migration-log';
export const REVERTS_DIR = `${LOG_DIR}/reverts`;
export const RECORD_VERSION = 1;

export interface FileRef {
  path: string;
  sha256: string;
}

export interface MigrationRecord {
  record_version: 1;
  agent: string;
  language: Language;
  profile: string;
  tool_version: string;
  source: FileRef;
  output: FileRef;
  removed: string[];
  kept_for_review: KeptForReview[];
  warnings: string[];
  validation: ValidationReport | null;
  migrated_at: string;
  /** Set by `migrate promote` (see migration-log/README.md). */
  promotion?: PromotionRecord;
  /** Set when `migrate review` committed the agent: every answer given to its `_v2`, the accept last. */
  review?: ReviewAnswer[];
  /** Set on a base migration unit's record (agent: the base): the subclasses moved with it, each validated. */
  /** `middles`: the classes between the base and its agents, moved with the unit (their files and `_v2`). */
  unit?: { members: Array<{ class: string; source: FileRef; output: FileRef; validation: ValidationReport }>; middles?: Array<{ class: string; source: FileRef; output: FileRef }> };
}

export interface PromotionRecord {
  mode: 'replace' | 'script_path';
  promoted_at: string;
  tool_version: string;
  migration_commit: string;
  /** What the fleet starts now (the config's script_path). */
  script: FileRef;
  /** replace: the legacy content that was replaced. */
  replaced?: FileRef;
  /** replace: the files deleted (the `_v2`). */
  removed?: string[];
  /** A base migration unit's promotion: the file each of its agents is started from now. */
  members?: Array<{ class: string; script: FileRef }>;
  config_edits: Array<{ file: string; line: number; agent: string; from: string; to: string }>;
  importers: Array<{ file: string; line: number; module: string; names: string[] | '*' }>;
  validated: { by: 'run' | 'validate'; at: string };
  warnings: string[];
}

export interface RevertRecord {
  record_version: 1;
  agent: string;
  reverted_commit: string;
  reverted_at: string;
  tool_version: string;
  files: string[];
  source?: FileRef;
  output?: FileRef;
  /** Set when the revert undid a promotion (absent: it undid the migration). */
  undid?: 'promotion';
}

const AGENT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function assertAgentName(agent: string): void {
  if (!AGENT_NAME.test(agent)) {
    throw new UsageError(`"${agent}" is not an agent class name (letters, digits and _ only)`);
  }
}

/**
 * Why the records folder (`migration-log/` under the root) cannot hold records, or null when
 * it can (a folder, or nothing yet). A file, symlink or FIFO of that name is the user's: before,
 * each agent was rewritten and validated, then failed at commit with a raw
 * "EEXIST: file already exists, mkdir '/…/migration-log'".
 */
export function recordsFolderProblem(root: string): string | null {
  let kind: string;
  try {
    const st = lstatSync(path.join(root, LOG_DIR));
    if (st.isDirectory()) return null;
    kind = st.isSymbolicLink() ? 'a symlink' : st.isFIFO() ? 'a FIFO' : st.isFile() ? 'a file' : 'not a folder';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    return `${LOG_DIR} (the folder migrate keeps its records in) cannot be read: ${(err as Error).message}`;
  }
  return `${path.join(root, LOG_DIR)} is ${kind}, but migrate keeps its records in a folder of that name (${LOG_DIR}/<Agent>.json); rename or move it away, then run again`;
}

/** Relative (POSIX) path of an agent's record. */
export function recordPath(agent: string): string {
  assertAgentName(agent);
  return `${LOG_DIR}/${agent}.json`;
}

/** Relative path of a revert record; the UTC timestamp keeps every revert its own new file. */
export function revertRecordPath(agent: string, at: Date): string {
  assertAgentName(agent);
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${REVERTS_DIR}/${agent}-${stamp}.json`;
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(file: string): string {
  return sha256(readFileSync(file));
}

/** Turn a path given relative to the root (or absolute inside it) into the POSIX form records use. */
export function toRelative(root: string, file: string): string {
  const abs = path.resolve(root, file);
  const rel = path.relative(path.resolve(root), abs);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new UsageError(`${file}: path is outside the root ${root}`);
  }
  return rel.split(path.sep).join('/');
}

export interface RecordInput {
  agent: string;
  language: Language;
  profile: string;
  /** Legacy file, relative to the root. */
  source: string;
  /** The `_v2` file, relative to the root; must already be written. */
  output: string;
  removed: string[];
  kept_for_review: KeptForReview[];
  warnings: string[];
  /** null when the run used --no-validate. */
  validation: ValidationReport | null;
  migratedAt?: Date;
  /** `migrate review`'s answers, when the reviewer's accept commits the agent. */
  review?: ReviewAnswer[];
}

/** Build an agent's record, hashing the source and output files as they are on disk now. */
export function buildRecord(root: string, input: RecordInput): MigrationRecord {
  assertAgentName(input.agent);
  const source = toRelative(root, input.source);
  const output = toRelative(root, input.output);
  const record: MigrationRecord = {
    record_version: RECORD_VERSION,
    agent: input.agent,
    language: input.language,
    profile: input.profile,
    tool_version: TOOL_VERSION,
    source: { path: source, sha256: sha256File(path.join(root, source)) },
    output: { path: output, sha256: sha256File(path.join(root, output)) },
    removed: [...input.removed],
    kept_for_review: input.kept_for_review.map((k) => ({ symbol: k.symbol, line: k.line, reason: k.reason })),
    warnings: [...input.warnings],
    validation: input.validation,
    migrated_at: (input.migratedAt ?? new Date()).toISOString(),
    ...(input.review?.length ? { review: input.review } : {}),
  };
  return record;
}

// ---- schema ---------------------------------------------------------------

type SchemaNode = Record<string, any>;

let schemaCache: { schema: SchemaNode; migration: Validator; revert: Validator } | undefined;
type Validator = ((data: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string }> | null };

/** The package's own migration-log/record.schema.json (from src/ under vitest and from dist/src/). */
export function schemaFile(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, LOG_DIR, 'record.schema.json');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find migration-log/record.schema.json of migrate');
}

function schemas() {
  if (!schemaCache) {
    const text = readFileSync(schemaFile(), 'utf8');
    const schema = JSON.parse(text) as SchemaNode;
    // Generated at build time from this schema (scripts/build-validators.mjs), or compiled now.
    const pre = precompiled('record', text);
    if (pre?.migration && pre.revert) {
      schemaCache = { schema, migration: pre.migration as Validator, revert: pre.revert as Validator };
    } else {
      const ajv = ajvFor('record');
      ajv.addSchema(schema);
      const migration = ajv.getSchema(schema.$id) as Validator;
      const revert = ajv.getSchema(`${schema.$id}#/definitions/revert`) as Validator;
      schemaCache = { schema, migration, revert };
    }
  }
  return schemaCache;
}

function firstError(v: Validator): string {
  const e = v.errors?.[0];
  return e ? `${e.instancePath || '/'} ${e.message ?? 'is invalid'}` : 'schema violation';
}

export function validateRecord(data: unknown, where = 'record'): asserts data is MigrationRecord {
  const { migration } = schemas();
  if (!migration(data)) throw new MigrateError(`invalid migration record: ${firstError(migration)}`, where);
}

export function validateRevertRecord(data: unknown, where = 'revert record'): asserts data is RevertRecord {
  const { revert } = schemas();
  if (!revert(data)) throw new MigrateError(`invalid revert record: ${firstError(revert)}`, where);
}

function resolve(node: SchemaNode | undefined, value: unknown): SchemaNode | undefined {
  const { schema } = schemas();
  for (let i = 0; node && i < 10; i++) {
    if (typeof node.$ref === 'string') {
      const parts = node.$ref.replace(/^#\//, '').split('/');
      node = parts.reduce<any>((n, p) => n?.[p], schema);
    } else if (Array.isArray(node.allOf)) {
      node = node.allOf[0];
    } else if (Array.isArray(node.oneOf)) {
      const want = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
      node = node.oneOf.find((b: SchemaNode) => {
        const r = resolve(b, value);
        return r?.type === want || (want === 'object' && r?.properties);
      });
    } else {
      return node;
    }
  }
  return node;
}

/** Rebuild value with keys in the schema's property order, unknown keys sorted after them. */
function canonical(value: unknown, node: SchemaNode | undefined): unknown {
  const n = resolve(node, value);
  if (Array.isArray(value)) return value.map((v) => canonical(v, n?.items));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const props: Record<string, SchemaNode> = n?.properties ?? {};
  const known = Object.keys(props).filter((k) => k in obj);
  const rest = Object.keys(obj)
    .filter((k) => !(k in props))
    .sort();
  const out: Record<string, unknown> = {};
  for (const k of [...known, ...rest]) {
    if (obj[k] === undefined) continue;
    const child = k in props ? props[k] : typeof n?.additionalProperties === 'object' ? n.additionalProperties : undefined;
    out[k] = canonical(obj[k], child);
  }
  return out;
}

function serialize(value: unknown, node: SchemaNode): string {
  return `${JSON.stringify(canonical(value, node), null, 2)}\n`;
}

/** Deterministic text of a record: schema key order, 2-space indent, trailing newline. Throws when invalid. */
export function serializeRecord(record: MigrationRecord): string {
  validateRecord(record);
  return serialize(record, { $ref: '#/definitions/migration' });
}

export function serializeRevertRecord(record: RevertRecord): string {
  validateRevertRecord(record);
  return serialize(record, { $ref: '#/definitions/revert' });
}

/** Atomic write (temporary file, then rename) so an interruption never leaves half a record. */
export function writeFileAtomic(file: string, text: string | Uint8Array, beforeTemp?: (tmp: string) => void): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  beforeTemp?.(tmp); // a journal records it: a crash mid-write leaves nothing behind
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Write the agent's record; returns its path relative to the root. */
export function writeRecord(root: string, record: MigrationRecord, beforeTemp?: (tmp: string) => void): string {
  const text = serializeRecord(record);
  const rel = recordPath(record.agent);
  writeFileAtomic(path.join(root, rel), text, beforeTemp);
  return rel;
}

export function parseRecord(text: string, where: string): MigrationRecord {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new MigrateError(`not valid JSON: ${(err as Error).message}`, where);
  }
  validateRecord(data, where);
  return data;
}

/** The agent's record in the working tree, or null when there is none. */
export function readRecord(root: string, agent: string): MigrationRecord | null {
  const rel = recordPath(agent);
  const file = path.join(root, rel);
  if (!existsSync(file)) return null;
  return parseRecord(readFileSync(file, 'utf8'), rel);
}

/** Every record in the working tree's migration-log/, by agent name; the first one that cannot be read throws (file and why). */
export function listRecords(root: string): MigrationRecord[] {
  const { records, unreadable } = readRecords(root);
  if (unreadable[0]) throw unreadable[0].error;
  return records;
}

/**
 * Every record of migration-log/ that reads, for finding an agent by name or file: one broken record
 * (another agent's, truncated or edited by hand) used to make `revert`/`promote` of every agent fail
 * on it. The broken one names no agent to match; the command on that agent meets it where it reads it.
 */
export function readableRecords(root: string): MigrationRecord[] {
  return readRecords(root).records;
}

/** A record file of migration-log/ that does not parse or does not match the record's schema. */
export interface UnreadableRecord {
  file: string;
  error: MigrateError;
}

/**
 * Every record that reads, and apart each one that does not: a read-only view (status) shows the
 * fleet and names the broken file, where one truncated record used to fail the whole command.
 */
export function readRecords(root: string): { records: MigrationRecord[]; unreadable: UnreadableRecord[] } {
  const dir = path.join(root, LOG_DIR);
  const out: { records: MigrationRecord[]; unreadable: UnreadableRecord[] } = { records: [], unreadable: [] };
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir).filter((f) => /^[A-Za-z_][A-Za-z0-9_]*\.json$/.test(f)).sort()) {
    const rel = `${LOG_DIR}/${f}`;
    try {
      out.records.push(parseRecord(readFileSync(path.join(dir, f), 'utf8'), rel));
    } catch (err) {
      out.unreadable.push({ file: rel, error: err instanceof MigrateError ? err : new MigrateError(oneLine(err), rel) });
    }
  }
  return out;
}

/** The conventional `_v2` sibling of a legacy file: `agents/foo.py` -> `agents/foo_v2.py`. */
export function v2Sibling(file: string): string {
  const ext = path.posix.extname(file);
  return `${file.slice(0, file.length - ext.length)}_v2${ext}`;
}

/** The legacy file a `_v2` file was made from, or null when the name has no `_v2` suffix. */
export function legacyOf(file: string): string | null {
  const ext = path.posix.extname(file);
  const stem = file.slice(0, file.length - ext.length);
  return stem.endsWith('_v2') ? `${stem.slice(0, -3)}${ext}` : null;
}
