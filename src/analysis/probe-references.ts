// Where the repository's other files name a URL path an agent's health server answered: a k8s probe
// (`httpGet: path: /ping`), a docker-compose healthcheck (`curl -f http://localhost:7517/live`), a
// monitoring config or script. A path the _v2 no longer answers that something there polls is a
// person's to resolve (point the probe at /health, or serve the path), not a silent 404.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { listSourceFiles } from '../discover/files.js';
import { forgetOnReset } from '../core/invocation.js';
import type { ExternalUse } from './repo-references.js';

/** Files that configure or script probes (extension or name endings: listSourceFiles matches ends). */
const CONFIG_ENDINGS = ['.yaml', '.yml', '.json', '.toml', '.ini', '.cfg', '.conf', '.env', '.sh', '.tf', '.hcl', '.service', 'Dockerfile', 'Makefile', 'Procfile'];
/** Code that may poll the agent (a monitor script); only a URL built with a host there counts (see mentionsPath). */
const CODE_ENDINGS = ['.py', '.js', '.mjs', '.cjs', '.ts'];

const cache = new Map<string, Array<{ rel: string; text: string; code: boolean }>>();
forgetOnReset(() => cache.clear());

function probeFiles(root: string): Array<{ rel: string; text: string; code: boolean }> {
  let files = cache.get(root);
  if (files) return files;
  files = [];
  for (const f of listSourceFiles(root, [...CONFIG_ENDINGS, ...CODE_ENDINGS])) {
    try {
      const rel = path.relative(root, f).split(path.sep).join('/');
      files.push({ rel, text: readFileSync(f, 'utf8'), code: CODE_ENDINGS.some((e) => f.endsWith(e)) });
    } catch {
      // unreadable: the scan reports it
    }
  }
  cache.set(root, files);
  return files;
}

/**
 * The lines of the repository's files, other than `exclude` and generated `_v2` files, naming `route`
 * (`/ping`) as a URL path. In a config file a bare path counts (`path: /ping`); in code only a URL with a
 * host before the path (`http://localhost:7517/ping`, `f"http://{host}:{port}/ping"`), since a bare
 * "/ping" there is more often a route some server of its own answers. A URL naming a literal port
 * counts only when `ports` (the agent's literal port numbers) has it: another agent's /ping is not this one's.
 */
export function pathMentions(root: string, exclude: readonly string[], route: string, ports: ReadonlySet<number>): ExternalUse[] {
  const out: ExternalUse[] = [];
  const escaped = route.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // The token before the path (back to a space, quote or bracket) and the path, not a longer one (/ping2, /ping/x is fine).
  const find = new RegExp(`([^\\s"'\`=(\\[,]*)${escaped}(?![\\w.-])`, 'g');
  for (const f of probeFiles(root)) {
    if (exclude.includes(f.rel) || /_v2\.[a-z]+$/.test(f.rel) || !f.text.includes(route)) continue;
    f.text.split('\n').forEach((line, i) => {
      for (const m of line.matchAll(find)) {
        const before = m[1]!;
        // A URL's authority (`http://host:port`, `localhost:7517`, `{host}:{port}`, `${BASE}`), or nothing.
        const authority = /^(?:[a-z][\w+.-]*:)?\/\/[^/]*$|^[^/]*:[^/]*$|^[^/]*[}]$/i.test(before);
        if (!(authority || (!f.code && before === ''))) continue;
        const port = /:(\d{2,5})$/.exec(before)?.[1];
        if (port && !ports.has(Number(port))) continue;
        out.push({ file: f.rel, line: i + 1, text: line.trim().slice(0, 80) });
        break;
      }
    });
  }
  return out;
}

/** A raw TCP client on a command line or in a probe config: netcat, socat, telnet, bash's /dev/tcp. */
const RAW_CLIENT = /(?:^|[\s"'`;|&(\[,])(?:nc|ncat|netcat|socat|telnet)(?=[\s"'`])|\/dev\/tcp\//;
/** A client that only connects (`nc -z`, `-zv`): it passes on whatever accepts the connection, HTTP too. */
const CONNECT_ONLY = /(?:^|\s)-[a-yA-Z]*z[a-zA-Z]*(?=\s)/;

/**
 * The lines of the repository's config and script files, other than `exclude` and `_v2` files, where a raw
 * TCP client (netcat, socat, telnet, /dev/tcp) names one of `ports`: a probe speaking the legacy's own
 * protocol to that port. `speaks` is false for a connect-only check (`nc -z host port`), which any listener passes.
 */
export function rawPortMentions(root: string, exclude: readonly string[], ports: ReadonlySet<number>): Array<ExternalUse & { speaks: boolean }> {
  const out: Array<ExternalUse & { speaks: boolean }> = [];
  if (!ports.size) return out;
  for (const f of probeFiles(root)) {
    if (f.code || exclude.includes(f.rel) || /_v2\.[a-z]+$/.test(f.rel)) continue;
    f.text.split('\n').forEach((line, i) => {
      if (!RAW_CLIENT.test(line)) return;
      const named = [...line.matchAll(/(?<![\w.])(\d{2,5})(?![\w.])/g)].some((m) => ports.has(Number(m[1])));
      if (named) out.push({ file: f.rel, line: i + 1, text: line.trim().slice(0, 80), speaks: !CONNECT_ONLY.test(line) });
    });
  }
  return out;
}
