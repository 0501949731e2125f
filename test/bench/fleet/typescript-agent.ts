// One generated legacy TypeScript agent, shaped like the TypeScript fixture families: an own
// HTTP health server, a setInterval poll loop, SIGTERM/SIGINT handlers, a retry helper that
// calls itself again, registration pushed to a registry with an unsent queue, and business
// methods until the file has the length asked for; constructed in an ESM main guard.
// Strict TypeScript (verification type-checks it). Written from templates here.
import { camel, DOMAINS, pascal, Random, type Domain } from './random.js';
import type { GeneratedFile } from './python-agent.js';

export type TypeScriptFamily = 'http-health-interval' | 'retry-registration' | 'signal-business-cleanup';
export const TYPESCRIPT_FAMILIES: TypeScriptFamily[] = ['http-health-interval', 'retry-registration', 'signal-business-cleanup'];

const QUALIFIERS = ['fast', 'bulk', 'safe', 'local', 'remote', 'daily', 'hourly', 'pending', 'stale', 'primary', 'backup', 'shadow', 'regional', 'batched'];

function indent(n: number, lines: string[]): string[] {
  const pad = '  '.repeat(n);
  return lines.map((l) => (l === '' ? '' : pad + l));
}

const METHODS: Array<(d: Domain, q: string, rec: string, r: Random) => string[]> = [
  (d, q, rec) => [
    `/** ${pascal(d.verbs[0]!)} a batch of ${d.records} on the ${q} path. */`,
    `${camel(`${d.verbs[0]}_${q}`)}(items: ${rec}[]): number {`,
    '  let accepted = 0;',
    '  for (const item of items) {',
    `    if (!item.id || item.${d.fields[0]} === undefined) {`,
    `      this.stats.set('rejected', (this.stats.get('rejected') ?? 0) + 1);`,
    '      continue;',
    '    }',
    `    this.${d.records}.set(item.id, { ...item, receivedAt: Date.now(), path: '${q}' });`,
    '    accepted += 1;',
    '  }',
    `  this.stats.set('${d.verbs[0]}', (this.stats.get('${d.verbs[0]}') ?? 0) + accepted);`,
    '  return accepted;',
    '}',
  ],
  (d, q, rec, r) => {
    const f = r.pick(d.fields);
    return [
      `${camel(`summarise_${q}_by_${f}`)}(windowMs = ${r.int(1, 60) * 60_000}): Array<{ key: string; count: number }> {`,
      '  const cutoff = Date.now() - windowMs;',
      '  const counts = new Map<string, number>();',
      `  for (const item of this.${d.records}.values()) {`,
      '    if ((item.receivedAt ?? 0) < cutoff) continue;',
      `    const key = String(item.${f} ?? 'unknown');`,
      '    counts.set(key, (counts.get(key) ?? 0) + 1);',
      '  }',
      '  return [...counts.entries()]',
      '    .sort((a, b) => b[1] - a[1])',
      '    .map(([key, count]) => ({ key, count }));',
      '}',
    ];
  },
  (d, q, rec, r) => [
    `${camel(`prune_${q}`)}(maxAgeMs = ${r.int(5, 120) * 60_000}): string[] {`,
    '  const now = Date.now();',
    '  const expired: string[] = [];',
    `  for (const [id, item] of this.${d.records}) {`,
    '    if (now - (item.receivedAt ?? now) > maxAgeMs) {',
    '      expired.push(id);',
    `      this.${d.records}.delete(id);`,
    '    }',
    '  }',
    `  if (expired.length > 0) console.log(\`pruned \${expired.length} ${q} ${d.records}\`);`,
    '  return expired;',
    '}',
  ],
  (d, q, rec, r) => {
    const [a, b] = r.some(d.fields, 2);
    return [
      `${camel(`score_${q}`)}(item: ${rec}): number {`,
      `  const weights: Record<string, number> = { ${a}: ${(r.next() * 2).toFixed(2)}, ${b}: ${(r.next() * 2).toFixed(2)} };`,
      '  let score = 0;',
      '  for (const [field, weight] of Object.entries(weights)) {',
      '    const value = (item as unknown as Record<string, unknown>)[field];',
      "    if (typeof value === 'number') score += weight * value;",
      `    else if (typeof value === 'string') score += weight * (value.length % ${r.int(3, 17)});`,
      '    else score -= weight;',
      '  }',
      '  return Math.round(score * 1000) / 1000;',
      '}',
    ];
  },
  (d, q, rec, r) => {
    const f = r.pick(d.fields);
    return [
      `${camel(`report_${q}`)}(limit = ${r.int(5, 40)}): string {`,
      `  const lines = [\`\${this.name} ${q} report\`, '='.repeat(40)];`,
      `  const ranked = [...this.${d.records}.values()].sort((a, b) => String(a.${f}).localeCompare(String(b.${f})));`,
      '  for (const item of ranked.slice(0, limit)) {',
      `    lines.push(\`\${item.id.padEnd(24)} ${f}=\${String(item.${f})}\`);`,
      '  }',
      '  for (const [name, value] of this.stats) lines.push(`${name}: ${value}`);',
      "  return lines.join('\\n');",
      '}',
    ];
  },
];

export function typescriptAgent(index: number, lines: number, r: Random): GeneratedFile {
  const family = TYPESCRIPT_FAMILIES[index % TYPESCRIPT_FAMILIES.length]!;
  const d = DOMAINS[(index * 5) % DOMAINS.length]!;
  const cls = `${pascal(d.stem)}Daemon${index}`;
  const rec = pascal(d.record);
  const port = 7000 + ((index * 11) % 2000);
  const head = [
    `// ${pascal(d.stem)} daemon: ${d.verbs[0]}s ${d.records} from its spool and reports health over HTTP.`,
    "import http from 'node:http';",
    "import { existsSync, readFileSync, writeFileSync } from 'node:fs';",
    "import { pathToFileURL } from 'node:url';",
    '',
    `const DEFAULT_PORT = ${port};`,
    `const POLL_MS = ${r.int(1, 20) * 500};`,
    ...(family === 'retry-registration' ? ["const REGISTRY_URL = process.env.REGISTRY_URL ?? 'http://127.0.0.1:7070/register';"] : []),
    '',
    `interface ${rec} {`,
    '  id: string;',
    ...d.fields.map((f, i) => `  ${f}?: ${i % 2 ? 'number' : 'string'};`),
    '  receivedAt?: number;',
    '  path?: string;',
    '}',
    '',
    `export class ${cls} {`,
  ];
  const members: string[][] = [
    [
      'private healthServer: http.Server | null = null;',
      'private timer?: NodeJS.Timeout;',
      `private readonly ${d.records} = new Map<string, ${rec}>();`,
      'private readonly stats = new Map<string, number>();',
      ...(family === 'retry-registration' ? ['private unsent: string[] = [];'] : []),
      `readonly name = '${cls}';`,
    ],
    [`constructor(private readonly spoolFile = '${d.records}.json', private port = DEFAULT_PORT, private healthPort = DEFAULT_PORT + 1) {}`],
    [
      'private startHealthServer(): void {',
      '  this.healthServer = http.createServer((req, res) => {',
      "    if (req.url === '/health') {",
      "      res.writeHead(200, { 'Content-Type': 'application/json' });",
      `      res.end(JSON.stringify({ status: 'ok', ${d.records}: this.${d.records}.size }));`,
      '      return;',
      '    }',
      '    res.writeHead(404);',
      '    res.end();',
      '  });',
      "  this.healthServer.listen(this.healthPort, '127.0.0.1');",
      '}',
    ],
    [
      'private poll(): void {',
      '  if (!existsSync(this.spoolFile)) return;',
      `  const items = JSON.parse(readFileSync(this.spoolFile, 'utf8')) as ${rec}[];`,
      `  const n = this.${camel(`${d.verbs[0]}_primary`)}(items);`,
      `  console.log(\`${d.verbs[0]} \${n} ${d.records} on port \${this.port}\`);`,
      '}',
    ],
  ];
  if (family === 'retry-registration') {
    members.push([
      'private async register(attempt = 1): Promise<void> {',
      '  try {',
      "    const res = await fetch(REGISTRY_URL, { method: 'POST', body: JSON.stringify({ name: this.name, port: this.port }) });",
      '    if (!res.ok) throw new Error(`registry answered ${res.status}`);',
      '  } catch (err) {',
      '    if (attempt >= 5) {',
      '      this.unsent.push(this.name);',
      '      return;',
      '    }',
      '    await new Promise((resolve) => setTimeout(resolve, 500 * attempt));',
      '    return this.register(attempt + 1);',
      '  }',
      '}',
    ]);
  }
  const business: string[][] = [METHODS[0]!(d, 'primary', rec, r)];
  const used = new Set<string>([business[0]![1]!]);
  const start = [
    'start(): void {',
    '  this.startHealthServer();',
    ...(family === 'retry-registration' ? ['  void this.register();'] : []),
    '  this.timer = setInterval(() => {',
    '    this.poll();',
    '  }, POLL_MS);',
    "  process.on('SIGTERM', () => this.shutdown());",
    "  process.on('SIGINT', () => this.shutdown());",
    `  console.log('${d.stem} started');`,
    '}',
  ];
  const shutdown = [
    'shutdown(): void {',
    '  clearInterval(this.timer);',
    '  this.healthServer?.close();',
    ...(family === 'signal-business-cleanup' ? [`  writeFileSync(this.spoolFile + '.state', JSON.stringify([...this.${d.records}.values()]));`] : []),
    `  console.log('${d.stem} stopped');`,
    '  process.exit(0);',
    '}',
  ];
  const tail = [
    '}',
    '',
    'if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {',
    `  const agent = new ${cls}(process.env.SPOOL ?? '${d.records}.json');`,
    '  agent.start();',
    '}',
    '',
  ];
  const count = () => head.length + [...members, ...business, start, shutdown].reduce((n, m) => n + m.length + 1, 0) + tail.length;
  let q = 0;
  while (count() < lines) {
    const qualifier = QUALIFIERS[q % QUALIFIERS.length]! + (q >= QUALIFIERS.length ? `_${Math.floor(q / QUALIFIERS.length)}` : '');
    q++;
    const m = r.pick(METHODS)(d, qualifier, rec, r);
    const sig = m.find((l) => l.includes('('))!;
    if (used.has(sig)) continue;
    used.add(sig);
    business.push(m);
  }
  const body = [...members, ...business, start, shutdown].flatMap((m, i) => [...(i ? [''] : []), ...indent(1, m)]);
  const file = `${cls.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}.ts`;
  return { rel: `services/${d.stem.split('_')[0]}/${file}`, text: [...head, ...body, ...tail].join('\n'), className: cls, language: 'typescript', family };
}
