// Verify a batch of TypeScript outputs with one ts-morph Project: each `_v2` file must
// type-check against the target base (the repository's copy, or the reference template placed
// where the profile imports it from), and rewriting it again must change nothing.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Node, Project, SyntaxKind, ts, type SourceFile } from 'ts-morph';
import type { VerifyError, VerifyRequest } from '../../pipeline/language.js';
import { collectIfHeapGrew } from '../../core/heap.js';
import { count, counting } from '../../core/counters.js';
import { baseFileInRepo, isRelativeModule, loadBaseModel, tsProfile } from './base-model.js';
import { emitSemantics, type EmitSemantics } from './build-kind.js';
import { compilerOptionsFor, holdingLibraryDeclarations, shareLibraryDeclarations } from './project.js';
import { legacyPath } from './paths.js';
import { rewriteTypeScript } from './rewrite.js';
import { isJsFile } from './syntax.js';
import { lostMemberError } from './lost-members.js';
import { moduleAliases } from './build-kind.js';

/**
 * What a JavaScript output is checked for (it has no types to check): names and members that
 * resolve to nothing — a dangling reference — and a constructor that touches `this` before
 * super() or never calls it.
 */
const JS_DANGLING = new Set([2304, 2339, 2551, 2552, 2662, 2663, 18004, 17009, 2377]);

/** Ambient declarations a repository keeps for itself (types/*.d.ts and the like), bounded. */
function ambientDeclarations(root: string, limit = 200): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 4 || out.length >= limit) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name === 'node_modules' || e.name.startsWith('.') || e.name === 'dist') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  walk(root, 0);
  return out;
}

/**
 * How many outputs one program type-checks. Each program (its files, types and checker) is
 * dropped before the next, so memory stays flat in fleet size; one program for a whole fleet
 * held every output and legacy file with all their types at once (about 3 GB at 1,000
 * TypeScript agents) and spent a third of its time collecting garbage. A new program costs
 * its checker's warm-up on the shared declarations (a few tenths of a second), hence not fewer.
 */
export const OUTPUTS_PER_PROGRAM = 50;

export async function verifyTypeScript(reqs: VerifyRequest[], outputsPerProgram = OUTPUTS_PER_PROGRAM): Promise<VerifyError[]> {
  if (reqs.length === 0) return [];
  return holdingLibraryDeclarations(() => verifyInPrograms(reqs, outputsPerProgram));
}

async function verifyInPrograms(reqs: VerifyRequest[], outputsPerProgram: number): Promise<VerifyError[]> {
  const results: VerifyError[] = reqs.map(() => null);
  // In this process: groups in worker threads were measured no faster on 2 cores and each
  // worker's heap grew to the same plateau (twice the memory).
  // Outputs whose tsconfig.json changes what decorators mean (experimentalDecorators) are checked
  // in programs of their own with those options, as the repository's build checks them.
  const bySemantics = new Map<string, number[]>();
  reqs.forEach((req, i) => {
    const key = JSON.stringify(emitSemantics(req.root, path.relative(req.root, req.outputFile)));
    (bySemantics.get(key) ?? bySemantics.set(key, []).get(key)!).push(i);
  });
  for (const [key, members] of bySemantics) {
    const verifier = new TsVerifier({ root: reqs[members[0]!]!.root, profile: reqs[members[0]!]!.profile, options: JSON.parse(key) as EmitSemantics });
    const subset = members.map((i) => reqs[i]!);
    for (const group of programGroups(subset, outputsPerProgram)) {
      verifier.check(group.map((i) => subset[i]!)).forEach((e, k) => (results[members[group[k]!]!] = e));
      collectIfHeapGrew();
      // Let the event loop turn between programs (a Ctrl-C, the progress bar).
      await new Promise((r) => setImmediate(r));
    }
  }
  return results;
}


/** What a batch's programs are configured from: its first request's repository and profile. */
export interface VerifySettings {
  root: string;
  profile: VerifyRequest['profile'];
  /** The repository's options that change what code means (see build-kind.ts). */
  options?: EmitSemantics;
}

/**
 * Type-checks groups of outputs, one program per group, against the declarations every group
 * needs (lib, @types, the base, the repository's ambient .d.ts files): these are parsed and
 * bound once and reused by each group's program; the group's own files go with it.
 */
export class TsVerifier {
  private readonly project: Project;
  private readonly shared = new Set<string>();
  private readonly roots = new Set<string>();
  /** The roots as `resolve()` matches files against them (absolute, with a trailing separator), longest first. */
  private rootPrefixes: { root: string; prefix: string }[] = [];
  /**
   * Module resolutions while one program is built: its files' imports repeat (every output and
   * legacy file imports the same modules, each declaration file of a package its neighbours),
   * and each was resolved anew, probing the disk (a fifth of verify's CPU). Dropped before the
   * next program, whose in-memory files differ; the compiler's own program keeps one the same way.
   */
  private resolutions: ts.ModuleResolutionCache | undefined;

  constructor(settings: VerifySettings) {
    // A base imported by package name that the repository has not installed: type-check against
    // the reference template mapped to that name (`paths`), as the base it stands for.
    const spec = tsProfile(settings.profile).module;
    const paths: Record<string, string[]> = {};
    let virtualPackage: string | null = null;
    if (!isRelativeModule(spec) && !existsSync(path.join(settings.root, 'node_modules', spec))) {
      virtualPackage = path.join(settings.root, '.migrate-virtual', `${spec.replace(/[^A-Za-z0-9_.-]+/g, '_')}.ts`);
      paths[spec] = [virtualPackage];
    }
    // JavaScript outputs are checked too (checkJs), but only for what breaks them: see JS_DANGLING.
    this.project = new Project({
      compilerOptions: { ...compilerOptionsFor(settings.root), ...settings.options, paths, allowJs: true, checkJs: true },
      skipAddingFilesFromTsConfig: true,
      resolutionHost: (host, options) => ({ resolveModuleNames: (names, containingFile) => names.map((n) => this.resolve(n, containingFile, options(), host)) }),
    });
    shareLibraryDeclarations(this.project);
    if (virtualPackage) this.share(this.project.createSourceFile(virtualPackage, loadBaseModel(settings.root, settings.profile).source, { overwrite: true }));
  }

  /**
   * A module as the project resolves it, else, for a specifier it cannot (`@fleet/index`), as the
   * tsconfig nearest the importing file aliases it (`paths`, `baseUrl`: a service of a monorepo with
   * its own tsconfig.json), as that service's build resolves it. Before, such an import of the _v2
   * was "Cannot find module" and its use of what it imports went unchecked.
   */
  private resolve(name: string, containingFile: string, options: ts.CompilerOptions, host: ts.ModuleResolutionHost): ts.ResolvedModuleFull | undefined {
    this.resolutions ??= ts.createModuleResolutionCache(this.project.getFileSystem().getCurrentDirectory(), (f) => f, options);
    const plain = ts.resolveModuleName(name, containingFile, options, host, this.resolutions).resolvedModule;
    if (plain || /^\.{0,2}\//.test(name)) return plain;
    const file = path.resolve(containingFile);
    const root = this.rootPrefixes.find((r) => file.startsWith(r.prefix))?.root;
    const aliases = root ? moduleAliases(root, file) : null;
    return aliases ? ts.resolveModuleName(name, containingFile, { ...options, ...aliases }, host).resolvedModule : undefined;
  }

  private share(sf: SourceFile | undefined): void {
    if (sf) this.shared.add(sf.getFilePath());
  }

  /** The verdicts of one group of outputs, in order, checked in one program. */
  check(reqs: VerifyRequest[]): VerifyError[] {
    for (const req of reqs) {
      if (this.roots.has(req.root)) continue;
      this.roots.add(req.root);
      this.rootPrefixes.push({ root: req.root, prefix: path.resolve(req.root) + path.sep });
      // (the longest first, as the innermost root's aliases apply; a stable sort keeps the first added first among equals)
      this.rootPrefixes.sort((a, b) => b.root.length - a.root.length);
      const baseFile = baseFileInRepo(req.root, tsProfile(req.profile));
      if (baseFile && !existsSync(baseFile)) {
        // The repository has no base yet (`migrate init` puts it there): check against the template.
        this.share(this.project.createSourceFile(baseFile, loadBaseModel(req.root, req.profile).source, { overwrite: true }));
      }
      for (const d of ambientDeclarations(req.root)) this.share(this.project.addSourceFileAtPathIfExists(d));
    }
    this.resolutions = undefined;
    const results = checkGroup(this.project, reqs);
    // Drop the group's files (outputs, legacy files, the repository modules they import) so that
    // the next program neither holds nor sees them; declarations stay for the next group.
    for (const file of this.project.getProgram().compilerObject.getSourceFiles()) {
      if (this.shared.has(file.fileName) || file.isDeclarationFile || file.fileName.includes('/node_modules/')) continue;
      this.project.getSourceFile(file.fileName)?.forget();
    }
    // ts-morph keeps the group's program (its checker and every file of the group) as the next
    // program's "old program" until the next group asks for one: the heap held it between
    // programs and the collection that follows each group could free none of it. A program of
    // the declarations alone takes its place now (all reused from it, so it costs no parse).
    this.resolutions = undefined;
    this.project.getProgram().compilerObject;
    return results;
  }
}

/**
 * The batch in groups of at most `size` outputs (their positions), in directory order so that
 * the agents of one directory (a family, its parent) are checked together. Each output is a
 * `_v2` sibling nobody imports, so which others share its program changes nothing in its
 * diagnostics.
 */
function programGroups(reqs: VerifyRequest[], size: number): number[][] {
  const order = reqs.map((_, i) => i).sort((a, b) => {
    const da = path.dirname(reqs[a]!.outputFile);
    const db = path.dirname(reqs[b]!.outputFile);
    return da < db ? -1 : da > db ? 1 : a - b;
  });
  const groups: number[][] = [];
  const n = Math.max(1, size);
  for (let k = 0; k < order.length; k += n) groups.push(order.slice(k, k + n));
  return groups;
}

/** Type-check one group's outputs in one program (with their legacy files): a verdict per output. */
function checkGroup(project: Project, reqs: VerifyRequest[]): VerifyError[] {
  const results: VerifyError[] = reqs.map(() => null);
  const sources = new Map<number, SourceFile>();
  reqs.forEach((req, i) => {
    const sf = project.createSourceFile(req.outputFile, req.output, { overwrite: true });
    // A syntax error is the verdict: the file stays out of the program.
    const parseError = syntaxError(sf, relPath(req));
    if (parseError) {
      results[i] = parseError;
      project.removeSourceFile(sf);
    } else sources.set(i, sf);
  });
  // The legacy sources, so that type errors they already had are not blamed on the migration.
  const legacies = reqs.map((req) => {
    const legacy = legacyPath(req.outputFile);
    if (legacy === req.outputFile) return null;
    if (existsSync(legacy)) return project.addSourceFileAtPathIfExists(legacy) ?? null;
    return req.source !== undefined ? project.createSourceFile(legacy, req.source, { overwrite: true }) : null;
  });
  const program = project.getProgram().compilerObject;
  if (counting) {
    count('ts verify programs');
    for (const f of program.getSourceFiles()) count(f.isDeclarationFile ? 'ts verify declaration files in programs' : 'ts verify other files in programs');
  }
  for (const [i, sf] of sources) {
    const req = reqs[i]!;
    const rel = relPath(req);
    const legacy = legacies[i];
    const js = isJsFile(req.outputFile);
    if (counting) count('ts verify semantic diagnostics of outputs');
    const found = [...program.getSyntacticDiagnostics(sf.compilerNode), ...program.getSemanticDiagnostics(sf.compilerNode).filter((d) => !js || jsDangling(sf, d))];
    // The legacy file is checked only when the output has errors to excuse (most have none).
    const before = new Map<string, number>();
    if (legacy && found.length > 0) {
      if (counting) count('ts verify semantic diagnostics of legacy files');
      for (const d of program.getSemanticDiagnostics(legacy.compilerNode)) {
        const key = diagKey(d);
        before.set(key, (before.get(key) ?? 0) + 1);
      }
    }
    const diags = found.filter((d) => {
      const key = diagKey(d);
      const n = before.get(key) ?? 0;
      if (n === 0) return true;
      before.set(key, n - 1);
      return false;
    });
    if (diags.length > 0) {
      results[i] = diags
        .slice(0, 3)
        .map((d) => `${rel}:${d.start !== undefined ? lineAt(sf.compilerNode.text, d.start) : 1}: ${messageText(d)}`)
        .join('; ');
      continue;
    }
    // A member the output lost, read where the type check does not look (see lost-members.ts).
    const lost = legacy ? lostMemberError(req.root, legacy, sf, req.agent.class, rel) : null;
    if (lost) {
      results[i] = lost;
      continue;
    }
    // Idempotency, unless the rewrite already checked this very output (in its worker).
    results[i] = req.idempotency !== undefined ? req.idempotency : idempotencyError(req.root, req.outputFile, rel, req.output, req.agent.class, req.profile);
  }
  return results;
}

function relPath(req: VerifyRequest): string {
  return path.relative(req.root, req.outputFile).split(path.sep).join('/');
}

/** The first syntax error of a parsed output as `file:line: message`, or null. */
function syntaxError(sf: SourceFile, rel: string): string | null {
  const node = sf.compilerNode;
  const d = (node as unknown as { parseDiagnostics?: ts.Diagnostic[] }).parseDiagnostics?.[0];
  if (!d) return null;
  const line = d.start !== undefined ? node.getLineAndCharacterOfPosition(d.start).line + 1 : 1;
  return `${rel}:${line}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
}

/** 1-based line of a position, counting `\n` only (as the reports always have). */
function lineAt(text: string, pos: number): number {
  let line = 1;
  for (let k = 0; k < pos && k < text.length; k++) if (text.charCodeAt(k) === 10) line++;
  return line;
}

/** The transforms run on the output (even though it reaches the base) must change nothing: the error, or null. */
export function idempotencyError(root: string, outputFile: string, rel: string, output: string, className: string, profile: VerifyRequest['profile']): VerifyError {
  const again = rewriteTypeScript({ root, file: outputFile, source: output, className, profile, force: true });
  if (again.status === 'failed' || again.status === 'skipped') return again.error ?? `${rel}:1: a second rewrite failed`;
  if (again.output === output) return null;
  const a = output.split('\n');
  const b = (again.output ?? '').split('\n');
  let line = 0;
  while (line < a.length && a[line] === b[line]) line++;
  return `${rel}:${line + 1}: not idempotent: rewriting the output again changes this line`;
}

/** A JavaScript diagnostic that is a dangling reference (a member must be one of `this`: others are inference noise). */
function jsDangling(sf: SourceFile, d: ts.Diagnostic): boolean {
  if (!JS_DANGLING.has(d.code)) return false;
  if (d.code !== 2339 && d.code !== 2551) return true;
  const node = d.start === undefined ? undefined : sf.getDescendantAtPos(d.start);
  const access = node?.getParent();
  return !!access && Node.isPropertyAccessExpression(access) && [SyntaxKind.ThisKeyword, SyntaxKind.SuperKeyword].includes(access.getExpression().getKind());
}

function messageText(d: ts.Diagnostic): string {
  return typeof d.messageText === 'string' ? d.messageText : ts.flattenDiagnosticMessageText(d.messageText, ' ');
}

/** A diagnostic without its position: the same error in the legacy file and in its output. */
function diagKey(d: ts.Diagnostic): string {
  return `${d.code}:${messageText(d)}`;
}
