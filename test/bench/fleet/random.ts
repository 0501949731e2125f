// A small seeded generator (mulberry32): the same seed gives the same fleet on every machine.
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** n distinct items, in a stable order. */
  some<T>(items: readonly T[], n: number): T[] {
    const pool = [...items];
    const out: T[] = [];
    while (out.length < n && pool.length) out.push(pool.splice(Math.floor(this.next() * pool.length), 1)[0]!);
    return out;
  }
}

/** snake_case → PascalCase. */
export function pascal(snake: string): string {
  return snake
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** snake_case → camelCase. */
export function camel(snake: string): string {
  const p = pascal(snake);
  return p.charAt(0).toLowerCase() + p.slice(1);
}

/** The business domains agents serve: a noun for the records, the fields they carry and the verbs done to them. */
export interface Domain {
  /** Agent name stem, e.g. `order_router`. */
  stem: string;
  record: string;
  records: string;
  fields: string[];
  verbs: string[];
}

export const DOMAINS: Domain[] = [
  { stem: 'order_router', record: 'order', records: 'orders', fields: ['desk', 'qty', 'price', 'client'], verbs: ['route', 'price', 'settle', 'cancel'] },
  { stem: 'session_memory', record: 'session', records: 'sessions', fields: ['user', 'turns', 'tokens', 'topic'], verbs: ['store', 'recall', 'trim', 'forget'] },
  { stem: 'invoice_matcher', record: 'invoice', records: 'invoices', fields: ['vendor', 'amount', 'currency', 'due'], verbs: ['match', 'reconcile', 'flag', 'archive'] },
  { stem: 'sensor_ingest', record: 'reading', records: 'readings', fields: ['sensor', 'value', 'unit', 'site'], verbs: ['ingest', 'smooth', 'calibrate', 'drop'] },
  { stem: 'ticket_triage', record: 'ticket', records: 'tickets', fields: ['queue', 'priority', 'owner', 'sla'], verbs: ['triage', 'assign', 'escalate', 'close'] },
  { stem: 'speech_pipeline', record: 'utterance', records: 'utterances', fields: ['speaker', 'lang', 'duration', 'score'], verbs: ['transcribe', 'translate', 'segment', 'discard'] },
  { stem: 'cache_warmer', record: 'entry', records: 'entries', fields: ['key', 'size', 'ttl', 'hits'], verbs: ['warm', 'evict', 'refresh', 'pin'] },
  { stem: 'alert_dispatch', record: 'alert', records: 'alerts', fields: ['source', 'severity', 'team', 'count'], verbs: ['dispatch', 'dedupe', 'silence', 'resolve'] },
  { stem: 'model_registry', record: 'model', records: 'models', fields: ['family', 'version', 'size', 'accuracy'], verbs: ['register', 'promote', 'retire', 'score'] },
  { stem: 'feed_crawler', record: 'article', records: 'articles', fields: ['feed', 'words', 'lang', 'rank'], verbs: ['fetch', 'parse', 'rank', 'expire'] },
  { stem: 'payment_guard', record: 'payment', records: 'payments', fields: ['account', 'amount', 'risk', 'country'], verbs: ['screen', 'hold', 'release', 'refund'] },
  { stem: 'vision_tagger', record: 'frame', records: 'frames', fields: ['camera', 'width', 'labels', 'confidence'], verbs: ['tag', 'crop', 'index', 'purge'] },
];
