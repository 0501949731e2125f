// json-post-helper.ts: a module's own JSON request helper is proven to send nothing but its payload
// to its URL (and to touch nothing outside its own locals) before a call of it reads as a fetch.
import { describe, expect, it } from 'vitest';
import { SyntaxKind } from 'ts-morph';
import { parseTs } from '../src/lang/typescript/rewrite.js';
import { jsonRequestOf } from '../src/lang/typescript/json-post-helper.js';

const helper = (extra: string) => `
import http from 'node:http';
let sent = 0;
const stats = { posts: 0 };
function postJson(url, payload) {
  const body = JSON.stringify(payload);
  ${extra}
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });
}
postJson(\`\${process.env.REGISTRY_URL}/deregister\`, { name: 'x' });
`;

function lastCall(source: string) {
  const { sf } = parseTs('agent.mjs', source);
  const calls = sf.getDescendantsOfKind(SyntaxKind.CallExpression).filter((c) => c.getExpression().getText() === 'postJson');
  return jsonRequestOf(calls[calls.length - 1]!);
}

describe('jsonRequestOf', () => {
  it('reads a call of a helper that only POSTs JSON of its payload to its URL', () => {
    const req = lastCall(helper(''));
    expect(req?.method).toBe('POST');
    expect(req?.payload?.getText()).toBe("{ name: 'x' }");
  });

  it('does not prove a helper that writes module state (a counter bumped with ++ or --)', () => {
    expect(lastCall(helper('sent++;'))).toBeNull();
    expect(lastCall(helper('--sent;'))).toBeNull();
    expect(lastCall(helper('stats.posts++;'))).toBeNull();
    expect(lastCall(helper('sent += 1;'))).toBeNull();
  });
});
