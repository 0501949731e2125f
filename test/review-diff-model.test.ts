// The reviewer's diff model on a fixture's real input and expected output: every original
// line accounted for, removed lines split by the removed member they belonged to and its
// concern, warnings placed at a line, and review hunks that diff2html reads and that show
// every focused line.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'diff2html';
import { describe, expect, it } from 'vitest';
import { diffModel, unifiedForReview, warningLine, concernOf } from '../src/review/diff-model.js';

const CASE = path.resolve(import.meta.dirname, '..', 'fixtures', 'python', 'http-health-nested-handler');
const source = readFileSync(path.join(CASE, 'input.py'), 'utf8');
const output = readFileSync(path.join(CASE, 'expected.py'), 'utf8');
const removed = ['_start_http_health', 'HealthHandler', 'health_server', 'health_thread', 'run'];
const findings = [
  { kind: 'health' as const, symbol: '_start_http_health', line: 51 },
  { kind: 'loop' as const, symbol: 'run: while self.running', line: 115 },
];

describe('diffModel', () => {
  const m = diffModel(source, output, removed, findings);

  it('aligns every line of both files once', () => {
    const olds = m.rows.filter((r) => r.oldLine !== undefined).map((r) => r.oldLine);
    const news = m.rows.filter((r) => r.newLine !== undefined).map((r) => r.newLine);
    expect(olds).toEqual(source.split('\n').slice(0, -1).map((_, i) => i + 1));
    expect(news).toEqual(output.split('\n').slice(0, -1).map((_, i) => i + 1));
    expect(m.removedLines).toBe(m.rows.filter((r) => r.kind === '-').length);
  });

  it('gives each removed line to the removed member it belonged to, and counts them per concern', () => {
    const parts = m.blocks.flatMap((b) => b.parts);
    const health = parts.find((p) => p.symbol === '_start_http_health')!;
    expect(health.concern).toBe('health');
    expect(health.from).toBe(51);
    // The method's body (its nested handler class, server and thread) is health too, though the diff
    // keeps a blank line of it as context (the health hook written in its place ends with one).
    const body = parts.filter((p) => p.from > health.to && p.to <= 77);
    expect(body.map((p) => p.concern)).toEqual(body.map(() => 'health'));
    expect(Math.max(...body.map((p) => p.to))).toBe(77);
    expect(parts.find((p) => p.symbol === 'run')?.concern).toBe('loop');
    expect(Object.values(m.byConcern).reduce((s, n) => s + n!, 0)).toBe(m.removedLines);
    expect(m.symbolsByConcern.health).toContain('_start_http_health');
  });

  it('tells concerns from the scan first, then from the removed symbol itself', () => {
    expect(concernOf('run', findings)).toBe('loop');
    expect(concernOf('signal.signal(signal.SIGTERM)')).toBe('signal');
    expect(concernOf('self.port (set by the base)')).toBe('base-attributes');
    expect(concernOf('import BaseHTTPRequestHandler, HTTPServer')).toBe('imports');
    expect(concernOf('_register_with_retry', [{ kind: 'registry', symbol: '_register_with_retry', line: 1 }])).toBe('registry');
  });

  it('places a warning at the line it names, or where the member it names is defined', () => {
    expect(warningLine('kept, but still used at line 42 (x)', m.rows)).toBe(42);
    expect(warningLine('TTSConnector.cleanup() kept (it does business work)', m.rows)).toBe(124);
    expect(warningLine('nothing placeable here', m.rows)).toBeNull();
  });

  it('makes review hunks diff2html reads, showing focused lines far from any change', () => {
    const far = m.rows.find((r) => r.kind === ' ' && r.oldLine === 99)!;
    expect(far).toBeDefined();
    const text = unifiedForReview(m.rows, { old: 'agents/tts_connector.py', new: 'agents/tts_connector_v2.py' }, [99]);
    const [file] = parse(text);
    expect(file!.oldName).toBe('agents/tts_connector.py');
    const lines = file!.blocks.flatMap((b) => b.lines);
    expect(lines.some((l) => l.oldNumber === 99)).toBe(true);
    expect(lines.filter((l) => l.type === 'delete').length).toBe(m.removedLines);
    expect(lines.filter((l) => l.type === 'insert').length).toBe(m.addedLines);
    for (const b of file!.blocks) {
      const first = b.lines.find((l) => l.oldNumber !== undefined);
      if (first) expect(first.oldNumber).toBe(b.oldStartLine);
    }
  });
});
