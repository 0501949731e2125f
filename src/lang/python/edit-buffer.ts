// Byte-range edits on the original text. Untouched text is copied verbatim; two edits
// that overlap are a bug in the plan and are refused rather than guessed at.
export interface Edit {
  start: number;
  end: number;
  text: string;
  /** Which transform asked for it (for overlap messages). */
  label: string;
  seq: number;
  /** Applied after every other insert at the same position (a new method after code appended to __init__). */
  late?: boolean;
  /** Applied before every other insert at the same position (statements moved above a call inserted there). */
  early?: boolean;
}

export class OverlappingEditError extends Error {}

export class EditBuffer {
  private edits: Edit[] = [];
  private seq = 0;

  constructor(readonly source: string) {}

  replace(start: number, end: number, text: string, label: string): void {
    if (start < 0 || end > this.source.length || start > end) {
      throw new RangeError(`${label}: edit range ${start}-${end} outside the text`);
    }
    if (start === end && text === '') return;
    if (this.source.slice(start, end) === text) return;
    for (const e of this.edits) {
      if (overlaps(e, start, end)) {
        throw new OverlappingEditError(
          `${label} edit ${start}-${end} overlaps ${e.label} edit ${e.start}-${e.end}`,
        );
      }
    }
    this.edits.push({ start, end, text, label, seq: this.seq++ });
  }

  insert(at: number, text: string, label: string): void {
    this.replace(at, at, text, label);
  }

  /** An insert that lands after every other insert at the same position, whichever transform ran first. */
  insertLate(at: number, text: string, label: string): void {
    this.insert(at, text, label);
    const e = this.edits[this.edits.length - 1];
    if (e && e.start === at && e.end === at && e.label === label) e.late = true;
  }

  /** An insert that lands before every other insert at the same position, whichever transform ran first. */
  insertEarly(at: number, text: string, label: string): void {
    this.insert(at, text, label);
    const e = this.edits[this.edits.length - 1];
    if (e && e.start === at && e.end === at && e.label === label) e.early = true;
  }

  delete(start: number, end: number, label: string): void {
    this.replace(start, end, '', label);
  }

  /** Deletes [start, end) with the replacements planned inside it (text moved elsewhere, written there anew). */
  deleteOver(start: number, end: number, label: string): void {
    this.edits = this.edits.filter((e) => !(e.start < e.end && start <= e.start && e.end <= end));
    this.delete(start, end, label);
  }

  /** True when [start, end) lies inside a deletion or replacement already planned. */
  covered(start: number, end: number): boolean {
    return this.edits.some((e) => e.start < e.end && e.start <= start && end <= e.end);
  }

  /** True when any edit planned so far changes something inside [start, end]. */
  touches(start: number, end: number): boolean {
    return this.touching(start, end).length > 0;
  }

  /** The edits planned so far that change something inside [start, end] (a statement copied elsewhere takes them along). */
  touching(start: number, end: number): readonly Edit[] {
    return this.edits.filter((e) => (e.start === e.end ? start <= e.start && e.start <= end : e.start < end && start < e.end));
  }

  /** Positions where something is inserted (removals must not swallow them). */
  insertPositions(): number[] {
    return this.edits.filter((e) => e.start === e.end).map((e) => e.start);
  }

  hasInsertIn(start: number, end: number): boolean {
    return this.edits.some((e) => e.start === e.end && start <= e.start && e.start <= end);
  }

  /** The text every edit so far writes (new code that may use module names). */
  writtenTexts(): string[] {
    return this.edits.filter((e) => e.text).map((e) => e.text);
  }

  /**
   * Each place a text written so far holds `text` exactly (code another transform moved, found in its new
   * place): the edit's index, the offset in its text, and that text.
   */
  writtenOccurrences(text: string): Array<{ edit: number; at: number; written: string }> {
    const out: Array<{ edit: number; at: number; written: string }> = [];
    if (!text) return out;
    this.edits.forEach((e, edit) => {
      for (let at = e.text.indexOf(text); at >= 0; at = e.text.indexOf(text, at + 1)) out.push({ edit, at, written: e.text });
    });
    return out;
  }

  /** Replaces `length` characters at `at` of one written text (a later transform editing code another one moved there). */
  amendWritten(edit: number, at: number, length: number, by: string): void {
    const e = this.edits[edit];
    if (!e || at < 0 || at + length > e.text.length) throw new RangeError(`amend ${edit}@${at}+${length} outside the written text`);
    e.text = e.text.slice(0, at) + by + e.text.slice(at + length);
  }

  /** Where one transform's edits start (a later transform asks where an earlier one put its code). */
  startsBy(label: string, text: RegExp): number[] {
    return this.edits.filter((e) => e.label === label && text.test(e.text)).map((e) => e.start);
  }

  get size(): number {
    return this.edits.length;
  }

  apply(): string {
    let out = '';
    let pos = 0;
    for (const e of this.hunks()) {
      out += this.source.slice(pos, e.start) + e.text;
      pos = e.end;
    }
    return out + this.source.slice(pos);
  }

  /**
   * The edits in the order they apply, edits that touch (inserts at one position, an insert
   * where a deletion ends) merged into one: ranges of the source, sorted and apart, each
   * replaced by its text. apply() writes exactly these; a reparse is told of exactly these.
   */
  hunks(): Array<{ start: number; end: number; text: string }> {
    const sorted = [...this.edits].sort((a, b) => a.start - b.start || a.end - b.end || Number(!!b.early) - Number(!!a.early) || Number(!!a.late) - Number(!!b.late) || a.seq - b.seq);
    const out: Array<{ start: number; end: number; text: string }> = [];
    for (const e of sorted) {
      const last = out[out.length - 1];
      if (last && last.end === e.start) {
        last.end = e.end;
        last.text += e.text;
      } else out.push({ start: e.start, end: e.end, text: e.text });
    }
    return out;
  }
}

function overlaps(e: Edit, start: number, end: number): boolean {
  // Inserts (empty ranges) may touch a range's boundary; anything strictly inside overlaps.
  if (e.start === e.end && start === end) return false;
  if (e.start === e.end) return start < e.start && e.start < end;
  if (start === end) return e.start < start && start < e.end;
  return start < e.end && e.start < end;
}
