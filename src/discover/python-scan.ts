// Classifying Python files: which class (if any) is the file's agent, chosen by evidence
// (constructed by the entry point, binds a server socket, runs the main loop), never by
// position or name alone; whether it already reaches the target base (directly, through
// an alias, or through another class of the repository); and what ad-hoc code it has.
import type { UnitRewrite } from '../lang/python/transform-context.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AgentInfo, BaseUnit, Finding, FindingKind, ScanResult, SkippedFile } from '../core/types.js';
import { MigrateError, throwIfInterrupted } from '../core/errors.js';
import { listProfiles, loadProfile, type Profile } from '../profile/profile.js';
import { decodePythonSource, parseStrict, parseStrictEditable, type NativeTree } from '../lang/python/parser.js';
import { nativeTreeDropped } from '../lang/python/native-trees.js';
import { flatTreeDataBytes, type FlatTreeData } from '../lang/python/flat-tree.js';
import type { ParseStore } from '../pipeline/parse-store.js';
import type { SyntaxNode } from '../lang/python/parser.js';
import { readPythonFilesAcross, type CheckedPythonFile } from './python-read-pool.js';
import { isCompilerFailure } from '../lang/python/py-compile.js';
import { fileKey, PythonScanCache } from './scan-cache.js';
import type { ThreadChoice } from '../pipeline/threads.js';
import { baseName, buildModuleModel, constructsClass, entryScopes, factoryMethods, type ImportedName, type ModuleModel, type PyClass } from '../lang/python/module-model.js';
import { boundNames, callee, selfAttribute, walkTypes } from '../lang/python/syntax.js';
import { dataclassInitBlocker } from '../analysis/health-record.js';
import { routeString } from '../analysis/health-payload.js';
import { loopMixinFlag } from '../analysis/loop-mixin.js';
import { inheritedHealthPort, ownHealthPort, ownPortDefault, portNamesOf, type HealthPortFact, type PortNames } from '../analysis/own-health-port.js';
import { buildAgentModel } from '../analysis/agent-model.js';

// The node types each search of the scan reads (see walkTypes): the others are passed over.
const CALLS: ReadonlySet<string> = new Set(['call']);
const CLASSES_AND_CALLS: ReadonlySet<string> = new Set(['class_definition', 'call']);
const CLASSES_AND_LOOPS: ReadonlySet<string> = new Set(['class_definition', 'while_statement']);
const FINDING_TYPES: ReadonlySet<string> = new Set(['class_definition', 'while_statement', 'call', 'assignment']);
const ENTRY_LOOP_TYPES: ReadonlySet<string> = new Set(['function_definition', 'class_definition', 'identifier', 'while_statement']);
const DEFINITIONS_AND_LOOPS: ReadonlySet<string> = new Set(['function_definition', 'class_definition', 'while_statement']);
import { HEALTH_ATTRIBUTE, HEALTH_LOOP_METHOD, HEALTH_PAYLOAD_METHOD, HEALTH_SIDECAR_CLASS, HTTP_HANDLER_BASE } from '../../transforms/python/health-patterns.js';
import { forgetOnReset } from '../core/invocation.js';
import { baseUnits, type UnitMemberSkip } from './base-units.js';
import { loadBaseModel } from '../analysis/base-model.js';
import { isStatsdSend } from '../analysis/statsd-send.js';
import { moduleClientCall } from '../analysis/module-client.js';

/**
 * What classification needs of one class, read while its file's tree is at hand: the tree
 * is dropped right after (a fleet's trees do not all fit in memory), and the facts are
 * plain data a worker thread can hand back.
 */
export interface ClassFacts {
  name: string;
  line: number;
  /** Each base as a name (null for a call or subscript). */
  bases: Array<string | null>;
  /** A dataclass, record, exception, handler or thread: never the agent. */
  record: boolean;
  methods: string[];
  constructedInEntry: boolean;
  /** Other classes of the file the entry point constructs in the same run as this one (not as alternatives chosen by a flag or a registry). */
  constructedBeside?: string[];
  /** The entry point starts an instance it built (`agent.run()`, `Thread(target=agent.run)`), not only builds it to hand on. */
  runByEntry?: boolean;
  constructedByOthers: boolean;
  bindsServer: boolean;
  runsLoop: boolean;
  abstract: boolean;
  findings: Finding[];
  /** The line of each of `methods`, in the same order. */
  methodLines?: number[];
  /** The line of the first call that binds a server in the class (0 when none). */
  serverLine?: number;
  /** A dataclass that is an agent all the same: what it does ("binds a server and runs a main loop"). */
  dataclassAgent?: string;
  /** Why the base's constructor cannot be called from that dataclass's __post_init__. */
  dataclassBlocker?: string;
  /** A threading.Thread (or Process) that is also built on another class and is an agent all the same: those bases and what it does. */
  threadAgent?: string;
  /** The paths its own HTTP health server answers, when only paths the base stands in for and not /health alone (AgentInfo.health_paths). */
  healthPaths?: string[];
  /** A loop mixin (src/analysis/loop-mixin.ts): the flag its run() loop reads (`running`). */
  loopFlag?: string;
  /** The port its own health server binds, read from its code (AgentInfo.health_port). */
  healthPort?: HealthPortFact;
  /** Its own port when started without arguments (AgentInfo.port_default; a health port a parent derives from it). */
  portDefault?: number;
}

/** One parsed file, as classification and the cross-file class index see it. */
export interface PythonFileFacts {
  rel: string;
  classes: ClassFacts[];
  /** Imported names (`import`/`from ... import`), without their nodes. */
  imports: Map<string, Omit<ImportedName, 'node'>>;
  aliases: Map<string, string[]>;
  mainGuard: boolean;
  /** Settled by the file alone (the base itself, a test, no class): no index needed. */
  settled?: SkippedFile;
}

const RECORD_BASES = /^(Enum|IntEnum|StrEnum|Flag|IntFlag|NamedTuple|TypedDict|Exception|BaseException|\w+Error|Protocol)$/;
const NOT_AGENT_BASES = new RegExp(`${HTTP_HANDLER_BASE.source}|^(Thread|Process|TestCase|IsolatedAsyncioTestCase)$`);

/** `read`: the scan cache's key of the bytes this read saw (a file edited meanwhile is not cached under the old bytes). */
export type ReadPythonFile = ({ facts: PythonFileFacts; source: string; parsed?: FlatTreeData; native?: NativeTree } | { skipped: SkippedFile }) & { read?: string };

/**
 * What of a file's parse the scan keeps for the rewrite: nothing, its flat arrays, or those and
 * the native tree (only for a rewrite in the same thread: see KeptParse.native).
 */
export type KeepParse = boolean | 'native';

/**
 * Read, parse and learn one file: its facts and its source (for the compile check), or why it
 * is refused; with `keep`, its parse too (for the rewrite, see ParseStore) unless the file
 * settled itself (no class, a test).
 */
export function readPythonFile(root: string, file: string, target: BaseTarget, keep: KeepParse = false): ReadPythonFile {
  const rel = path.relative(root, file).split(path.sep).join('/');
  let read: string | undefined;
  try {
    const bytes = readFileSync(file);
    read = fileKey(rel, bytes);
    if (bytes.length === 0 || bytes.toString('utf8').trim() === '') {
      return { skipped: { file: rel, reason: `${rel}:1: empty file; nothing to migrate`, line: 1, error: path.basename(rel) !== '__init__.py' }, read };
    }
    const source = decodePythonSource(bytes, rel);
    const { tree, native } = keep === 'native' ? parseStrictEditable(source, rel) : { tree: parseStrict(source, rel), native: undefined };
    const facts = factsOf(rel, buildModuleModel(source, tree), target);
    if (!keep || facts.settled) {
      if (native) nativeTreeDropped();
      return { facts, source, read };
    }
    return native ? { facts, source, parsed: tree.toData(), native, read } : { facts, source, parsed: tree.toData(), read };
  } catch (err) {
    if (err instanceof MigrateError) return { skipped: { file: rel, reason: err.oneLine(), line: err.line, error: true }, read };
    return { skipped: { file: rel, reason: `${rel}: ${(err as Error).message}`, error: true } };
  }
}

/**
 * Read every file (across cores unless inBand); unreadable ones and ones CPython refuses become
 * skipped entries with file:line. With `parses`, the parses of files that may hold agents are
 * kept there (within its budget) for the run's rewrites.
 */
export async function readPythonFiles(
  root: string,
  files: string[],
  target: BaseTarget,
  threads: ThreadChoice = {},
  parses?: ParseStore,
): Promise<{ read: PythonFileFacts[]; skipped: SkippedFile[] }> {
  // No Python file: nothing to read, and no python3 to start for the cache's key (through a
  // version manager's shim that start was most of an empty repository's scan). The cache is
  // left as a save of no file would leave it: with no entry.
  if (files.length === 0) {
    PythonScanCache.forget(root);
    return { read: [], skipped: [] };
  }
  const results: CheckedPythonFile[] = new Array(files.length);
  // Files unchanged since an earlier scan are not read again (see PythonScanCache).
  const opening = PythonScanCache.open(root, target);
  const rels = files.map((f) => path.relative(root, f).split(path.sep).join('/'));
  // Only a file the cache knows is read here, to compare its bytes (while python3 tells its
  // version for the cache's key): a new one goes to the readers once.
  const keys: Array<string | undefined> = new Array(files.length);
  files.forEach((f, i) => {
    if (!opening?.knows(rels[i]!)) return;
    try {
      keys[i] = fileKey(rels[i]!, readFileSync(f));
    } catch {
      // unreadable: the read below says why
    }
  });
  const cache = opening ? await opening.ready : null;
  const misses: number[] = [];
  files.forEach((_, i) => {
    const key = keys[i];
    const hit = key !== undefined && cache?.has(rels[i]!) ? cache.get(rels[i]!, key) : undefined;
    if (hit) results[i] = hit;
    else misses.push(i);
  });
  await readPythonFilesAcross(root, misses.map((i) => files[i]!), target, threads, parses, (k, r) => {
    const i = misses[k]!;
    if ('facts' in r && r.parsed) {
      if (!r.compiled) parses?.keep(files[i]!, { source: r.parsed.source, data: r.parsed, bytes: flatTreeDataBytes(r.parsed), ...(r.native ? { native: r.native } : {}) });
      delete r.parsed;
      delete r.native;
    }
    // Kept under the key of the very bytes the reader analysed (a file edited meanwhile is keyed
    // by what was read, never by older bytes), and python3's own failure (missing, or exiting
    // at once) is no verdict to keep.
    const read = r.read;
    delete r.read;
    if (cache && read && !('facts' in r && r.compiled && isCompilerFailure(r.compiled))) cache.set(rels[i]!, read, r);
    results[i] = r;
  });
  // Interrupted: some files were never read; nothing of this scan is reported (nor saved half-done).
  throwIfInterrupted(threads.signal);
  cache?.save(new Set(rels));
  const skipped: SkippedFile[] = [];
  const read: PythonFileFacts[] = [];
  for (const r of results) if ('skipped' in r) skipped.push(r.skipped);
  for (const r of results) {
    if (!('facts' in r)) continue;
    const e = r.compiled;
    // python3 failing (missing, or a broken one exiting 1) judges no file: refusing them all
    // hid every agent (scan found none, `scan --check` passed with legacy agents left); the
    // file is read as parsed, and verify, which needs python3's verdict, fails its rewrite.
    if (!e || isCompilerFailure(e)) {
      read.push(r.facts);
      continue;
    }
    const line = Number(/^[^:]+:(\d+):/.exec(e)?.[1] ?? 0) || undefined;
    skipped.push({ file: r.facts.rel, reason: `${e}; file refused, not rewritten`, line, error: true });
  }
  return { read, skipped };
}

/** Class name → the classes of that name in the repository, for resolving parents across files. */
export class ClassIndex {
  private byName = new Map<string, Array<{ rel: string; cls: ClassFacts; module: PythonFileFacts }>>();
  /** Base name → how many classes name it (counted once here: asking per file went over every class of the fleet). */
  private subclasses = new Map<string, number>();

  constructor(files: PythonFileFacts[]) {
    for (const f of files) {
      for (const cls of f.classes) {
        const list = this.byName.get(cls.name) ?? [];
        list.push({ rel: f.rel, cls, module: f });
        this.byName.set(cls.name, list);
        for (const b of new Set(cls.bases)) if (b) this.subclasses.set(b, (this.subclasses.get(b) ?? 0) + 1);
      }
    }
  }

  /** How many classes in the repository name this one as a base. */
  subclassCount(name: string): number {
    return this.subclasses.get(name) ?? 0;
  }

  /** Parent class → the agents built on it, computed on first use (only skip reasons ask). */
  private agentChildren?: Map<ClassFacts, Array<{ cls: ClassFacts; rel: string; via?: string[] }>>;

  /**
   * The agents of the repository built directly on this class: classes whose bases resolve to it
   * (in their own file, or by a name with one definition in the repository, aliases and
   * `import X as Y` followed) and that are agents themselves (constructed by an entry point,
   * binding a server or running a loop).
   */
  agentSubclasses(cls: ClassFacts): Array<{ cls: ClassFacts; rel: string; via?: string[] }> {
    if (!this.agentChildren) {
      const children = new Map<ClassFacts, Array<{ cls: ClassFacts; rel: string; via?: string[] }>>();
      for (const list of this.byName.values()) {
        for (const d of list) {
          if (d.cls.record || !(d.cls.constructedInEntry || d.cls.bindsServer || d.cls.runsLoop)) continue;
          const parents = new Set<ClassFacts>();
          for (const b of d.cls.bases) {
            if (!b) continue;
            for (const name of this.expand(b, d.module)) {
              const local = d.module.classes.find((c) => c.name === name && c !== d.cls);
              const defs = local ? [local] : (this.byName.get(name) ?? []).map((x) => x.cls);
              if (defs.length === 1 && defs[0] !== d.cls) parents.add(defs[0]!);
            }
          }
          // An agent built on an intermediate class that is no agent itself (`ProbeCollector(FleetAgentBase)`
          // adding helpers) is built on that class's parents too.
          const credited = new Set<ClassFacts>();
          // (via: the intermediate classes between, named with file and line, for the skip reason)
          const credit = (p: ClassFacts, depth: number, via: string[]) => {
            if (credited.has(p) || depth > 4) return;
            credited.add(p);
            const kids = children.get(p) ?? [];
            kids.push(via.length ? { cls: d.cls, rel: d.rel, via } : { cls: d.cls, rel: d.rel });
            children.set(p, kids);
            if (p.constructedInEntry || p.bindsServer || p.runsLoop) return;
            const at = this.definitionOf(p);
            if (!at) return;
            for (const b of p.bases) {
              if (!b) continue;
              for (const name of this.expand(b, at.module)) {
                const local = at.module.classes.find((c) => c.name === name && c !== p);
                const defs = local ? [local] : (this.byName.get(name) ?? []).map((x) => x.cls);
                if (defs.length === 1 && defs[0] !== p && defs[0] !== d.cls) credit(defs[0]!, depth + 1, [`${p.name} (${at.rel}:${p.line})`, ...via]);
              }
            }
          };
          for (const p of parents) credit(p, 0, []);
        }
      }
      for (const kids of children.values()) kids.sort((a, b) => a.rel.localeCompare(b.rel) || a.cls.line - b.cls.line);
      this.agentChildren = children;
    }
    return this.agentChildren.get(cls) ?? [];
  }

  /**
   * The classes of the repository a class names as its bases, each found by one definition (in its
   * own file, or by a name with one definition in the repository, aliases and imports followed).
   */
  parentsOf(cls: ClassFacts, module: PythonFileFacts, byImport = false): Array<{ cls: ClassFacts; module: PythonFileFacts; rel: string }> {
    const out: Array<{ cls: ClassFacts; module: PythonFileFacts; rel: string }> = [];
    for (const name of cls.bases) {
      if (!name) continue;
      for (const candidate of this.expand(name, module)) {
        const local = module.classes.find((c) => c.name === candidate && c !== cls);
        const all = local ? [{ cls: local, module, rel: module.rel }] : (this.byName.get(candidate) ?? []);
        // byImport: a name several files define (each fleet's own AgentBase) is the one the import names the file of.
        const defs = byImport && all.length > 1 ? all.filter((d) => importsFrom(module, name, d.rel)) : all;
        if (defs.length === 1 && defs[0]!.cls !== cls && !out.some((o) => o.cls === defs[0]!.cls)) out.push(defs[0]!);
      }
    }
    return out;
  }

  /** Where a class of the index is defined. */
  definitionOf(cls: ClassFacts): { rel: string; module: PythonFileFacts } | undefined {
    return this.byName.get(cls.name)?.find((x) => x.cls === cls);
  }

  /** Does a class reach `target` through its bases (aliases, imports, other files)? */
  reaches(cls: ClassFacts, module: PythonFileFacts, target: BaseTarget, seen = new Set<string>()): boolean {
    for (const name of cls.bases) {
      if (!name) continue;
      for (const candidate of this.expand(name, module)) {
        // Same name is not enough: an older HardenedAgentBase from another module is not the target.
        if (candidate === target.name && this.isTargetImport(candidate, module, target)) return true;
        if (seen.has(candidate)) continue;
        seen.add(candidate);
        const local = module.classes.find((c) => c.name === candidate && c !== cls);
        const defs = local ? [{ cls: local, module }] : (this.byName.get(candidate) ?? []);
        for (const d of defs) if (this.reaches(d.cls, d.module, target, seen)) return true;
      }
    }
    return false;
  }

  /**
   * The nearest parent class defined in the repository (this file or another) that does not reach
   * `target` and holds agent infrastructure itself (binds a server, runs a main loop, defines run()):
   * a home-made intermediate base such as `class BaseWorker:` whose subclasses only add business.
   * Found through parents that hold none of it (`class ProbeCollector(FleetAgentBase)` adding probe
   * helpers between the agent and the base that runs its loop).
   */
  legacyParent(
    cls: ClassFacts,
    module: PythonFileFacts,
    target: BaseTarget,
    holds: (c: ClassFacts) => boolean = (c) => c.bindsServer || c.runsLoop || c.methods.includes('run'),
    seen = new Set<ClassFacts>(),
  ): { cls: ClassFacts; rel: string } | null {
    seen.add(cls);
    for (const name of cls.bases) {
      if (!name) continue;
      for (const candidate of this.expand(name, module)) {
        const local = module.classes.find((c) => c.name === candidate && c !== cls);
        const defs = local ? [{ cls: local, module, rel: module.rel }] : (this.byName.get(candidate) ?? []);
        if (defs.length !== 1) continue;
        const d = defs[0]!;
        if (seen.has(d.cls) || this.reaches(d.cls, d.module, target)) return null;
        if (holds(d.cls)) return { cls: d.cls, rel: d.rel };
        const higher = this.legacyParent(d.cls, d.module, target, holds, seen);
        if (higher) return higher;
      }
    }
    return null;
  }

  /** Was `name` brought into this module from the target's module (or a path that resolves to its file)? */
  private isTargetImport(name: string, module: PythonFileFacts, target: BaseTarget): boolean {
    const imports = [...module.imports.values()].filter((i) => i.name === name);
    if (imports.length === 0) return !module.classes.some((c) => c.name === name) && !this.byName.has(name);
    return imports.some((i) => {
      if (!target.module) return true;
      if (i.module === target.module) return true;
      const asPath = `${i.module.replace(/^\.+/, '').replace(/\./g, '/')}.py`;
      return !!target.source && !i.module.startsWith('.') && (target.source === asPath || target.source.endsWith(`/${asPath}`));
    });
  }

  /** A base name as written → the class names it may stand for (aliases, `import X as Y`). */
  private expand(name: string, module: PythonFileFacts): string[] {
    const out = new Set<string>([name]);
    const imported = module.imports.get(name);
    if (imported?.name) out.add(imported.name);
    for (const a of module.aliases.get(name) ?? []) {
      out.add(a);
      const imp = module.imports.get(a);
      if (imp?.name) out.add(imp.name);
    }
    return [...out];
  }
}

/** Does `module` import `name` from the file `rel` (`from agents.legacy.agent_base import AgentBase`, or relative)? */
function importsFrom(module: PythonFileFacts, name: string, rel: string): boolean {
  const from = module.imports.get(name)?.module;
  if (!from) return false;
  const dots = /^\.*/.exec(from)![0].length;
  const dir = dots ? path.posix.join(path.posix.dirname(module.rel), ...Array<string>(dots - 1).fill('..')) : '';
  const file = path.posix.join(dir, from.slice(dots).replace(/\./g, '/'));
  return rel === `${file}.py` || rel === `${file}/__init__.py`;
}

/** The base class a profile targets: its name, module and source path in a repository. */
export interface BaseTarget {
  name: string;
  module?: string;
  source?: string;
  /** Attributes the base's constructor sets that a dataclass agent's fields may not hold (the ports and name it is given aside). */
  owned?: string[];
  /** The agent's names for the two ports the base is given (its `port` and `health_check_port`). */
  ports?: PortNames;
}

interface Candidate {
  cls: ClassFacts;
  score: number;
  evidence: string[];
}

/** Everything the file alone tells: the skips decided without the index, and each class's facts. */
function factsOf(rel: string, module: ModuleModel, target: BaseTarget): PythonFileFacts {
  const imports = new Map([...module.imports].map(([k, i]) => [k, { module: i.module, name: i.name }]));
  const facts: PythonFileFacts = { rel, classes: [], imports, aliases: module.aliases, mainGuard: !!module.mainGuard };
  const settled = settledAlone(rel, module, target);
  // The entry point's scopes and the constructions in them, read once for the three questions
  // asked of them (each searched the scopes itself, and tried every call against every class).
  const scopes = settled ? [] : entryScopes(module);
  const constructions = settled ? [] : entryConstructionCalls(module, scopes);
  const constructedInEntry = new Set(constructions.map((c) => c.cls));
  const beside = constructedTogether(constructions);
  const run = settled ? new Set<string>() : entryRuns(module, scopes);
  let handlers: PyClass[] | undefined;
  const handlerClasses = () => (handlers ??= module.classes.filter((c) => isHttpHandler(c.node)));
  const constructedByOthers = new Set<string>();
  if (!settled) {
    const classNames = new Set(module.classes.map((k) => k.name));
    for (const c of module.classes) {
      walkTypes(c.body, CALLS, (n) => {
        // Only a bare name can be a class of the file (a dotted callee never is): the text of the
        // others (self.sock.sendall, most calls of a class) is not read.
        const fn = n.type === 'call' ? n.childForFieldName('function') : null;
        if (fn?.type !== 'identifier') return;
        const name = fn.text;
        if (name !== c.name && classNames.has(name)) constructedByOthers.add(name);
      });
    }
  }
  facts.classes = module.classes.map((cls) => {
    const names = cls.bases.map(baseName);
    const declared = cls.decorators.some((d) => /^(dataclasses\.)?dataclass\b/.test(d));
    // A @dataclass that binds its server or runs its loop, whose generated __init__ ends in __post_init__
    // (where the base's constructor can be called): an agent like any other. Other dataclasses are records.
    // Each class body is searched once for a server bind and once for a loop, whoever asks (it was
    // searched for the bind twice per candidate: once for whether, once for where).
    let bind: number | undefined;
    let loops: boolean | undefined;
    const serverAt = () => (bind ??= serverBindLine(cls));
    const loop = () => (loops ??= runsLoop(cls));
    const dataclass = declared && (!!settled || dataclassInitBlocker(cls, target.name, target.owned) !== null || !(serverAt() > 0 || loop()));
    const record = dataclass || names.some((n) => !!n && (RECORD_BASES.test(n) || NOT_AGENT_BASES.test(n)));
    // A settled file's classes serve the index only (names and bases).
    const candidate = !record && !settled;
    const findings = candidate ? findingsOf(cls, module) : [];
    return {
      name: cls.name,
      line: cls.line,
      bases: names,
      record,
      methods: [...cls.methods.keys()],
      methodLines: [...cls.methods.values()].map((m) => m.line),
      constructedInEntry: constructedInEntry.has(cls.name),
      ...(beside.get(cls.name)?.size ? { constructedBeside: [...beside.get(cls.name)!] } : {}),
      ...(run.has(cls.name) ? { runByEntry: true } : {}),
      constructedByOthers: constructedByOthers.has(cls.name),
      bindsServer: candidate && serverAt() > 0,
      serverLine: candidate ? serverAt() : 0,
      runsLoop: candidate && loop(),
      abstract: candidate && hasAbstractMethod(cls),
      findings,
      ...(dataclass && !settled ? dataclassAgentOf(cls, target, serverAt() > 0, loop()) : {}),
      ...(!dataclass && record && !settled && constructedInEntry.has(cls.name) ? threadAgentOf(names, serverAt() > 0, loop()) : {}),
      ...(candidate ? healthPathsOf(cls, handlerClasses()) : {}),
      ...(candidate && cls.methods.has('run') ? loopFlagOf(cls) : {}),
      ...(candidate ? healthPortOf(cls, module, target, findings) : {}),
    };
  });
  return settled ? { ...facts, settled } : facts;
}

/**
 * Its own health server's port (the validator pairs that one with the base's health port), else, for a class
 * built on an in-repository parent that may hold that server, its own port's default.
 */
function healthPortOf(cls: PyClass, module: ModuleModel, target: BaseTarget, findings: Finding[]): Pick<ClassFacts, 'healthPort' | 'portDefault'> {
  const names = target.ports ?? portNamesOf(undefined);
  // One model for both: its assignments are gathered once (lazily, and only when either reads them).
  const agent = buildAgentModel(cls);
  const own = ownHealthPort(cls, module, names, findings, agent);
  const port = ownPortDefault(cls, module, names, agent);
  return { ...(own ? { healthPort: own } : {}), ...(port !== undefined ? { portDefault: port } : {}) };
}

function loopFlagOf(cls: PyClass): Pick<ClassFacts, 'loopFlag'> {
  const flag = loopMixinFlag(cls);
  return flag ? { loopFlag: flag } : {};
}

function dataclassAgentOf(cls: PyClass, target: BaseTarget, binds: boolean, loops: boolean): { dataclassAgent: string; dataclassBlocker?: string } | Record<string, never> {
  const does = [binds && 'binds a server', loops && 'runs a main loop'].filter(Boolean);
  const blocker = dataclassInitBlocker(cls, target.name, target.owned);
  return does.length ? { dataclassAgent: does.join(' and '), ...(blocker ? { dataclassBlocker: blocker } : {}) } : {};
}

/**
 * `class NetProbeAgent(threading.Thread, AgentBase)` or a bare `class IndexSyncAgent(threading.Thread)`,
 * constructed by the entry point, binding its sockets or running its loop: a Thread (its run() is the
 * thread's body, start()/join() what the entry point calls) that is the file's agent, alone or on another
 * base too. Not a record: said as such, so it is migrated by hand, not lost as "records only" (which also
 * let `scan --check` pass with the agent still legacy).
 */
function threadAgentOf(names: Array<string | null>, binds: boolean, loops: boolean): { threadAgent: string } | Record<string, never> {
  const thread = names.find((n) => !!n && /^(Thread|Process)$/.test(n));
  const others = names.filter((n): n is string => !!n && n !== 'object' && !RECORD_BASES.test(n) && !NOT_AGENT_BASES.test(n));
  const does = [binds && 'binds a server', loops && 'runs a main loop'].filter(Boolean);
  if (!thread || !does.length) return {};
  const kind = others.length ? `both a ${thread} and built on ${others.join(', ')}` : `a ${thread} subclass`;
  return { threadAgent: `${kind}: it ${does.join(' and ')}` };
}

/** The skips the file decides alone: the base itself, a test, a module without a class. */
function settledAlone(rel: string, module: ModuleModel, base: BaseTarget): SkippedFile | undefined {
  const target = base.name;
  const settle = (reason: string): SkippedFile => ({ file: rel, reason });
  if (base.source && rel === base.source) return settle(`the ${target} base class itself`);
  if (module.classes.some((c) => c.name === target) && !module.mainGuard) return settle(`defines ${target}: the base class itself`);
  if (/(^|\/)(test_[^/]*|[^/]*_test|conftest)\.py$/.test(rel) || /(^|\/)tests?\//.test(rel)) return settle('test file');
  if (module.classes.length === 0) {
    // A service written as a bare loop is an agent without a class: nothing to put on the base.
    const loop = moduleLoop(module.root);
    if (loop) {
      return settle(`no class: a long-running loop at module level (line ${loop.startPosition.row + 1}); an agent class must exist before it can move onto ${target}, so it is left for a human`);
    }
    // The loop inside a function the entry point runs (main() -> asyncio.run(collection_loop(...))).
    const served = entryLoop(module);
    if (served) {
      return settle(`no class: a long-running loop in ${served.fn}() (line ${served.loop.startPosition.row + 1}), run from the entry point; an agent class must exist before it can move onto ${target}, so it is left for a human`);
    }
    return settle(module.mainGuard ? 'script: no class (one-shot script)' : 'no class: module of functions or constants');
  }
  return undefined;
}

export function targetOf(profile: Profile): BaseTarget {
  const sc = profile.python?.super_call;
  const given = new Set([sc?.name_keyword, ...Object.entries(sc?.pass_through ?? {}).flat(2)].filter((n): n is string => !!n));
  const owned = (profile.python?.fallback?.owned_attributes ?? []).filter((a) => !given.has(a));
  return { name: profile.base_class, module: profile.python?.module, source: profile.python?.source, ...(owned.length ? { owned } : {}), ports: portNamesOf(sc?.pass_through) };
}

type OtherBase = { profile: string; base: string; module: string; source?: string };
const otherBases = new Map<string, OtherBase[]>();
forgetOnReset(() => otherBases.clear());

/**
 * The bases other shipped profiles migrate onto (HardenedAgentBase from amoskys.agents.common.base
 * when the target is BaseAgent): a class already on one of them belongs to that profile's fleet.
 */
function basesOfOtherProfiles(profile: Profile): OtherBase[] {
  let out = otherBases.get(profile.name);
  if (out) return out;
  out = [];
  for (const name of listProfiles()) {
    let p: Profile;
    try {
      p = loadProfile(name);
    } catch {
      continue;
    }
    if (p.name === profile.name || p.base_class === profile.base_class || !p.python?.module) continue;
    out.push({ profile: p.name, base: p.base_class, module: p.python.module, ...(p.python.source ? { source: p.python.source } : {}) });
  }
  otherBases.set(profile.name, out);
  return out;
}

/**
 * Another profile's base class defined where that profile puts it (its `source`, or the file of its
 * `module`): the reference base `migrate init` copied in, which holds every piece of infrastructure an
 * agent has (server, loop, registration), yet is that profile's base, never an agent of this one.
 */
function otherProfileBaseHere(f: PythonFileFacts, profile: Profile): SkippedFile | undefined {
  for (const o of basesOfOtherProfiles(profile)) {
    const modFile = o.module.replace(/\./g, '/');
    if (f.rel !== o.source && f.rel !== `${modFile}.py` && f.rel !== `${modFile}/__init__.py`) continue;
    const cls = f.classes.find((c) => c.name === o.base);
    if (!cls) continue;
    return { file: f.rel, line: cls.line, reason: `the ${o.base} base class of profile ${o.profile} (${f.rel}:${cls.line}), not an agent (use --profile ${o.profile} for the agents built on it)` };
  }
  return undefined;
}

export function classifyPythonFile(
  f: PythonFileFacts,
  index: ClassIndex,
  profile: Profile,
): { agent?: AgentInfo; skipped?: SkippedFile; parent?: { cls: ClassFacts; rel: string; agent: ClassFacts } } {
  if (f.settled) return { skipped: f.settled };
  const { rel } = f;
  const otherBase = otherProfileBaseHere(f, profile);
  if (otherBase) return { skipped: otherBase };
  const target = profile.base_class;
  const candidates: Candidate[] = [];
  const onOtherBase: string[] = [];
  for (const cls of f.classes) {
    if (cls.record) continue;
    const names = cls.bases.filter((n): n is string => !!n);
    // Already on the base of another profile's fleet (imported from where that profile puts it):
    // not a legacy agent of this one, whose rewrite would swap one framework for the other.
    const other = basesOfOtherProfiles(profile).find((o) => names.some((n) => n === o.base && f.imports.get(n)?.module === o.module));
    if (other) {
      onOtherBase.push(`${cls.name} (line ${cls.line}) is already on ${other.base}, the base of profile ${other.profile} (use --profile ${other.profile})`);
      continue;
    }
    const evidence: string[] = [];
    let score = 0;
    const migrated = index.reaches(cls, f, targetOf(profile));
    if (migrated) {
      score += 3;
      evidence.push(`inherits ${target}`);
    } else {
      // An older agent base (same name from another module, or a home-made AgentBase) is evidence too.
      const old = names.find((n) => n === target || /^(\w*AgentBase|BaseAgent\w*|Hardened\w*Base|\w*BaseAgent)$/.test(n));
      if (old) {
        score += 3;
        evidence.push(`inherits an older agent base (${old})`);
      }
    }
    if (cls.constructedInEntry) {
      score += 3;
      evidence.push('constructed by the __main__ entry point');
    }
    if (cls.bindsServer) {
      score += 2;
      evidence.push('binds a server socket');
    }
    if (cls.runsLoop) {
      score += 2;
      evidence.push('runs a main loop');
    }
    // Its main loop inherited from a loop mixin (a parent holding only a run() loop, no server): the
    // agent runs a main loop all the same, one the mixin leaves it to keep (see ownsLifecycle).
    if (!migrated && !cls.runsLoop && !cls.methods.includes('run') && cls.constructedInEntry) {
      const mixin = index.legacyParent(cls, f, targetOf(profile));
      if (mixin?.cls.loopFlag && !mixin.cls.bindsServer) {
        score += 2;
        evidence.push(`runs a main loop (inherited from ${mixin.cls.name}, a loop mixin)`);
      }
    }
    if (cls.methods.includes('handle_request') || cls.methods.includes('run')) score += 1;
    if (cls.constructedByOthers) {
      score -= 3;
      evidence.push('constructed by another class (helper)');
    }
    if (HEALTH_SIDECAR_CLASS.test(cls.name) && !cls.constructedInEntry) score -= 3;
    candidates.push({ cls, score, evidence });
  }
  // Equal evidence: the class the entry point runs, not the one it only builds to hand on, then one it builds.
  candidates.sort((a, b) => b.score - a.score || Number(!!b.cls.runByEntry) - Number(!!a.cls.runByEntry) || Number(b.cls.constructedInEntry) - Number(a.cls.constructedInEntry));
  const best = candidates[0];
  const structural = (c: Candidate) =>
    c.evidence.some((e) => /inherits|binds|main loop/.test(e)) || ['run', 'handle_request', 'start', 'serve'].some((m) => c.cls.methods.includes(m));
  const sidecarsOnly = candidates.length > 0 && candidates.every((c) => HEALTH_SIDECAR_CLASS.test(c.cls.name));
  if (sidecarsOnly && !f.mainGuard) {
    return { skipped: { file: rel, reason: 'sidecar health module: its classes serve health for agents defined elsewhere' } };
  }
  // A class meant to be subclassed (an intermediate parent, even one on the target base) is not an agent.
  // Its only subclasses are of this file, the entry point constructs one, and they only set class constants
  // (`class DiskPressureMonitor(MountWatcher): CHECK_SECONDS = 0.5`): the parent is the agent, they get the base through it.
  const tuned = best && !best.cls.constructedInEntry ? constantOnlySubclasses(f, best.cls, index) : [];
  const baseOfOthers = best && !best.cls.constructedInEntry && !tuned.length && (index.subclassCount(best.cls.name) > 0 || best.cls.abstract);
  if (tuned.length) best!.evidence.push(`its subclasses ${tuned.map((c) => `${c.name} (line ${c.line})`).join(', ')} only set class constants, and the entry point constructs ${tuned.filter((c) => c.constructedInEntry).map((c) => c.name).join(', ')}`);
  if (baseOfOthers) {
    return { skipped: { file: rel, reason: baseOfAgentsReason(f, best!.cls, index, profile) ?? `base class: ${best!.cls.name} is meant to be subclassed (abstract methods or subclasses), not an agent itself` } };
  }
  const agentLike = !!best && best.score >= 3 && structural(best);
  // Constructed by the entry point, its server and loop inherited from a home-made base of the repository:
  // an agent all the same, but the infrastructure to move onto the target is the parent's. An agent-like
  // class (its own drain loop, its own socket) on such a parent is no different when the parent owns the
  // lifecycle the base owns (the main loop, the signal handlers): put beside that parent, the base's run()
  // and stop() are shadowed by the parent's (MRO), and the parent's signal handlers, installed after the
  // base's, replace them, so the base would never deregister, and both health servers bind the same port.
  // (An older agent base by name, a home-made AgentBase, is swapped for the target by the run, not kept beside it.)
  const parent = !best || best.evidence.some((e) => e.startsWith('inherits '))
    ? null
    : !agentLike
      ? best.cls.constructedInEntry ? index.legacyParent(best.cls, f, targetOf(profile)) : null
      : index.legacyParent(best.cls, f, targetOf(profile), (c) => ownsLifecycle(c, best.cls));
  if (parent) {
    const has = [parent.cls.bindsServer && 'binds its server', (parent.cls.runsLoop || parent.cls.methods.includes('run')) && 'runs its main loop'].filter(Boolean);
    const said = has.join(' and ') || 'installs its signal handlers';
    return {
      skipped: {
        file: rel,
        line: best!.cls.line,
        reason: `${best!.cls.name} (${rel}:${best!.cls.line}) is the agent ${best!.cls.constructedInEntry ? 'the entry point constructs' : 'of this file'}, but ${parent.cls.name} (${parent.rel}:${parent.cls.line}), ` +
          `an in-repository base not on ${target}, ${said}${subclassByHand(parent.cls.name, target)}`,
      },
      parent: { ...parent, agent: best!.cls },
    };
  }
  if (!agentLike) {
    const onlyRecords = candidates.length === 0;
    // A @dataclass that binds its server or runs its loop is the agent, but its __init__ is generated from
    // its fields: nothing can call super().__init__() from it (and one written beside the fields replaces
    // the generated one). Said as such, not as "records only".
    const dataclassAgent = onlyRecords ? f.classes.find((c) => c.dataclassAgent) : undefined;
    if (dataclassAgent) {
      return {
        skipped: {
          file: rel,
          line: dataclassAgent.line,
          reason: `${dataclassAgent.name} (${rel}:${dataclassAgent.line}) is a @dataclass agent (it ${dataclassAgent.dataclassAgent}): ` +
            `its __init__ is generated from its fields and ${target}.__init__() can only be called from its __post_init__, ` +
            `but ${dataclassAgent.dataclassBlocker ?? 'it cannot be'}; migrate it by hand (or make it a plain class)`,
        },
      };
    }
    if (onOtherBase.length && (!best || best.score < 3 || !structural(best))) return { skipped: { file: rel, reason: onOtherBase.join('; ') } };
    const threadAgent = onlyRecords ? f.classes.find((c) => c.threadAgent) : undefined;
    if (threadAgent) {
      return {
        skipped: {
          file: rel,
          line: threadAgent.line,
          reason: `${threadAgent.name} (${rel}:${threadAgent.line}) is an agent the entry point constructs, ${threadAgent.threadAgent}; ` +
            `its run() is the thread's body, which ${target}'s run() (the main loop) would replace; migrate it by hand ` +
            `(keep the thread as an attribute the agent starts, then put the agent on ${target})`,
        },
      };
    }
    // A class of the file that agents elsewhere are built on (even on a record-like base such as
    // threading.Thread): said as such, with its agents, not as "records only" or "helper library".
    for (const cls of f.classes) {
      if (cls.constructedInEntry) continue;
      const reason = baseOfAgentsReason(f, cls, index, profile);
      if (reason) return { skipped: { file: rel, line: cls.line, reason } };
    }
    return {
      skipped: {
        file: rel,
        reason: onlyRecords
          ? 'records only (dataclasses, enums, exceptions, handlers); no agent class'
          : f.mainGuard
            ? 'script or helper library: no class is constructed by the entry point, binds a socket or runs a main loop'
            : 'helper library: no class binds a socket, runs a main loop or is constructed by an entry point',
      },
    };
  }
  const migrated = best.evidence.includes(`inherits ${target}`);
  // One agent per file is migrated: another class that would be an agent on its own stays as it
  // is, and says so (a file holding two roles, chosen by a flag, is a person's call to split).
  const otherClasses = candidates.filter((c) => c !== best && c.score >= 3 && structural(c) && !c.evidence.includes(`inherits ${target}`));
  // Such a class once moved onto the target by hand (the way the reason below asks) is still listed, as migrated,
  // so status and report show it leave legacy instead of vanishing. Only a concrete one nothing else builds or
  // subclasses: an intermediate parent on the target is no agent.
  const movedClasses = candidates.filter((c) => c !== best && c.evidence.includes(`inherits ${target}`) && c.cls.constructedInEntry &&
    !c.cls.constructedByOthers && !c.cls.abstract && index.subclassCount(c.cls.name) === 0);
  const otherEvidence = (c: Candidate) => c.evidence.filter((e) => !e.includes('helper')).join(', ') || 'agent-like methods';
  // Built in the same run but never started there (handed to the agent it runs): a helper in this process.
  const runsBeside = (c: Candidate) => best.cls.constructedBeside?.includes(c.cls.name) && !(best.cls.runByEntry && !c.cls.runByEntry);
  const otherAdvice = (c: Candidate) =>
    runsBeside(c)
      ? `the entry point constructs it in the same run as ${best.cls.name}, ` +
        `and one agent per file is migrated: it stays a legacy agent (its own health, sockets and loop) beside ${best.cls.name} on ${target}; migrate it too by hand, or move it to a file of its own and migrate that`
      : `${best.cls.constructedBeside?.includes(c.cls.name) ? `the entry point builds one but starts only ${best.cls.name}; ` : ''}one agent per file is migrated`;
  const others = otherClasses.map((c) => `${runsBeside(c) ? OTHER_AGENT_BESIDE : OTHER_AGENT_EVIDENCE} ${c.cls.name} (line ${c.cls.line}: ${otherEvidence(c)}); ${otherAdvice(c)}`);
  return {
    agent: {
      name: best.cls.name,
      file: rel,
      language: 'python',
      class: best.cls.name,
      status: migrated ? 'migrated' : 'legacy',
      findings: best.cls.findings,
      line: best.cls.line,
      evidence: [...best.evidence.filter((e) => !e.includes('helper')), ...others],
      ...(otherClasses.length || movedClasses.length ? {
        other_agents: [
          ...otherClasses.map((c) => ({
            class: c.cls.name,
            line: c.cls.line,
            status: 'legacy' as const,
            findings: c.cls.findings,
            reason: `a second legacy agent of ${rel} (${otherEvidence(c)}), beside ${best.cls.name}, the file's agent: ${otherAdvice(c)}` +
              `${runsBeside(c) ? '' : `; migrate it by hand, or move it to a file of its own and migrate that`}`,
          })),
          ...movedClasses.map((c) => ({
            class: c.cls.name,
            line: c.cls.line,
            status: 'migrated' as const,
            findings: c.cls.findings,
            reason: `a second agent of ${rel}, beside ${best.cls.name}, the file's agent: on ${target} already (one agent per file is migrated by migrate, this one was moved by hand)`,
          })),
        ].sort((x, y) => x.line - y.line),
      } : {}),
      ...(best.cls.healthPaths ? { health_paths: best.cls.healthPaths } : {}),
      ...healthPortInfo(best.cls, f, index),
      ...(best.cls.portDefault !== undefined ? { port_default: best.cls.portDefault } : {}),
    },
  };
}

/** AgentInfo.health_port: the class's own health server's port, else the one an in-repository parent's binds for it. */
function healthPortInfo(cls: ClassFacts, f: PythonFileFacts, index: ClassIndex): Pick<AgentInfo, 'health_port'> {
  const fact: (HealthPortFact & { file?: string }) | undefined = cls.healthPort ?? inheritedHealthPort((c: ClassFacts, m: PythonFileFacts) => index.parentsOf(c, m, true), cls, f);
  if (!fact) return {};
  const { file } = fact;
  return {
    health_port: {
      ...(fact.value !== undefined ? { default: fact.value } : {}),
      ...(fact.fromPort !== undefined ? { port_offset: fact.fromPort } : {}),
      line: fact.line,
      ...(file && file !== f.rel ? { file } : {}),
    },
  };
}

const CLASSES: ReadonlySet<string> = new Set(['class_definition']);
const IDENTIFIERS: ReadonlySet<string> = new Set(['identifier']);
const STRINGS: ReadonlySet<string> = new Set(['string']);

/** A class whose bases name an HTTP request handler (`class _H(BaseHTTPRequestHandler)`). */
function isHttpHandler(n: SyntaxNode): boolean {
  return (n.childForFieldName('superclasses')?.namedChildren ?? []).some((b) => HTTP_HANDLER_BASE.test(b.text.replace(/^.*\./, '')));
}

/**
 * The classes of this file built on `cls` when they are all the repository builds on it, define no method (class
 * constants only), have no subclasses of their own, and the entry point constructs one of them; else none.
 */
function constantOnlySubclasses(f: PythonFileFacts, cls: ClassFacts, index: ClassIndex): ClassFacts[] {
  const kids = f.classes.filter((c) => c !== cls && c.bases.includes(cls.name));
  if (!kids.length || kids.length !== index.subclassCount(cls.name) || cls.abstract) return [];
  if (kids.some((c) => c.methods.length || c.bases.length !== 1 || index.subclassCount(c.name) > 0)) return [];
  return kids.some((c) => c.constructedInEntry) ? kids : [];
}

/** Paths a health endpoint answers that the base's /health stands in for (the TypeScript scan's BASE_PATHS, /metrics aside). */
const HEALTH_ONLY_PATHS = new Set(['/health', '/healthz', '/ready', '/readyz', '/live', '/livez', '/ping']);

/**
 * The paths the agent's own HTTP health server answers (`if self.path == "/live":` in a request handler
 * nested in its methods, or one of the module's the class names), when they are only paths the base
 * stands in for and not /health alone: the validator asks the legacy's ports those too, so that its
 * health port (answering /live only) is not read as a business port (see healthPathsOf in the TS scan).
 */
function healthPathsOf(cls: PyClass, handlerClasses: readonly PyClass[]): Pick<ClassFacts, 'healthPaths'> {
  const handlers: SyntaxNode[] = [];
  walkTypes(cls.node, CLASSES, (n) => {
    if (n.id !== cls.node.id && isHttpHandler(n)) handlers.push(n);
  });
  // The module's other handler classes count when the class names them: its identifiers are read
  // only when there is such a class (most modules have none, and a class's identifiers were two
  // fifths of all the positions the scan's searches passed).
  const others = handlerClasses.filter((h) => h.node.id !== cls.node.id);
  if (others.length) {
    const named = new Set<string>();
    walkTypes(cls.node, IDENTIFIERS, (n) => {
      named.add(n.text);
    });
    for (const other of others) if (named.has(other.name)) handlers.push(other.node);
  }
  const paths = new Set<string>();
  for (const h of handlers) {
    const routes = new Set<string>();
    walkTypes(h, STRINGS, (n) => {
      const r = routeString(n);
      if (r !== null) routes.add(r.replace(/\/+$/, '') || '/');
    });
    if (routes.size && [...routes].every((r) => HEALTH_ONLY_PATHS.has(r))) for (const r of routes) paths.add(r);
  }
  return [...paths].some((r) => r !== '/health') ? { healthPaths: [...paths].sort() } : {};
}

/**
 * The skip reason of a class other agents of the repository are built on (null when none is):
 * names them, and when the class holds their infrastructure (binds the server, runs the loop,
 * defines run()) and does not reach the target, says it is to be moved onto the target by hand,
 * as each subclass's own skip says.
 */
function baseOfAgentsReason(f: PythonFileFacts, cls: ClassFacts, index: ClassIndex, profile: Profile): string | null {
  const kids = index.agentSubclasses(cls);
  if (kids.length === 0) return null;
  const target = profile.base_class;
  // An agent built on this class through one between (`PortCollector(PollingService)`) says so: the class it names is not its parent.
  const shown = kids.slice(0, 5).map((k) => `${k.cls.name} (${k.rel}:${k.cls.line}${k.via ? `, through ${k.via.join(', ')}` : ''})`);
  const more = kids.length > shown.length ? ` and ${kids.length - shown.length} more` : '';
  const named = more ? `${shown.join(', ')}${more}` : shown.length > 1 ? `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}` : shown[0]!;
  const count = `${kids.length} agent${kids.length === 1 ? '' : 's'}`;
  const head = `base class of ${count}: ${cls.name} (${f.rel}:${cls.line}) is what ${named} ${kids.length === 1 ? 'is' : 'are'} built on, not an agent itself`;
  if (index.reaches(cls, f, targetOf(profile))) return `${head}; it already reaches ${target}`;
  const holds = cls.bindsServer || cls.runsLoop || cls.methods.includes('run');
  if (!holds) return `${head}; each subclass is classified as an agent on its own`;
  if (cls.loopFlag && !cls.bindsServer) {
    return `${head}; a loop mixin: it holds only a run() loop (while self.${cls.loopFlag}) and none of the rest of the lifecycle, ` +
      `so each agent on it keeps it ahead of ${target} in its bases, its loop the agent's main loop; nothing to migrate here`;
  }
  return `${head}${baseByHand(cls.name, target)}`;
}

/**
 * The advice a subclass of a lifecycle-owning in-repository base, and that base, are given. A ready base
 * migration unit drops it (src/discover/base-units.ts): `migrate run <base>` moves them, nothing by hand.
 */
export const subclassByHand = (base: string, target: string) => `: migrate ${base} onto ${target} by hand (every subclass then reaches ${target} through it)`;
export const baseByHand = (base: string, target: string) => `; migrate ${base} onto ${target} by hand (its subclasses are left for it; every subclass then reaches ${target} through it)`;

/**
 * A home-made parent that owns the lifecycle the target base owns for the agent: the main loop (a run()
 * the agent does not override) or the process's signal handlers. A parent that only binds a business
 * server of its own (a JSON-lines TCP server handing each line to the subclass), a mixin running a
 * heartbeat loop in its thread, or a loop mixin (its run() loop and nothing else of the lifecycle: the
 * agent keeps it ahead of the target, whose constructor, stop and signal handlers it shadows none of)
 * stays a base beside the target.
 */
function ownsLifecycle(c: ClassFacts, agent: ClassFacts): boolean {
  const loopOnly = !!c.loopFlag && !c.bindsServer;
  return (c.methods.includes('run') && !agent.methods.includes('run') && !loopOnly) || c.findings.some((x) => x.kind === 'signal');
}

/** How the scan's evidence names another agent-like class of the file, left as it is (the run warns with it). */
export const OTHER_AGENT_EVIDENCE = 'another agent-like class stays as it is:';
/** The same for a class the entry point runs in the same process as the agent (the run reviews it). */
export const OTHER_AGENT_BESIDE = 'another legacy agent of this file runs beside it, left as it is:';

/** A method whose body only raises NotImplementedError (after an optional docstring). */
function hasAbstractMethod(cls: PyClass): boolean {
  for (const m of cls.methods.values()) {
    if (m.decorators.some((d) => /abstractmethod/.test(d))) return true;
    const body = m.body.namedChildren.filter((s) => s.type !== 'comment' && !(s.type === 'expression_statement' && s.namedChild(0)?.type === 'string'));
    if (body.length === 1 && body[0]!.type === 'raise_statement' && /NotImplementedError/.test(body[0]!.text)) return true;
  }
  return false;
}

/**
 * For each class the entry point constructs, the other classes of the file it constructs in the same run
 * (`keeper = LeaseKeeperAgent(); reaper = LeaseReaperAgent(keeper.port)` in one main()): two constructions
 * whose nearest common statement does not choose between them (an if/elif/else, a match, a conditional
 * expression, a try and its handlers), and not one call picking a class from a registry (`PROBES[name](...)`).
 */
function constructedTogether(calls: ReadonlyArray<{ cls: string; node: SyntaxNode }>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const CHOOSES = /^(if_statement|match_statement|conditional_expression|try_statement|boolean_operator|dictionary)$/;
  for (const a of calls) {
    const up = new Set<number>();
    for (let p: SyntaxNode | null = a.node; p; p = p.parent) up.add(p.id);
    for (const b of calls) {
      if (a.cls === b.cls || a.node.id === b.node.id) continue;
      let common: SyntaxNode | null = b.node;
      while (common && !up.has(common.id)) common = common.parent;
      if (!common || CHOOSES.test(common.type)) continue;
      if (!out.has(a.cls)) out.set(a.cls, new Set());
      out.get(a.cls)!.add(b.cls);
    }
  }
  return out;
}

/** What an entry point calls to start an agent it built. */
const START_METHODS = /^(run|start|serve|serve_forever|run_forever|main_loop|loop)$/;

/**
 * Classes of the file whose instance the entry point starts: `Agent(...).run()`, or a local built from the
 * class in the same scope (`agent = Agent(...)`, `with Agent() as agent:`) whose start method it calls or
 * hands to a thread (`agent.run()`, `Thread(target=agent.run)`).
 */
function entryRuns(module: ModuleModel, scopes: SyntaxNode[]): Set<string> {
  const out = new Set<string>();
  const factories = new Map(module.classes.map((c) => [c, factoryMethods(c)]));
  const built = (call: SyntaxNode | null | undefined) =>
    call?.type === 'call' ? module.classes.filter((c) => constructsClass(call, c, factories.get(c))).map((c) => c.name) : [];
  for (const s of scopes) {
    const locals = new Map<string, string[]>();
    walkTypes(s, ENTRY_BINDINGS, (n) => {
      if (n.type === 'assignment' && n.childForFieldName('left')?.type === 'identifier') {
        const names = built(n.childForFieldName('right'));
        if (names.length) locals.set(n.childForFieldName('left')!.text, names);
      } else if (n.type === 'as_pattern') {
        const target = n.childForFieldName('alias')?.text.trim();
        const names = built(n.namedChild(0));
        if (target && /^\w+$/.test(target) && names.length) locals.set(target, names);
      }
    });
    walkTypes(s, ENTRY_ATTRIBUTES, (n) => {
      const method = n.childForFieldName('attribute')?.text ?? '';
      if (!START_METHODS.test(method)) return;
      const obj = n.childForFieldName('object');
      const names = obj?.type === 'identifier' ? locals.get(obj.text) ?? [] : built(obj);
      // Called, or handed on uncalled (a thread's target).
      const called = n.parent?.type === 'call' && n.parent.childForFieldName('function')?.id === n.id;
      const handed = n.parent?.type === 'keyword_argument' && n.parent.childForFieldName('value')?.id === n.id;
      if (called || handed) for (const name of names) out.add(name);
    });
  }
  return out;
}

const ENTRY_BINDINGS: ReadonlySet<string> = new Set(['assignment', 'as_pattern']);
const ENTRY_ATTRIBUTES: ReadonlySet<string> = new Set(['attribute']);

/**
 * The calls in the __main__ guard and the module functions it calls (`scopes`, see entryScopes) that
 * construct a class of the file, in order, one entry per class a call constructs.
 */
function entryConstructionCalls(module: ModuleModel, scopes: SyntaxNode[]): Array<{ cls: string; node: SyntaxNode }> {
  const calls: Array<{ cls: string; node: SyntaxNode }> = [];
  if (scopes.length === 0) return calls;
  const factories = new Map(module.classes.map((c) => [c, factoryMethods(c)]));
  for (const s of scopes) {
    walkTypes(s, CALLS, (n) => {
      if (n.type !== 'call') return;
      // Agent(...) or an alternate constructor, Agent.from_env(...)
      for (const c of module.classes) if (constructsClass(n, c, factories.get(c))) calls.push({ cls: c.name, node: n });
    });
  }
  return calls;
}

/** The line of the first call in the class (nested classes aside) that binds a server; 0 when none. */
function serverBindLine(cls: PyClass): number {
  let found = 0;
  walkTypes(cls.body, CLASSES_AND_CALLS, (n) => {
    if (found) return false;
    if (n.type === 'class_definition' && n.id !== cls.node.id) return false;
    if (n.type === 'call') {
      const fn = callee(n) ?? '';
      if (/\.(bind|listen)$|(^|\.)(HTTPServer|ThreadingHTTPServer|TCPServer|ThreadingTCPServer|UDPServer|start_server|serve)$/.test(fn)) found = n.startPosition.row + 1;
    }
  });
  return found;
}

function runsLoop(cls: PyClass): boolean {
  let found = false;
  walkTypes(cls.body, CLASSES_AND_LOOPS, (n) => {
    if (found) return false;
    if (n.type === 'class_definition' && n.id !== cls.node.id) return false;
    if (n.type === 'while_statement') {
      const cond = n.childForFieldName('condition')?.text ?? '';
      if (/^(True|1)$|self\.|running|stop|shutdown/.test(cond)) found = true;
    }
  });
  return found;
}

const REGISTRY_NAME = /regist(er|ry|ration)|discover(y)?_service|service_registry/i;
const KIND_BY_NAME: Array<[FindingKind, RegExp]> = [
  ['queue', /queue|drain|backlog|pending|unsent|outbox|buffer_events/i],
  ['retry', /retr(y|ies)|backoff|reconnect|attempts/i],
  ['publish', /^_?(publish|emit|send_event|broadcast)|_pub(_socket)?$|publisher/i],
  ['registry', REGISTRY_NAME],
  ['metrics', /metric|prometheus|stats_(push|report)|_report_stats/i],
  ['signal', /^_?(handle_)?(signal|sigterm|sigint)(_handler)?$|_on_signal|shutdown_handler/i],
];

/** Ad-hoc infrastructure the agent carries, by name and by shape, with the line. */
export function findingsOf(cls: PyClass, module: ModuleModel): Finding[] {
  const out: Finding[] = [];
  // `symbol` names the member; what in it was found (a loop, a call) goes in `detail`.
  const add = (kind: FindingKind, symbol: string, line: number, detail?: string) => {
    if (!out.some((f) => f.kind === kind && f.symbol === symbol && f.detail === detail)) out.push({ kind, symbol, line, ...(detail ? { detail } : {}) });
  };
  for (const [name, fn] of cls.methods) {
    if (HEALTH_LOOP_METHOD.test(name) || HEALTH_PAYLOAD_METHOD.test(name)) add('health', name, fn.line);
    for (const [kind, re] of KIND_BY_NAME) if (re.test(name)) add(kind, name, fn.line);
    let locals: ReadonlySet<string> | undefined;
    const methodLocals = () => (locals ??= boundNames(fn.node));
    walkTypes(fn.body, FINDING_TYPES, (n) => {
      if (n.type === 'class_definition') {
        const nested = n.childForFieldName('superclasses')?.text ?? '';
        if (HTTP_HANDLER_BASE.test(nested.replace(/[()]/g, '').trim())) add('health', n.childForFieldName('name')!.text, n.startPosition.row + 1);
        return false;
      }
      if (n.type === 'while_statement') {
        const cond = n.childForFieldName('condition')?.text ?? '';
        if (/^(True|1)$|running|stop|shutdown/.test(cond)) add('loop', name, n.startPosition.row + 1, `while ${cond}`);
      }
      if (n.type === 'call') {
        const f = callee(n) ?? '';
        // signal.signal(...), and asyncio's loop.add_signal_handler(...) (any receiver: a loop got any way).
        if (/^(signal\.)?signal$|\.add_signal_handler$/.test(f)) add('signal', name, n.startPosition.row + 1, n.text.split('\n')[0]!.slice(0, 60));
        // The callee's text holds the receiver and the method: a registry name in neither leaves the
        // client question (and the method's local bindings it reads) unasked.
        const client = REGISTRY_NAME.test(f) ? moduleClientCall(n, fn.node, module, methodLocals) : null;
        if (client && (REGISTRY_NAME.test(client.receiver) || REGISTRY_NAME.test(client.method))) add('registry', name, n.startPosition.row + 1, `${client.receiver}.${client.method}() on a module-level client`);
        if (/(^|\.)Context(\.instance)?$/.test(f)) add('socket', name, n.startPosition.row + 1, `${f}()`);
        if (/\.bind$/.test(f)) add('socket', name, n.startPosition.row + 1, n.text.split('\n')[0]!.slice(0, 60));
        if (isStatsdSend(n, fn.body)) add('metrics', name, n.startPosition.row + 1, 'statsd lines over UDP');
      }
      if (n.type === 'assignment') {
        const attr = selfAttribute(n.childForFieldName('left')!);
        if (attr) {
          if (HEALTH_ATTRIBUTE.test(attr)) add('health', attr, n.startPosition.row + 1);
          else for (const [kind, re] of KIND_BY_NAME) if (re.test(attr)) add(kind, attr, n.startPosition.row + 1);
        }
      }
    });
  }
  for (const other of module.classes) {
    if (other === cls) continue;
    const bases = other.bases.map(baseName);
    if (HEALTH_SIDECAR_CLASS.test(other.name) || (bases.some((b) => b && HTTP_HANDLER_BASE.test(b)) && /health/i.test(other.name))) {
      add('health', other.name, other.line);
    }
  }
  return out.sort((a, b) => a.line - b.line || a.kind.localeCompare(b.kind));
}

export async function scanPython(root: string, files: string[], profile: Profile, threads: ThreadChoice = {}, parses?: ParseStore): Promise<ScanResult> {
  const { read, skipped } = await readPythonFiles(root, files, targetOf(profile), threads, parses);
  const index = new ClassIndex(read);
  const agents: AgentInfo[] = [];
  const onParents: UnitMemberSkip[] = [];
  for (const f of read) {
    const r = classifyPythonFile(f, index, profile);
    if (r.agent) agents.push(r.agent);
    else if (r.skipped) {
      skipped.push(r.skipped);
      if (r.parent) onParents.push({ skip: r.skipped, module: f, agent: r.parent.agent, base: r.parent.cls, baseRel: r.parent.rel });
    }
  }
  let units: BaseUnit[] = [];
  if (onParents.length) {
    // The engine's rewrite of each unit's base, in memory: loaded only when the repository has a unit.
    const { previewBase } = await import('./base-preview.js');
    const sources = { preview: (rel: string, cls: string, text?: string, unit?: UnitRewrite) => previewBase(root, rel, cls, profile, text, unit), read: (rel: string) => readFileSync(path.join(root, rel), 'utf8') };
    units = baseUnits(onParents, skipped, index, { name: profile.base_class, mainLoop: profile.python?.main_loop_method ?? null, ...targetMembers(root, profile) }, sources);
  }
  return units.length ? { agents, skipped, units } : { agents, skipped };
}

/** The methods and attributes of the profile's base (learned from its source in the repository, else the profile's lists). */
function targetMembers(root: string, profile: Profile): { methods: ReadonlySet<string>; attributes: ReadonlySet<string> } {
  const py = profile.python;
  if (!py) return { methods: new Set(), attributes: new Set() };
  try {
    const model = loadBaseModel(root, py, profile.base_class);
    return { methods: model.methods, attributes: new Set(model.attributes.keys()) };
  } catch {
    return { methods: new Set(py.fallback.methods), attributes: new Set(py.fallback.owned_attributes) };
  }
}

/** A `while True:` / `while 1:` loop outside any function or class (the main guard included). */
/**
 * A service loop in a module-level function the entry point reaches by name (directly or as the
 * argument of asyncio.run / a thread target): `while True`, or a loop that sleeps or waits between
 * rounds (`while not stop: ... await asyncio.sleep(INTERVAL)`).
 */
function entryLoop(module: ModuleModel): { fn: string; loop: SyntaxNode } | null {
  if (!module.mainGuard) return null;
  const seen = new Set<string>();
  const queue: SyntaxNode[] = [module.mainGuard];
  while (queue.length) {
    const scope = queue.shift()!;
    let found: SyntaxNode | null = null;
    walkTypes(scope, ENTRY_LOOP_TYPES, (n) => {
      if (found) return false;
      if (n !== scope && (n.type === 'function_definition' || n.type === 'class_definition')) return false;
      if (n.type === 'identifier' && module.functions.has(n.text) && !seen.has(n.text)) {
        seen.add(n.text);
        queue.push(module.functions.get(n.text)!.body);
      }
      if (n.type === 'while_statement' && scope !== module.mainGuard) {
        const cond = n.childForFieldName('condition')?.text ?? '';
        let waits = false;
        walkTypes(n.childForFieldName('body')!, CALLS, (b) => {
          if (b.type === 'call' && /(^|\.)(sleep|wait)$/.test(callee(b) ?? '')) waits = true;
        });
        if (/^(True|1)$/.test(cond) || waits) found = n;
      }
    });
    if (found) {
      const fn = [...module.functions.entries()].find(([, f]) => f.body.id === scope.id)?.[0] ?? '';
      return { fn, loop: found };
    }
  }
  return null;
}

function moduleLoop(root: SyntaxNode): SyntaxNode | null {
  let found: SyntaxNode | null = null;
  walkTypes(root, DEFINITIONS_AND_LOOPS, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'class_definition') return false;
    if (n.type === 'while_statement' && /^(True|1)$/.test(n.childForFieldName('condition')?.text ?? '')) found = n;
  });
  return found;
}
