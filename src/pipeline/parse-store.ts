// Parses a run's scan made, kept for the rewrite of the same files, so that a run parses each
// input once instead of twice (the scan reads every file anyway to classify it). Bounded: past
// its budget nothing more is kept and those files are parsed again by their rewrite, so memory
// stays flat however large the fleet.

/** What an adapter keeps of one file's parse: plain data a worker thread can be sent. */
export interface KeptParse {
  /** The source the parse is of: it is used only when the rewrite sees the very same text. */
  source: string;
  data: unknown;
  bytes: number;
  /**
   * The parser's own tree of it, when the scan parsed the file in the thread that rewrites it
   * (in band): the rewrite reparses its output incrementally from it instead of parsing the
   * input natively again. Never sent to another thread.
   */
  native?: unknown;
}

export class ParseStore {
  private kept = new Map<string, KeptParse>();
  private reserved = 0;
  private reservedNative = 0;

  /**
   * `budget`: bytes of kept parses at most; `nativeBudget`: bytes of native trees at most (about
   * five times a parse's data, and outside the JavaScript heap). Both reserved by estimate
   * before the files are read. A native tree held saves its rewrite one native parse (4-5 ms of
   * CPU for a 25 KB agent) for about a megabyte of peak memory: with 192 MB of them a 300-agent
   * run in band took 0.45-0.48 -> 0.62-0.66 GB at its peak for 2 % less CPU, within the noise
   * (1,000 agents: 0.87 -> 1.06 GB), so few are kept.
   */
  constructor(
    readonly budget = 192 * 1024 * 1024,
    readonly nativeBudget = 48 * 1024 * 1024,
  ) {}

  /** Room for a parse estimated at `bytes`: reserves it and says yes, or says no once the budget is spent. */
  reserve(bytes: number): boolean {
    if (this.reserved + bytes > this.budget) return false;
    this.reserved += bytes;
    return true;
  }

  /** The same for a native tree estimated at `bytes` (see KeptParse.native). */
  reserveNative(bytes: number): boolean {
    if (this.reservedNative + bytes > this.nativeBudget) return false;
    this.reservedNative += bytes;
    return true;
  }

  /** Keep a file's parse (absolute path). */
  keep(file: string, parse: KeptParse): void {
    this.kept.set(file, parse);
  }

  /** The parse kept for this file of this very source (once: it is let go of here), if any. */
  take(file: string, source: string): KeptParse | undefined {
    const parse = this.kept.get(file);
    if (!parse) return undefined;
    this.kept.delete(file);
    return parse.source === source ? parse : undefined;
  }

  /** Let go of the parses of every file but these (the files the run did not select). */
  retainOnly(files: ReadonlySet<string>): void {
    for (const file of this.kept.keys()) if (!files.has(file)) this.kept.delete(file);
  }

  /** Let go of every parse still kept (the files the run did not select). */
  clear(): void {
    this.kept.clear();
  }

  get size(): number {
    return this.kept.size;
  }
}
