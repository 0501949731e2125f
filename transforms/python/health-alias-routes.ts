// Concern: the health paths a removed health server answered that the base's own server does not
// (`/ping`, `/live`, `/healthz`, `/status` in the /health clause). They go with the server, and the base
// answers them with its not-found status: a monitor or liveness probe polling one sees the agent fail
// after the migration. Said with the route's line and what a probe now gets; kept for review when a file
// of the repository (a k8s probe, a compose healthcheck, a monitoring config) names the path, since
// something there is known to poll it.
import type { PythonTransform, PythonTransformContext } from '../../src/lang/python/transform-context.js';
import { keep } from '../../src/lang/python/transform-context.js';
import { healthRouteLines } from '../../src/analysis/health-payload.js';
import { walkTypes } from '../../src/lang/python/syntax.js';
import type { SyntaxNode } from '../../src/lang/python/parser.js';
import { refusalNote, removedHealthRegions } from './health-hook.js';

const INTEGER: ReadonlySet<string> = new Set(['integer']);
const BINARY: ReadonlySet<string> = new Set(['binary_operator']);
/** A port derived from another is a neighbour (the base's own `port + 2`); a larger sum is arithmetic of another kind. */
const MAX_PORT_OFFSET = 16;

export const healthAliasRoutes: PythonTransform = {
  name: 'health-alias-routes',
  phase: 'edit',
  run(ctx) {
    const regions = removedHealthRegions(ctx);
    if (!regions.length) return;
    const base = ctx.profile.base_class;
    const routes = ctx.base.httpRoutes;
    // Unknown routes (no source, no template): the base is taken to answer what every profile's validation asks, /health.
    const served = new Set(routes?.paths ?? ['/health']);
    const answer = routes?.otherwise
      ? `${routes.otherwise} from ${base}'s server (it answers ${routes.paths.join(', ')} only)`
      : routes
        ? `no answer of the agent's from ${base}'s server (it answers ${routes.paths.join(', ')} only)`
        : `whatever ${base}'s server answers there (its routes are not known: no base source, no runtime template)`;
    const seen = new Set<string>();
    let ports: Set<number> | undefined;
    // A handler whose do_GET reads no path answered the health payload on every path (`/`, `/status`, ...).
    const everyPath = regions.map((r) => pathlessGet(r.node)).find((fn) => fn !== null);
    if (everyPath) {
      ctx.warnings.push(
        `${ctx.file}:${everyPath.startPosition.row + 1}: the removed health server answered GET on every path (its do_GET reads no path): ` +
          `a probe of any other path than ${[...served].join(', ')} on the health port now gets ${answer}; a monitor or liveness probe polling another path (/, /status) must be pointed at /health`,
      );
    }
    for (const region of regions) {
      for (const { path, line } of healthRouteLines(region.node)) {
        const route = path.split('?')[0]!.replace(/\/+$/, '') || '/';
        if (served.has(route) || seen.has(route) || ctx.servedRoutes?.has(route)) continue;
        seen.add(route);
        ports ??= literalPorts(ctx);
        const mentions = ctx.pathMentions?.(route, ports) ?? [];
        const what = `the removed health server answered GET ${route}, which ${base}'s server does not serve: a probe of ${route} on the health port now gets ${answer}`;
        if (mentions.length) {
          const where = mentions.slice(0, 3).map((m) => `${m.file}:${m.line} (${m.text})`).join(', ');
          keep(ctx, region.symbol, line, `line ${line}: ${what}; ${where} ${mentions.length > 1 ? 'name' : 'names'} ${route}: point ${mentions.length > 1 ? 'them' : 'it'} at /health, or serve ${route} on a port of the agent's own${refusalNote(ctx, [route])}`);
        } else {
          ctx.warnings.push(`${ctx.file}:${line}: ${what}; no file of the repository names ${route}, but a monitor or liveness probe outside it polling ${route} must be pointed at /health`);
        }
      }
    }
  },
};

/**
 * The port-sized integer literals of the agent's file, and each of them plus every small offset the file
 * adds to a value (`port + 1` beside `port=7630`: a health port 7631 no literal names, which a compose
 * healthcheck curls): a URL naming another port is another agent's.
 */
function literalPorts(ctx: PythonTransformContext): Set<number> {
  const literals = new Set<number>();
  walkTypes(ctx.module.root, INTEGER, (n) => {
    const v = Number(n.text.replace(/_/g, ''));
    if (Number.isInteger(v) && v >= 1 && v <= 65535) literals.add(v);
  });
  const offsets = new Set<number>();
  walkTypes(ctx.module.root, BINARY, (n) => {
    const right = n.childForFieldName('right');
    if (n.childForFieldName('operator')?.text !== '+' || right?.type !== 'integer') return;
    const k = Number(right.text.replace(/_/g, ''));
    if (Number.isInteger(k) && k >= 1 && k <= MAX_PORT_OFFSET) offsets.add(k);
  });
  const out = new Set(literals);
  for (const v of literals) for (const k of offsets) if (v >= 1024 && v + k <= 65535) out.add(v + k);
  return out;
}

const SCOPES: ReadonlySet<string> = new Set(['function_definition', 'class_definition']);

/** A `def do_GET(self)` in the region that never reads `self.path` (nor hands self on): null when none. */
function pathlessGet(region: SyntaxNode): SyntaxNode | null {
  let found: SyntaxNode | null = null;
  walkTypes(region, SCOPES, (n) => {
    if (found) return false;
    if (n.type !== 'function_definition' || n.childForFieldName('name')?.text !== 'do_GET') return;
    const me = n.childForFieldName('parameters')?.namedChildren[0]?.text;
    const body = n.childForFieldName('body');
    if (!me || !body) return false;
    // `self.path`, or self given to a helper that may read it (`route(self)`, `self._dispatch()`).
    const reads = new RegExp(`\\b${me}\\.(path|requestline|raw_requestline)\\b|\\(\\s*${me}\\s*[,)]|\\b${me}\\.(?!send_|end_headers|wfile|headers\\b)\\w+\\(`);
    if (!reads.test(body.text)) found = n;
    return false;
  });
  return found;
}
