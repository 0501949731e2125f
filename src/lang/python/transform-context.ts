// What every Python transform receives: the parsed module, the agent class, the base
// model, the shared removal plan and edit buffer, and the report it adds to.
// Transforms never print and never touch the file system.
import type { KeptForReview } from '../../core/types.js';
import type { Profile, PythonProfile } from '../../profile/profile.js';
import type { AgentModel } from '../../analysis/agent-model.js';
import type { BaseModel } from '../../analysis/base-model.js';
import type { ReferenceIndex } from '../../analysis/references.js';
import type { RemovalPlan, ResolvedPlan } from '../../analysis/removal-plan.js';
import type { SyntaxNode } from './parser.js';
import type { EditBuffer } from './edit-buffer.js';
import type { ModuleModel, PyClass } from './module-model.js';
import type { Layout } from './text.js';
import type { ExternalUse } from '../../analysis/repo-references.js';
import type { ImportedTarget, InheritedClass } from '../../analysis/inherited.js';

export interface PythonTransformContext {
  /** File path for messages (relative to the root). */
  file: string;
  /** The repository root and the agent's own file relative to it (null without a root). */
  location?: { root: string; agentFile: string } | null;
  source: string;
  layout: Layout;
  module: ModuleModel;
  agent: AgentModel;
  profile: Profile;
  py: PythonProfile;
  base: BaseModel;
  /** Attributes and methods the base provides. */
  baseOwned: Set<string>;
  refs: ReferenceIndex;
  plan: RemovalPlan;
  /** Set once the removal plan is resolved (before the edit phase). */
  resolved: ResolvedPlan | null;
  edits: EditBuffer;
  /** Extra statements to delete, queued by edit-phase transforms (emitted with the plan's). */
  deletions: Array<{ node: SyntaxNode; symbol: string; /** Reported under this symbol as it is (a class or member of the file that went). */ plain?: boolean }>;
  /** Uses of a name in the repository's other files that reach this agent (empty without a root). */
  external: (name: string) => ExternalUse[];
  /** Lines of the repository's other files importing the agent's module that name one of its module-level names (empty without a root). */
  moduleUses: (name: string) => ExternalUse[];
  /** The text of another Python file of the repository (path relative to the root; null without a root or when unread). */
  repoFile?: (rel: string) => string | null;
  /** The names the classes of another Python file of the repository give as bases, read once per run (null without a root or when unread). */
  repoClassBases?: (rel: string) => ReadonlySet<string> | null;
  /** Another Python file of the repository parsed (its root), shared by the agents and passes of a run that ask (null without a root or when unread). */
  repoTree?: (rel: string) => SyntaxNode | null;
  /** Lines of the repository's other files (configs, probe scripts) naming a URL path the agent answered (see pathMentions; empty without a root). */
  pathMentions?: (route: string, ports: ReadonlySet<number>) => ExternalUse[];
  /** The agent's parents defined in the repository's other files (empty without a root). */
  inherited: () => InheritedClass[];
  /** What a module-level name of the agent's file stands for when imported from a file of the repository (null otherwise, and without a root). */
  imported: (local: string) => ImportedTarget | null;
  /** Members renamed by edit transforms (old → new): code written later from original text applies them. */
  renames: Map<string, string>;
  /** Module-level names that code written outside the edit buffer uses (a removal's replacement text): import pruning keeps them, as it keeps every name the edit buffer's texts use. */
  introduced: Set<string>;
  /**
   * The agent's __init__ parameter a removed health server listened on, where the agent has no health port by
   * the profile's names (`status_port` of a /status + /health server): super-init hands it to the base as its
   * health port, so /health stays on the port it was answered on (filled by health-helper-server).
   */
  healthPortParam?: string;
  /** keyword → expression text passed to the base's __init__ (filled by super-init). */
  passThrough: Map<string, string>;
  removed: string[];
  kept: KeptForReview[];
  warnings: string[];
  /** The kept item that keeps the base from ever starting (see RewriteOutcome.unstartable). */
  unstartable?: KeptForReview & { because?: string };
  /** Names of module-level classes the scan classified as other agents/helpers (never the agent). */
  otherClasses: Set<string>;
  /**
   * A kept parent whose __init__ the agent still calls, after the explicit base constructor call super-init
   * put before it (filled by super-init): what that __init__ assigns overwrites the base's attributes.
   */
  parentInitAfterBase?: { parent: PyClass; file: string; inFile: boolean; parentCall: SyntaxNode; baseArgs: string[] };
  /** GET paths of a removed health server the base now answers through its extra-routes hook (health-extra-routes): nobody reports them. */
  servedRoutes?: Set<string>;
  /** GET paths of a removed health server left unserved on a base with that hook, and why (said in their review items). */
  routeRefusals?: Map<string, string>;
  /** Set when this is a base migration unit's base, rewritten with its subclasses (see UnitRewrite). */
  unit?: UnitRewrite;
}

/**
 * What a base migration unit's rewrite of its subclasses takes over from the base's rewrite
 * (src/pipeline/unit-agents.ts): callers in their files that the unit rewrites too (a publish call
 * that becomes collect_data()'s return) are no callers keeping a member; the loop's interval is
 * handed by each subclass's entry point; and the base names no agent, each subclass being its own.
 */
export interface UnitRewrite {
  /** An external use the unit's rewrite of that file removes. */
  rewritten(use: ExternalUse): boolean;
  /** The base's loop method, which the subclasses' entry points start (none of the base's file does). */
  loop?: string;
}

export interface PythonTransform {
  name: string;
  /** propose: add to the removal plan; edit: make edits once the plan is resolved. */
  phase: 'propose' | 'edit';
  run(ctx: PythonTransformContext): void;
}

/** True when the node lies inside something being deleted. */
export function isRemoved(ctx: PythonTransformContext, node: SyntaxNode): boolean {
  if (ctx.resolved?.ranges.contains(node.startIndex, node.endIndex)) return true;
  return ctx.deletions.some((d) => d.node.startIndex <= node.startIndex && node.endIndex <= d.node.endIndex);
}

/**
 * The code the output holds that the source did not: what the transforms wrote (the edit buffer's texts)
 * and the replacement text of each statement the plan replaces (its range is the plan's, not the buffer's).
 */
export function writtenTexts(ctx: PythonTransformContext): string[] {
  return [...ctx.edits.writtenTexts(), ...(ctx.resolved?.statements ?? []).flatMap((s) => (s.replacement !== undefined ? [s.replacement] : []))];
}

export function keep(ctx: PythonTransformContext, symbol: string, line: number, reason: string): KeptForReview {
  const known = ctx.kept.find((k) => k.symbol === symbol && k.reason === reason);
  if (known) return known;
  const item = { symbol, line, reason };
  ctx.kept.push(item);
  return item;
}

/** Original code copied into new code: `self.x` follows the renames made so far. */
export function withRenames(ctx: PythonTransformContext, text: string): string {
  let out = text;
  for (const [from, to] of ctx.renames) out = out.replace(new RegExp(`\\bself\\.${from}\\b`, 'g'), `self.${to}`);
  return out;
}
