// Who imports an agent's module and which names they take, in Python (every dotted
// suffix a sys.path set-up makes importable, relative imports, module objects) and in
// TypeScript/JavaScript (ES imports, re-exports, require, namespace objects).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findImporters, findTsImporters, moduleNamespace, tsModuleExports } from '../src/analysis/importers.js';

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function tree(files: Record<string, string>): { root: string; abs: string[] } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-importers-'));
  temps.push(root);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), text);
  }
  return { root, abs: Object.keys(files).map((f) => path.join(root, f)) };
}

describe('Python importers', () => {
  it('finds every form of import of pc2_code/agents/async_processor.py with the names taken', () => {
    const { root, abs } = tree({
      'pc2_code/agents/async_processor.py': 'class AsyncProcessor: pass\n',
      'tools/queue_report.py': 'import sys\nfrom pc2_code.agents.async_processor import AsyncProcessor, RESPONDER_PORT as PORT\n',
      'pc2_code/agents/tiered_responder.py': 'def f():\n    from .async_processor import AsyncProcessor\n    return AsyncProcessor\n',
      'pc2_code/scripts/drain.py': 'import agents.async_processor as ap\n\nap.AsyncProcessor().submit({})\nprint(ap.RESPONDER_PORT)\n',
      'pc2_code/tests/test_async.py': 'from agents import async_processor\n\nasync_processor.AsyncProcessor\n',
      'pc2_code/legacy/star.py': 'from async_processor import *\n',
      'pc2_code/other.py': '# mentions async_processor only in a comment\nfrom agents.async_processor_v2 import Thing\n',
    });
    const uses = findImporters(root, abs, 'pc2_code/agents/async_processor.py').sort((a, b) => a.file.localeCompare(b.file));
    expect(uses).toEqual([
      { file: 'pc2_code/agents/tiered_responder.py', line: 2, module: '.async_processor', names: ['AsyncProcessor'] },
      { file: 'pc2_code/legacy/star.py', line: 1, module: 'async_processor', names: '*' },
      { file: 'pc2_code/scripts/drain.py', line: 1, module: 'agents.async_processor', names: ['AsyncProcessor', 'RESPONDER_PORT'] },
      { file: 'pc2_code/tests/test_async.py', line: 1, module: 'agents.async_processor', names: ['AsyncProcessor'] },
      { file: 'tools/queue_report.py', line: 2, module: 'pc2_code.agents.async_processor', names: ['AsyncProcessor', 'RESPONDER_PORT'] },
    ]);
  });

  it('knows the names a module defines at top level, also inside try/if blocks', () => {
    const src = [
      'import os, json as j',
      'from pathlib import Path',
      'try:',
      '    import zmq',
      'except ImportError:',
      '    zmq = None',
      'A, (B, C) = 1, (2, 3)',
      'if os.name == "nt":',
      '    WINDOWS = True',
      '@dataclass',
      'class Record: pass',
      'def helper(): pass',
      '',
    ].join('\n');
    expect([...moduleNamespace(src, 'm.py')].sort()).toEqual(['A', 'B', 'C', 'Path', 'Record', 'WINDOWS', 'helper', 'j', 'os', 'zmq']);
  });
});

describe('TypeScript importers', () => {
  it('finds ES imports, re-exports, require and namespace uses of src/agents/ticker.ts', async () => {
    const { root, abs } = tree({
      'src/agents/ticker.ts': 'export class Ticker {}\n',
      'src/app.ts': "import { Ticker, type TickerOptions as Opts } from './agents/ticker';\n",
      'src/cli.ts': "import * as t from './agents/ticker.js';\nt.start(); new t.Ticker();\n",
      'src/legacy.js': "const { Ticker } = require('./agents/ticker');\n",
      'src/index.ts': "export * from './agents/ticker';\nexport { Ticker as Clock } from './agents/ticker';\n",
      'src/unrelated.ts': "import { Ticker } from './agents/ticker_v2';\n",
    });
    const uses = (await findTsImporters(root, abs, 'src/agents/ticker.ts')).sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
    expect(uses).toEqual([
      { file: 'src/app.ts', line: 1, module: './agents/ticker', names: ['Ticker', 'TickerOptions'] },
      { file: 'src/cli.ts', line: 1, module: './agents/ticker.js', names: ['Ticker', 'start'] },
      { file: 'src/index.ts', line: 1, module: './agents/ticker', names: '*' },
      { file: 'src/index.ts', line: 2, module: './agents/ticker', names: ['Ticker'] },
      { file: 'src/legacy.js', line: 1, module: './agents/ticker', names: ['Ticker'] },
    ]);
  });

  it('knows what a module exports (ES and CommonJS), and when it cannot know', async () => {
    expect([...(await tsModuleExports('export class A {}\nexport default function () {}\nexport const b = 1, c = 2;\nconst d = 0;\nexport { d as e };\nexport type T = string;\n', 'a.ts'))!].sort()).toEqual(
      ['A', 'T', 'b', 'c', 'default', 'e'],
    );
    expect([...(await tsModuleExports('class A {}\nmodule.exports = { A, start };\nexports.extra = 1;\n', 'a.js'))!].sort()).toEqual(['A', 'default', 'extra', 'start']);
    expect(await tsModuleExports("export * from './other';\n", 'a.ts')).toBeNull();
  });
});
