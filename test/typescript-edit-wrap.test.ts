// EditBuffer.wrapLines: a block's lines wrapped in a new one (`try {` ... `} catch`) are indented
// once every other edit is known, so it composes with edits made before and after it: a removed
// line stays removed (no stray indentation left where it was), a replacement's new lines move in
// with the block, and the lines of a multi-line template literal keep their bytes.
import { describe, expect, it } from 'vitest';
import { EditBuffer } from '../src/lang/typescript/edits.js';

const source = [
  'async stop() {',
  '  clearInterval(this.timer);',
  '  await this.flush();',
  '  const note = `stopped',
  'at ${Date.now()}`;',
  '  console.log(note);',
  '}',
  '',
].join('\n');
const at = (s: string) => source.indexOf(s);
const lineOf = (s: string) => source.lastIndexOf('\n', at(s)) + 1;

describe('EditBuffer.wrapLines', () => {
  it('indents what stays, keeps template lines and composes with removals and replacements either side of it', () => {
    const buf = new EditBuffer(source);
    // A removal made before the wrap, and a replacement made after it.
    buf.removeRange(lineOf('clearInterval'), lineOf('await this.flush'));
    const tpl = at('`stopped');
    buf.wrapLines(lineOf('clearInterval'), source.lastIndexOf('\n}') + 1, '  try {\n', '  } catch {\n    process.exitCode = 1;\n  }\n', '  ', [[tpl, source.indexOf('`;') + 1]]);
    buf.replace(at('console.log(note);'), at('console.log(note);') + 'console.log(note);'.length, 'console.log(note);\n  this.done = true;');
    expect(buf.apply()).toBe(
      [
        'async stop() {',
        '  try {',
        '    await this.flush();',
        '    const note = `stopped',
        'at ${Date.now()}`;',
        '    console.log(note);',
        '    this.done = true;',
        '  } catch {',
        '    process.exitCode = 1;',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });
});
