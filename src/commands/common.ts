// Small checks every command shares: which root, and the --verbose lines that say so.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError, oneLine } from '../core/errors.js';
import { profileFor, type Profile } from '../profile/profile.js';
import { chooseProfile, type ChooseOptions, type LanguageChoice, type ProfileChoice, type ProfileJson } from '../profile/choose.js';
import { io } from '../core/invocation.js';
import { revParseFact } from '../record/repo-facts.js';
import { withListingKept } from '../discover/files.js';
import { scanRepository, type ScanOptions } from '../discover/scan.js';
import type { ScanResult } from '../core/types.js';

/** Flags every command takes. */
export interface CommonFlags {
  /** The repository root; when absent, the git top level of the current directory. */
  root?: string;
  verbose?: boolean;
}

export function requireDirectory(dir: string): string {
  const abs = path.resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new UsageError(`--root ${dir}: not a directory`);
  return abs;
}

/** The git work tree's top level above `dir`, or null outside one. */
export function gitTopLevel(dir: string): string | null {
  return revParseFact(dir, ['--show-toplevel'])?.trim() || null;
}

/**
 * The root a command works on: `--root` when given, else the git top level of the
 * current directory (so running from `agents/` migrates exactly as running from the top:
 * same base class source, same configs), else the current directory.
 */
export function resolveRoot(flags: CommonFlags, cwd = process.cwd()): string {
  if (flags.root !== undefined) {
    const root = requireDirectory(flags.root);
    verbose(flags, `root ${root} (--root)`);
    return root;
  }
  const top = gitTopLevel(cwd);
  const root = top ?? path.resolve(cwd);
  verbose(flags, top ? `root ${root} (the git top level of ${path.resolve(cwd)})` : `root ${root} (the current directory; it is not in a git work tree)`);
  return root;
}

/**
 * The command's profile: `--profile`, else the config's `profile:`, else detected from the
 * repository (profile/choose.ts), else base-agent; --verbose says which and why.
 */
export function commandProfile(flags: { profile?: string; verbose?: boolean }, root: string, opts: ChooseOptions = {}): ProfileChoice {
  const choice = chooseProfile(root, flags.profile, opts);
  verbose(flags, `profile ${choice.profile.name} (${choice.profile.file}), ${choice.chosen_by}: ${choice.reason}`);
  const ts = choice.languages.typescript;
  if (ts !== choice.languages.python) verbose(flags, `profile for TypeScript and JavaScript files: ${ts.profile.name} (${ts.profile.file}), ${ts.chosen_by}: ${ts.reason}`);
  return choice;
}

/**
 * A read-only command's profile (commandProfile) and the scan of the root with it, both reading one
 * listing of the root (withListingKept: a command that writes no source file lists it once). `opts.ignore`
 * leaves files out of both.
 */
export function profiledScan(flags: { profile?: string; verbose?: boolean }, root: string, opts: ScanOptions = {}): Promise<{ choice: ProfileChoice; scan: ScanResult }> {
  return withListingKept(async () => {
    const choice = commandProfile(flags, root, { ignore: opts.ignore });
    return { choice, scan: await scanRepository(root, choice.profile, opts) };
  });
}

/** The `profile` object of a --json output: the choice (as before), and each language's (`languages`). */
export function profileJson(choice: ProfileChoice): ProfileJson {
  const each = (c: LanguageChoice) => ({ name: c.profile.name, chosen_by: c.chosen_by, reason: c.reason });
  return { ...each(choice), languages: { python: each(choice.languages.python), typescript: each(choice.languages.typescript) } };
}

/** One `migrate: ...` line on stderr with --verbose. */
export function verbose(flags: { verbose?: boolean }, line: string): void {
  if (flags.verbose) io.stderr.write(`migrate: ${line}\n`);
}

/**
 * With --verbose, which base model the rewrite uses per language: learned from the base
 * class's own source in the repository, or (Python) the profile's declared lists, or
 * (TypeScript) the reference template shipped with migrate. A run from the wrong root
 * silently falls back; this line makes that visible.
 */
export async function reportBaseModels(flags: { verbose?: boolean }, root: string, chosen: Profile): Promise<void> {
  if (!flags.verbose) return;
  const rel = (f: string) => path.relative(root, f).split(path.sep).join('/');
  // Two Python fleets (Profile.pythonSplit): each base model is named.
  for (const profile of [profileFor(chosen, 'python'), ...(chosen.pythonSplit ? [chosen.pythonSplit.other] : [])]) {
    if (!profile.python) continue;
    const { loadBaseModel } = await import('../analysis/base-model.js');
    const model = loadBaseModel(root, profile.python, profile.base_class);
    verbose(
      flags,
      model.learnedFrom === 'source'
        ? `python base model: ${profile.base_class} learned from ${rel(model.sourceFile!)}`
        : `python base model: profile ${profile.name}'s declared lists (no class ${profile.base_class} in ${profile.python.source ?? 'the repository'})`,
    );
  }
  const profile = profileFor(chosen, 'typescript');
  if (profile.typescript) {
    const { loadBaseModel } = await import('../lang/typescript/base-model.js');
    try {
      const model = loadBaseModel(root, profile);
      verbose(flags, `typescript base model: ${profile.base_class} from ${model.inRepository ? rel(model.file) : `migrate's reference template ${path.basename(model.file)} (none in the repository)`}`);
    } catch (err) {
      verbose(flags, `typescript base model: none (${oneLine(err)})`);
    }
  }
}
