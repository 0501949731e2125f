// The tree-sitter binding frees a parsed tree only when its small JavaScript wrapper is
// collected and the event loop then turns (the free is a finalizer run from the loop). V8
// does not know that about a megabyte of native memory hangs off each wrapper, so it seldom
// collects them: RSS grew a megabyte per parse (2.1 GB after 2,000 parses of one 24 KB
// agent, with full collections or without, when the loop never turned). A young-generation
// collection every few parses, plus a turn of the event loop between files (turnEventLoop),
// keeps it flat (66 MB for the same 2,000 parses) and costs nothing measurable: the wrappers
// die young, and a flat tree holds no native object.
import { collector } from '../../core/heap.js';

let parses = 0;
const EVERY = 8;

/** Called after each parse: every few, the dead tree wrappers are collected. */
export function nativeTreeDropped(): void {
  if (++parses % EVERY === 0) collector()?.({ type: 'minor', execution: 'sync' });
}

/** Let the binding's finalizers run (free the native trees collected so far). */
export function turnEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
