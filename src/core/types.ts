// Shared vocabulary of the engine. The JSON field names here are the stable
// command-line contract of ../shared/DESIGN.md: extend, never rename.

export type Language = 'python' | 'typescript';

export type FindingKind =
  | 'health'
  | 'queue'
  | 'retry'
  | 'loop'
  | 'signal'
  | 'socket'
  | 'publish'
  | 'registry'
  | 'metrics'
  | 'other';

export interface Finding {
  kind: FindingKind;
  /** The member (method, attribute, class) the finding is in: a symbol, never a description. */
  symbol: string;
  line: number;
  /** What was found there, when the symbol alone does not say (`while not self.stop.is_set()`). */
  detail?: string;
}

/** Classification of an agent class found by `scan`. */
export type AgentStatus = 'legacy' | 'migrated';

export interface AgentInfo {
  /** The agent's name: its class name (unique within a scan). */
  name: string;
  /** File path relative to the scan root, POSIX separators. */
  file: string;
  language: Language;
  class: string;
  status: AgentStatus;
  findings: Finding[];
  /** 1-based line of the class statement. */
  line: number;
  /** Why this class was picked as the file's agent (evidence, for reviewers). */
  evidence: string[];
  /** Relative path of an existing `_v2` sibling, when there is one. */
  output?: string;
  /** Names under which startup configs list this agent. */
  config_names?: string[];
  /** The paths its own health server answers (`/live`, `/ping`), read from its code, when not /health alone. */
  health_paths?: string[];
  /**
   * The port its own health server binds (or an in-repository parent's that the rewrite replaces), read from its
   * code: `default` when started without arguments, `port_offset` past its own port when derived from it
   * (`self.port + 1`), `line` (of `file` when not the agent's) where the code fixes it. The validator pairs it
   * with the _v2's health port, as the rewrite hands that role to the base.
   */
  health_port?: { default?: number; port_offset?: number; line: number; file?: string };
  /**
   * Its own port when started without arguments (`def __init__(self, port=7340)`), read from its code. A legacy
   * agent that ignores AGENT_PORT binds its neighbours (`port + 2`) from this one: the validator pairs them with the
   * _v2's same neighbours of AGENT_PORT, which the base takes instead.
   */
  port_default?: number;
  /**
   * Other agents of the same file (a second role sharing the module's helpers): one agent per file is
   * migrated, so they stay legacy until moved by hand (then `migrated`). Listed by `scan`, `status` and `report`,
   * and counted by `scan --check` while legacy, which must not pass while one remains.
   */
  other_agents?: OtherAgent[];
}

/** Another agent class of a file whose migrated agent is another class (AgentInfo.other_agents): legacy, or moved onto the base by hand. */
export interface OtherAgent {
  class: string;
  line: number;
  status: 'legacy' | 'migrated';
  findings: Finding[];
  /** Why it is left as it is, and what to do (the run's warning or review item says the same). */
  reason: string;
}

export interface SkippedFile {
  file: string;
  /** One line; for unreadable files it names the line, as `file:line: ...`. */
  reason: string;
  /** True when the file could not be read or parsed (syntax error, bad encoding): `run --all` reports it as failed. */
  error?: boolean;
  line?: number;
  /** The base migration unit the file belongs to (the home-made base's class name), see BaseUnit. */
  unit?: string;
}

/** One file:line and why, as a base migration unit names what blocks it. */
export interface BaseUnitBlocker {
  /** The class that blocks the unit (a subclass, or the base itself). */
  class: string;
  file: string;
  line: number;
  reason: string;
}

/**
 * A home-made in-repository base that owns its agents' lifecycle (server, loop, signal handlers)
 * and the agents built on it: what moves onto the target as one change (the base's `_v2` and each
 * subclass's `_v2` importing it, validated per subclass, one commit, one revert). Reported so the
 * fleet shows as one unit, with what in which file blocks it.
 */
export interface BaseUnit {
  /** The base's class name: how the unit is named. */
  name: string;
  language: 'python';
  base: { class: string; file: string; line: number; holds: string[] };
  /** `output` (status only, for a unit whose commit is active): the file the agent is started from on the migrated base. */
  members: Array<{ class: string; file: string; line: number; output?: string }>;
  /**
   * In-repository classes between the base and its agents (`class PollingService(LegacyService)`, the
   * agents built on PollingService), moved with the unit: each gets a `_v2` whose only change is
   * importing the base (or another middle) from its `_v2` module. Their `_v2` files follow the agents'.
   */
  middles?: Array<{ class: string; file: string; line: number }>;
  /**
   * `promoted` (status only): `migrate promote <base>` cut the whole unit over (see the record's promotion).
   * `refused`: a blocker stands in the way (see `blockers`). `ready`: nothing blocks it, not migrated yet
   * (what scan says, and run when it does not write and validate: --dry-run, --no-validate). `migrated`:
   * the base's `_v2` and each member's `_v2` are written, verified, each member validated at runtime and
   * all of it committed as one commit (`commit`; null after a --no-commit run, which leaves the files for
   * `migrate commit` / `migrate review` to commit as one). `unchanged`: an earlier run's unit commit holds exactly
   * what this one would write. `failed`: a step failed (`error`); nothing of the unit was left.
   */
  status: 'refused' | 'ready' | 'migrated' | 'unchanged' | 'failed' | 'promoted';
  blockers: BaseUnitBlocker[];
  /** One line: what blocks it, or that nothing in a subclass does and what migrates it. */
  reason: string;
  /** The `_v2` files of the unit (the base's first, then each member's), once written or committed. */
  files?: string[];
  /** The unit's one commit (its `Migrate-Agent` trailer is the base's name), when migrated. */
  commit?: string | null;
  /** Why the unit failed: one line naming the member, file and the step or check. */
  error?: string | null;
  /** Each member's runtime validation report, by class (when run validated them). */
  validation?: Record<string, ValidationReport>;
  /**
   * A ready unit whose base's loop calls an abstract cycle its agents implement (seed 001's SourceAgent):
   * the unit hands it to the target, each agent's `method()` becoming `hook()` returning what it published
   * through the base's `publish()`, its entry point constructing it with `keyword` (its `loop()`'s `param`,
   * else `value`) and calling `runForever()` (see src/discover/unit-cycle.ts).
   */
  cycle?: { method: string; line: number; publish: string; loop: string; param: string; value: string; keyword: string; runForever: string; hook: string };
}

export interface ScanResult {
  agents: AgentInfo[];
  skipped: SkippedFile[];
  /** Base migration units (present when the repository has one). */
  units?: BaseUnit[];
}

export interface KeptForReview {
  symbol: string;
  line: number;
  reason: string;
}

/** What one per-file rewrite produced. Transforms never print; they return this. */
export interface RewriteOutcome {
  status: 'changed' | 'unchanged' | 'skipped' | 'failed';
  /** The rewritten text (present when status is changed or unchanged). */
  output?: string;
  removed: string[];
  kept_for_review: KeptForReview[];
  warnings: string[];
  /** One line, naming file and line, when status is skipped or failed. */
  error?: string;
  /**
   * Set when the rewrite already checked, on the trees it had, that rewriting its output
   * changes nothing: the verification error, or null when it held (verify then skips it).
   */
  idempotency?: string | null;
  /**
   * Set when the output, as the rewrite left it, cannot run on the base at all: the item kept for
   * review that keeps the base from starting (the entry point still calls a kept legacy run()).
   * Validating it could only fail; the agent ends needs-review with nothing written. `because`
   * says why when it is not the entry point (default: it never starts the base with that item).
   */
  unstartable?: KeptForReview & { because?: string };
}

/** `eventbus`: seed 001's fake-EventBus cycle (up, down and queued, back and drained); hardened-agent-base only. */
export type CheckName = 'health' | 'registry' | 'metrics' | 'shutdown' | 'deregister' | 'log' | 'eventbus' | 'survival' | 'ports';

export interface CheckResult {
  name: CheckName;
  ok: boolean;
  /** Time the check took (for registry: time until the agent appeared). */
  ms: number;
  /** One line that explains the result. */
  detail: string;
  /** True when the check did not apply (e.g. the profile disables it). */
  skipped?: boolean;
  /** log: the ERROR/Traceback lines compared (at most 20 of each), for reviewers. */
  lines?: { legacy: string[]; v2: string[]; fresh: string[] };
  /** health: never healthy, and answered as the legacy agent's own /health did (its code and status); survival: healthy at first, then answered so. */
  as_legacy?: { code: number; status: string; port: number };
}

export interface ValidationReport {
  ok: boolean;
  ms: number;
  checks: CheckResult[];
  ports: Record<string, number>;
  /** Set when the agent could not be started at all. */
  error?: string;
  /**
   * Set when validation could not judge the `_v2`: it and its legacy agent both stop at start for want of
   * a module this machine lacks (the start error). Nothing was proven either way; `ok` stays false.
   */
  not_run?: string;
  /**
   * What the end of this validation put back in the repository: files the validated agents
   * (this one and those validated alongside it) created or modified there (see validate/leftovers.ts).
   */
  tree_cleanup?: { removed: string[]; restored: string[]; put_back?: string[]; saved_in?: string; kept?: string[]; not_watched?: string[] };
}

/**
 * `not-validated`: the `_v2` was written and verified, but validation could not run it here (it and its
 * legacy agent both lack a module this machine does not have); not committed, as an unvalidated `_v2` never is.
 */
export type RunStatus = 'migrated' | 'unchanged' | 'needs-review' | 'not-validated' | 'skipped' | 'failed';

export interface RunResult {
  agent: string;
  file: string;
  output: string | null;
  status: RunStatus;
  removed: string[];
  kept_for_review: KeptForReview[];
  warnings: string[];
  validation: ValidationReport | null;
  commit: string | null;
  error: string | null;
}

export interface RunSummary {
  results: RunResult[];
  summary: Partial<Record<RunStatus, number>>;
}
