// Editing one scalar of a YAML file in place: the yaml library's CST sets the value in
// the token's own style (plain, single or double quoted), and only that token's bytes
// are replaced in the text, so every comment, blank line, key order and flow list of
// the file stays as it was. Checked by parsing the result again.
import YAML, { CST, isScalar, type Node } from 'yaml';
import { MigrateError } from '../core/errors.js';

export interface ScalarEdit {
  /** The scalar node, from a document parsed with keepSourceTokens. */
  node: Node;
  /** Its path in the document (for the check after the edit). */
  path: Array<string | number>;
  value: string;
}

/** Apply edits to the text the nodes were parsed from; returns the new text. */
export function editScalars(text: string, edits: ScalarEdit[], file: string): string {
  const spliced: Array<{ start: number; end: number; text: string }> = [];
  for (const e of edits) {
    const token = (e.node as { srcToken?: CST.Token }).srcToken;
    if (!token || !('offset' in token) || !CST.isScalar(token)) throw new MigrateError(`cannot edit ${e.path.join('.')}: not a scalar in the source`, file);
    const before = CST.stringify(token);
    if (text.slice(token.offset, token.offset + before.length) !== before) {
      throw new MigrateError(`cannot edit ${e.path.join('.')}: the file changed since it was read`, file);
    }
    const copy = structuredClone(token);
    CST.setScalarValue(copy, e.value);
    spliced.push({ start: token.offset, end: token.offset + before.length, text: CST.stringify(copy) });
  }
  let out = text;
  for (const s of spliced.sort((a, b) => b.start - a.start)) out = out.slice(0, s.start) + s.text + out.slice(s.end);
  // The result must say exactly what was asked, and nothing else may have moved.
  const again = YAML.parseDocument(out);
  const original = YAML.parseDocument(text);
  if (again.errors.length) throw new MigrateError(`editing would break the YAML: ${again.errors[0]!.message.split('\n')[0]}`, file);
  for (const e of edits) {
    const n = again.getIn(e.path, true);
    if (!isScalar(n) || n.value !== e.value) throw new MigrateError(`editing ${e.path.join('.')} did not give the value asked for`, file);
    original.setIn(e.path, e.value);
  }
  if (JSON.stringify(again.toJS()) !== JSON.stringify(original.toJS())) {
    throw new MigrateError('editing changed more than the values asked for', file);
  }
  return out;
}
