// The seam between the pipeline and a language: every language adapter
// (src/lang/python, src/lang/typescript) implements this, and the pipeline
// only ever talks to this interface.
import type { AgentInfo, KeptForReview, Language, RewriteOutcome, ScanResult } from '../core/types.js';
import type { Profile } from '../profile/profile.js';
import type { ThreadChoice } from './threads.js';
import type { ParseStore } from './parse-store.js';

export interface RewriteRequest {
  /** Absolute repository root. */
  root: string;
  /** Absolute path of the legacy source file. */
  file: string;
  /** Its text (already decoded; the adapter never re-reads it). */
  source: string;
  agent: AgentInfo;
  profile: Profile;
  /**
   * Also check that the rewrite of the output changes nothing, while its trees are at hand
   * (in the worker), naming the output by this path from the root; the outcome's
   * `idempotency` carries the verdict.
   */
  checkIdempotencyAs?: string;
  /**
   * Set by a batch (its id): the repository may be taken as it was when the batch first read it,
   * since all a batch writes while its rewrites run is `_v2` outputs, which no search reads.
   */
  snapshot?: string;
  /** The scan's parse of this very source, kept for the rewrite (see ParseStore), in the adapter's own form. */
  parsed?: unknown;
  /** With `parsed`, when the scan ran in this thread: its parser's own tree of the source (see KeptParse.native). */
  native?: unknown;
}

export interface VerifyRequest {
  root: string;
  /** Absolute path the output will have (the `_v2` sibling). */
  outputFile: string;
  output: string;
  /** The legacy file's text, when the caller has it in hand (else verify reads the legacy file, when there is one). */
  source?: string;
  /** The bytes that will be written (the output in the source's encoding), when the adapter encodes. */
  bytes?: Uint8Array;
  agent: AgentInfo;
  profile: Profile;
  /** The verdict of the idempotency check the rewrite already made on this very output, if it made one. */
  idempotency?: string | null;
  /** The adapter's precheck of this very output (see LanguageAdapter.precheck), started when the output came back. */
  precheck?: Promise<VerifyError>;
  /**
   * The rewrite's review items: what they tell the person (a method left uncalled by a removal
   * they name) is not a silent loss for verification to refuse.
   */
  review?: readonly KeptForReview[];
}

/** Checks of single outputs that start as soon as each output exists, while the batch goes on. */
export interface OutputPrecheck {
  check(req: VerifyRequest): Promise<VerifyError>;
  /** The batch is over (or failed): release what the checks hold (a compiler process). */
  close(): Promise<void>;
}

/** The error of a failed verification, one line naming file and line; null when it passed. */
export type VerifyError = string | null;

export interface LaunchCommand {
  command: string;
  args: string[];
  /** Extra environment for the child (never secrets on the command line). */
  env?: Record<string, string>;
  /** Called after the child exits, to remove temporary build output. */
  cleanup?: () => Promise<void>;
}

export interface LanguageAdapter {
  language: Language;
  /** File name endings this adapter reads, e.g. ['.py']. */
  extensions: string[];
  /**
   * Classify the given files (absolute paths, already filtered by .gitignore); with `parses`,
   * keep there what the rewrite of a file can reuse of its parse (a run's scan).
   */
  scan(root: string, files: string[], profile: Profile, threads?: ThreadChoice, parses?: ParseStore): Promise<ScanResult>;
  /** Rewrite one agent; pure (no I/O besides reading the base's source), never prints. */
  rewrite(req: RewriteRequest): Promise<RewriteOutcome>;
  /**
   * Verify outputs as a batch (one compiler process for the whole batch):
   * parse, compile or type-check, and idempotency (the rewrite of the output changes nothing).
   * Returns one entry per request, in order.
   */
  verify(reqs: VerifyRequest[]): Promise<VerifyError[]>;
  /**
   * The part of verification that needs only the output itself (Python: CPython compiles it),
   * started per output as the rewrites come back, so it overlaps the rest of the batch instead
   * of waiting for all of it; verify then takes each request's `precheck` verdict as its own.
   */
  precheck?(): OutputPrecheck;
  /** Path of the `_v2` sibling of a source file. */
  outputPath(file: string): string;
  /** The bytes of an output in its source's encoding (default UTF-8); throws a one-line error when it cannot be. */
  encode?(output: string, source: Uint8Array, file: string): Buffer;
  /** How validation starts this file as a child process (default launch template). */
  launch(root: string, file: string): Promise<LaunchCommand>;
}
