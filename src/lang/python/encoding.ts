// The bytes of a Python output in its source's own encoding (PEP 263): a latin-1 file
// with a `# -*- coding: latin-1 -*-` line must stay latin-1, or its coding line would
// lie and "café" would read back as "cafÃ©"; a UTF-8 file keeps its BOM when it had one.
import { MigrateError } from '../../core/errors.js';

const LATIN1 = new Set(['latin-1', 'iso-8859-1', 'iso8859-1', 'latin1', 'l1']);
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The encoding a coding line in the first two lines declares (normalised), if any. */
export function declaredEncoding(bytes: Uint8Array): string | undefined {
  const head = Buffer.from(bytes.subarray(0, 400)).toString('latin1').split(/\r?\n/).slice(0, 2);
  const coding = head.map((l) => /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/.exec(l)?.[1]).find(Boolean);
  return coding?.toLowerCase().replace(/_/g, '-');
}

/** Encode `text` (the rewritten source) the way `source` was encoded. */
export function encodePythonOutput(text: string, source: Uint8Array, file: string): Buffer {
  const enc = declaredEncoding(source);
  if (enc && LATIN1.has(enc)) {
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code > 0xff) {
        const line = text.slice(0, i).split('\n').length;
        throw new MigrateError(`the output holds U+${code.toString(16).toUpperCase().padStart(4, '0')}, which the declared latin-1 encoding cannot hold`, file, line);
      }
    }
    return Buffer.from(text, 'latin1');
  }
  const body = Buffer.from(text, 'utf8');
  return source.length >= 3 && BOM.equals(Buffer.from(source.subarray(0, 3))) ? Buffer.concat([BOM, body]) : body;
}
