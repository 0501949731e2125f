// The report's inline assets: its own stylesheet and script (next to this file's source,
// found from src/ under vitest and from dist/src/ when built), diff2html's UI bundle and
// stylesheet, and highlight.js's GitHub theme. Read once; the page needs nothing else.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ReportAssets {
  css: string;
  script: string;
  diffCss: string;
  diffScript: string;
  highlightCss: string;
}

function ownAssetsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'src', 'report', 'html', 'assets');
    if (existsSync(path.join(candidate, 'report.js'))) return candidate;
    const here = path.join(dir, 'assets');
    if (existsSync(path.join(here, 'report.js'))) return here;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the report assets (src/report/html/assets) of migrate');
}

let cached: ReportAssets | undefined;

export function reportAssets(): ReportAssets {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const own = ownAssetsDir();
  // Inline <script> and <style> must not contain their own closing tag.
  const safe = (s: string, tag: string) => s.replace(new RegExp(`</${tag}`, 'gi'), `<\\/${tag}`);
  cached = {
    css: safe(readFileSync(path.join(own, 'report.css'), 'utf8'), 'style'),
    script: safe(readFileSync(path.join(own, 'report.js'), 'utf8'), 'script'),
    diffCss: safe(readFileSync(require.resolve('diff2html/bundles/css/diff2html.min.css'), 'utf8'), 'style'),
    diffScript: safe(readFileSync(require.resolve('diff2html/bundles/js/diff2html-ui-slim.min.js'), 'utf8'), 'script'),
    highlightCss: safe(readFileSync(require.resolve('highlight.js/styles/github.min.css'), 'utf8'), 'style'),
  };
  return cached;
}
