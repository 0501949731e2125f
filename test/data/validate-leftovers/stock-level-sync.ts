// Stock level sync: pulls warehouse stock counts from the WMS every 20 s, publishes the deltas to
// the storefront's availability API and keeps a low-stock list for the buyers' morning report.
// Metrics go to the Pushgateway under the agent's own job (Grafana "Stock sync" dashboard).
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const WMS_URL = process.env.WMS_URL ?? '';
const STOREFRONT_URL = process.env.STOREFRONT_URL ?? '';
const PUSHGATEWAY = process.env.METRICS_URL ?? 'http://127.0.0.1:9091';
const REGISTRY = process.env.REGISTRY_URL ?? 'http://127.0.0.1:8500';
const LOW_STOCK_FILE = process.env.LOW_STOCK_FILE ?? 'low-stock.json';
const LOW_WATERMARK = 5;

interface StockRow {
  sku: string;
  warehouse: string;
  onHand: number;
  reserved: number;
}

export function available(row: StockRow): number {
  return Math.max(0, row.onHand - row.reserved);
}

export class StockLevelSync {
  private readonly levels = new Map<string, number>();
  private readonly lowStock = new Set<string>();
  private syncs = 0;
  private deltasPublished = 0;
  private publishErrors = 0;
  private registered = false;
  private timer?: NodeJS.Timeout;
  private metricsTimer?: NodeJS.Timeout;
  private health?: http.Server;

  constructor(
    private readonly port = Number(process.env.AGENT_PORT ?? 7720),
    private readonly healthCheckPort = Number(process.env.HEALTH_CHECK_PORT ?? 7721),
  ) {}

  private async fetchStock(): Promise<StockRow[]> {
    if (!WMS_URL) return [];
    const res = await fetch(`${WMS_URL}/stock`, { signal: AbortSignal.timeout(4000) });
    if (!res.ok) throw new Error(`WMS answered ${res.status}`);
    return (await res.json()) as StockRow[];
  }

  private async publishDelta(sku: string, qty: number): Promise<void> {
    if (!STOREFRONT_URL) return;
    const res = await fetch(`${STOREFRONT_URL}/availability/${encodeURIComponent(sku)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ available: qty }),
    });
    if (!res.ok) throw new Error(`storefront answered ${res.status} for ${sku}`);
  }

  async syncOnce(): Promise<void> {
    this.syncs += 1;
    const totals = new Map<string, number>();
    for (const row of await this.fetchStock()) totals.set(row.sku, (totals.get(row.sku) ?? 0) + available(row));
    for (const [sku, qty] of totals) {
      if (this.levels.get(sku) === qty) continue;
      try {
        await this.publishDelta(sku, qty);
        this.levels.set(sku, qty);
        this.deltasPublished += 1;
      } catch (err) {
        this.publishErrors += 1;
        console.warn(`[stock] ${(err as Error).message}`);
      }
      if (qty <= LOW_WATERMARK) this.lowStock.add(sku);
      else this.lowStock.delete(sku);
    }
  }

  private async register(): Promise<void> {
    try {
      const res = await fetch(`${REGISTRY}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'StockLevelSync', port: this.port, health_check_port: this.healthCheckPort }),
      });
      this.registered = res.ok;
    } catch (err) {
      console.warn(`[stock] registration failed: ${(err as Error).message}`);
    }
  }

  private async pushMetrics(): Promise<void> {
    const body =
      `stock_syncs_total ${this.syncs}\n` +
      `stock_deltas_published_total ${this.deltasPublished}\n` +
      `stock_publish_errors_total ${this.publishErrors}\n` +
      `stock_low_skus ${this.lowStock.size}\n` +
      `stock_tracked_skus ${this.levels.size}\n`;
    try {
      await fetch(`${PUSHGATEWAY}/metrics/job/StockLevelSync`, { method: 'PUT', body });
    } catch (err) {
      console.warn(`[stock] metrics push failed: ${(err as Error).message}`);
    }
  }

  private startHealth(): void {
    this.health = http.createServer((req, res) => {
      if (req.url === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'ok', registered: this.registered, skus: this.levels.size }));
      } else {
        res.writeHead(404).end();
      }
    });
    this.health.listen(this.healthCheckPort);
  }

  start(): void {
    this.startHealth();
    void this.register();
    this.timer = setInterval(async () => {
      try {
        await this.syncOnce();
      } catch (err) {
        console.warn(`[stock] sync failed: ${(err as Error).message}`);
      }
    }, 20_000);
    this.metricsTimer = setInterval(() => void this.pushMetrics(), 10_000);
    console.log(`[stock] syncing every 20s (port ${this.port})`);
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.metricsTimer);
    this.health?.close();
    // The buyers' report reads this file at 07:00; it must hold the list as of shutdown.
    writeFileSync(LOW_STOCK_FILE, JSON.stringify([...this.lowStock].sort(), null, 2));
    console.log(`[stock] stopped; ${this.lowStock.size} low-stock SKUs written to ${LOW_STOCK_FILE}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const agent = new StockLevelSync();
  agent.start();
  process.on('SIGTERM', () => {
    agent.stop();
    process.exit(0);
  });
}
