// An agent's /health on loopback, read as JSON; null while it does not answer (not listening yet, gone).
export async function healthJson(port: number): Promise<Record<string, unknown> | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    return (await res.json()) as Record<string, unknown>;
  } catch {
    return null;
  }
}
