// detectLayout reads a file's line ending and indentation unit in one pass over its characters.
// It must answer what the line-by-line definition below answers (the function as it was before
// that pass: split into lines, trim, skip blanks and comments): checked on every Python fixture
// input and expected output, generated agents, and edge cases of line endings, tabs and spaces.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectLayout, type Layout } from '../src/lang/python/text.js';
import { fleetFiles } from './bench/fleet/fleet.js';

function byLines(source: string): Layout {
  const crlf = (source.match(/\r\n/g) ?? []).length;
  const lf = (source.match(/\n/g) ?? []).length;
  const eol = crlf > 0 && crlf * 2 >= lf ? '\r\n' : '\n';
  let tabs = 0;
  const widths = new Map<number, number>();
  let prev = 0;
  for (const line of source.split('\n')) {
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    const ws = /^[ \t]*/.exec(line)![0];
    if (ws.startsWith('\t')) tabs++;
    else if (ws.length > prev) widths.set(ws.length - prev, (widths.get(ws.length - prev) ?? 0) + 1);
    if (!ws.startsWith('\t')) prev = ws.length;
  }
  if (tabs > 0 && tabs >= [...widths.values()].reduce((a, b) => a + b, 0)) return { eol, unit: '\t' };
  let best = 4;
  let bestCount = 0;
  for (const [w, c] of widths) if (c > bestCount && w >= 2 && w <= 8) [best, bestCount] = [w, c];
  return { eol, unit: ' '.repeat(best) };
}

function pythonSources(): string[] {
  const out: string[] = [];
  for (const suite of ['python', 'python-hardened']) {
    const dir = path.join(import.meta.dirname, '..', 'fixtures', suite);
    for (const c of readdirSync(dir).sort()) {
      for (const f of ['input.py', 'expected.py']) {
        const p = path.join(dir, c, f);
        if (existsSync(p)) out.push(readFileSync(p, 'utf8'));
      }
    }
  }
  for (const f of fleetFiles(20)) if (f.language === 'python') out.push(f.text);
  return out;
}

describe('detectLayout', () => {
  it('answers as the line-by-line definition on every Python fixture and generated agent', () => {
    const sources = pythonSources();
    expect(sources.length).toBeGreaterThan(500);
    const differ = sources.filter((s) => JSON.stringify(detectLayout(s)) !== JSON.stringify(byLines(s)));
    expect(differ).toEqual([]);
  });

  it('answers as the line-by-line definition on line-ending, tab, blank, comment and Unicode-space edge cases', () => {
    const cases = [
      '',
      '\n',
      'x = 1',
      'class A:\r\n    def f(self):\r\n        pass\n',
      'class A:\r\n  def f(self):\n    pass\r\n\r\n',
      '\r\n\r\n\n',
      'class A:\n\tdef f(self):\n\t\tpass\n    # comment\n        x = 1\n',
      'class A:\n\t  def f(self):\n  \t  pass\n',
      'class A:\n   \n  # only a comment\n  \u00a0 \n      x = 1\n  y = 2\n',
      'class A:\n  \u00a0x = 1\n  \u2003# note\n\ufeff\n   \u3000\n',
      'if a:\n  if b:\n    if c:\n      pass\n  pass\nif d:\n   pass\n',
      'class A:\n          deep = 1\n  shallow = 2\n',
      '\t\n\tx\n\t\ty\n    z\n',
      'a\rb\n  c\r\n',
    ];
    for (const s of cases) expect(detectLayout(s), JSON.stringify(s)).toEqual(byLines(s));
  });
});
