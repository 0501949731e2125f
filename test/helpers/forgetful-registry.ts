// A registry stand-in keeping a live table by name, which forgets everything at the first heartbeat it is
// sent and answers it 404, as a registry restarted under a running agent would; later heartbeats are
// answered 200 while the name is registered again. For the heartbeat-404 re-registration runtime tests.
// `refuseAgain`: once it has forgotten, it answers every registration 503 and keeps none (a registry still
// coming back), so an agent's re-registration fails every time.
import { createServer } from 'node:http';

export async function forgetfulRegistry(opts: { refuseAgain?: boolean } = {}): Promise<{
  /** Every request, in order: its path, JSON body and the code it was answered. */
  posts: Array<{ url: string; body: Record<string, unknown>; status: number }>;
  /** The registered records, by name. */
  live: Map<string, Record<string, unknown>>;
  url: string;
  close(): void;
}> {
  const posts: Array<{ url: string; body: Record<string, unknown>; status: number }> = [];
  const live = new Map<string, Record<string, unknown>>();
  let forgot = false;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const json = JSON.parse(body || '{}');
      const post = { url: req.url ?? '', body: json, status: 200 };
      posts.push(post);
      if (req.url === '/register' && opts.refuseAgain && forgot) {
        post.status = 503;
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error": "starting"}');
        return;
      }
      if (req.url === '/register') live.set(String(json.name), json);
      if (req.url === '/deregister') live.delete(String(json.name));
      if (req.url === '/heartbeat' && !forgot) {
        forgot = true;
        live.clear();
      }
      const known = req.url !== '/heartbeat' || live.has(String(json.name));
      post.status = known ? 200 : 404;
      res.writeHead(known ? 200 : 404, { 'content-type': 'application/json' }).end(known ? '{}' : '{"error": "unknown agent"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { posts, live, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => server.close() };
}
