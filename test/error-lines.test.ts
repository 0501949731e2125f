// A file system error's one line (core/errors.ts): a path of 4 KB (a repository deep in a build tree) is one
// line of its own, so the line names it once, cut in the middle, and where the caller's line already names the
// file written, the error's own copy of it goes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { middlePath, oneLine, oneLineAbout } from '../src/core/errors.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'migrate-error-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The error of a real write to a path past PATH_MAX (4096). */
function tooLong(): { err: NodeJS.ErrnoException; file: string } {
  const file = path.join(dir, ...Array.from({ length: 17 }, (_, i) => `${i}`.padEnd(240, 'd')), 'agent_v2.py');
  try {
    writeFileSync(file, 'x');
  } catch (err) {
    return { err: err as NodeJS.ErrnoException, file };
  }
  throw new Error('the write did not fail');
}

describe('a file system error on a 4 KB path', () => {
  it('oneLine names the path once, cut in the middle (both ends kept)', () => {
    const { err, file } = tooLong();
    expect(err.code).toBe('ENAMETOOLONG');
    expect(err.message).toContain(file);
    const line = oneLine(err);
    expect(line.length).toBeLessThan(400);
    expect(line).toContain('ENAMETOOLONG');
    expect(line).toContain(middlePath(file));
    expect(line).toContain(file.slice(0, 60));
    expect(line).toContain('agent_v2.py');
    expect(line.split('…').length).toBe(2);
  });

  it('oneLineAbout drops the error\'s copy of the file the caller names', () => {
    const { err, file } = tooLong();
    const line = `${middlePath(file)}: cannot write: ${oneLineAbout(err, [file])}`;
    expect(line).toBe(`${middlePath(file)}: cannot write: ENAMETOOLONG: name too long`);
    // another file's path stays in the error's line (it says which)
    expect(oneLineAbout(err, [path.join(dir, 'elsewhere', 'x.py')])).toContain(middlePath(file));
  });

  it('short paths are left as they are', () => {
    expect(middlePath('agents/a_v2.py')).toBe('agents/a_v2.py');
    const err = Object.assign(new Error("ENOENT: no such file or directory, open '/tmp/x/a.py'"), { code: 'ENOENT', path: '/tmp/x/a.py', syscall: 'open' });
    expect(oneLine(err)).toBe("ENOENT: no such file or directory, open '/tmp/x/a.py'");
  });
});
