// Verify a batch of TypeScript outputs with one ts-morph Project: each `_v2` file must
// type-check against the target base (the repository's copy, or the reference template placed
// where the profile imports it from), and rewriting it again must change nothing.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Node, Project, SyntaxKind, ts, type Diagnostic, type SourceFile } from 'ts-morph';
import type { VerifyError, VerifyRequest } from '../../pipeline/language.js';
import { baseFileInRepo, isRelativeModule, loadBaseModel, tsProfile } from './base-model.js';
import { compilerOptionsFor } from './project.js';
import { parseTs, rewriteTypeScript } from './rewrite.js';
import { legacyPath } from './scan.js';
import { isJsFile } from './syntax.js';

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

export async function verifyTypeScript(reqs: VerifyRequest[]): Promise<VerifyError[]> {
  if (reqs.length === 0) return [];
  // A base imported by package name that the repository has not installed: type-check against
  // the reference template mapped to that name (`paths`), as the base it stands for.
  const first = reqs[0]!;
  const spec = tsProfile(first.profile).module;
  const paths: Record<string, string[]> = {};
  let virtualPackage: string | null = null;
  if (!isRelativeModule(spec) && !existsSync(path.join(first.root, 'node_modules', spec))) {
    virtualPackage = path.join(first.root, '.migrate-virtual', `${spec.replace(/[^A-Za-z0-9_.-]+/g, '_')}.ts`);
    paths[spec] = [virtualPackage];
  }
  // JavaScript outputs are checked too (checkJs), but only for what breaks them: see JS_DANGLING.
  const project = new Project({ compilerOptions: { ...compilerOptionsFor(first.root), paths, allowJs: true, checkJs: true }, skipAddingFilesFromTsConfig: true });
  if (virtualPackage) project.createSourceFile(virtualPackage, loadBaseModel(first.root, first.profile).source, { overwrite: true });
  const roots = new Set<string>();
  const results: VerifyError[] = reqs.map(() => null);
  const sources = reqs.map((req, i) => {
    const rel = path.relative(req.root, req.outputFile).split(path.sep).join('/');
    const parsed = parseTs(rel, req.output);
    if (parsed.error) {
      results[i] = parsed.error;
      return null;
    }
    if (!roots.has(req.root)) {
      roots.add(req.root);
      const ts_ = tsProfile(req.profile);
      const baseFile = baseFileInRepo(req.root, ts_);
      if (baseFile && !existsSync(baseFile)) {
        // The repository has no base yet (`migrate init` puts it there): check against the template.
        project.createSourceFile(baseFile, loadBaseModel(req.root, req.profile).source, { overwrite: true });
      }
      for (const d of ambientDeclarations(req.root)) project.addSourceFileAtPathIfExists(d);
    }
    return project.createSourceFile(req.outputFile, req.output, { overwrite: true });
  });
  // The legacy sources, so that type errors they already had are not blamed on the migration.
  const legacies = reqs.map((req) => {
    const legacy = legacyPath(req.outputFile);
    return legacy !== req.outputFile && existsSync(legacy) ? project.addSourceFileAtPathIfExists(legacy) ?? null : null;
  });
  const program = project.getProgram();
  sources.forEach((sf, i) => {
    if (!sf || results[i]) return;
    const req = reqs[i]!;
    const rel = path.relative(req.root, req.outputFile).split(path.sep).join('/');
    const legacy = legacies[i];
    const js = isJsFile(req.outputFile);
    const found = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf).filter((d) => !js || jsDangling(sf, d))];
    // The legacy file is checked only when the output has errors to excuse (most have none).
    const before = new Map<string, number>();
    if (legacy && found.length > 0) {
      for (const d of program.getSemanticDiagnostics(legacy)) {
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
        .map((d) => {
          const start = d.getStart();
          const line = start !== undefined ? sf.getLineAndColumnAtPos(start).line : 1;
          const m = d.getMessageText();
          return `${rel}:${line}: ${typeof m === 'string' ? m : ts.flattenDiagnosticMessageText(m.compilerObject, ' ')}`;
        })
        .join('; ');
      return;
    }
    // Idempotency, unless the rewrite already checked this very output (in its worker).
    results[i] = req.idempotency !== undefined ? req.idempotency : idempotencyError(req.root, req.outputFile, rel, req.output, req.agent.class, req.profile);
  });
  return results;
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
function jsDangling(sf: SourceFile, d: Diagnostic): boolean {
  if (!JS_DANGLING.has(d.getCode())) return false;
  if (d.getCode() !== 2339 && d.getCode() !== 2551) return true;
  const start = d.getStart();
  const node = start === undefined ? undefined : sf.getDescendantAtPos(start);
  const access = node?.getParent();
  return !!access && Node.isPropertyAccessExpression(access) && [SyntaxKind.ThisKeyword, SyntaxKind.SuperKeyword].includes(access.getExpression().getKind());
}

/** A diagnostic without its position: the same error in the legacy file and in its output. */
function diagKey(d: Diagnostic): string {
  const m = d.getMessageText();
  return `${d.getCode()}:${typeof m === 'string' ? m : ts.flattenDiagnosticMessageText(m.compilerObject, ' ')}`;
}
