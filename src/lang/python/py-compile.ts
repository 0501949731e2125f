// Compile many sources with one python3 process (not one per file), in memory: the
// sources travel on stdin as JSON, so nothing is written next to the agents and no
// __pycache__ appears in the user's tree. This is `python3 -m py_compile` minus the .pyc.
// Given bytes, it compiles exactly the bytes that will be written (coding line and all).
import { execa } from 'execa';

const SCRIPT = `
import base64, json, sys
results = []
for item in json.load(sys.stdin):
    try:
        source = base64.b64decode(item["b64"]) if "b64" in item else item["text"]
        compile(source, item["name"], "exec", dont_inherit=True)
        results.append(None)
    except SyntaxError as e:
        results.append({"line": e.lineno or 0, "msg": "%s: %s" % (type(e).__name__, e.msg)})
    except (ValueError, TypeError) as e:
        results.append({"line": 0, "msg": "%s: %s" % (type(e).__name__, e)})
print(json.dumps(results))
`;

export interface CompileInput {
  /** Name used in messages (the file's path relative to the root). */
  name: string;
  text: string;
  /** The encoded file as it will be written; compiled instead of `text` when given. */
  bytes?: Uint8Array;
}

/** One error string per input (`name:line: message`), or null when it compiled. */
export async function pyCompileAll(inputs: CompileInput[]): Promise<Array<string | null>> {
  if (inputs.length === 0) return [];
  let stdout: string;
  try {
    const payload = inputs.map((i) => (i.bytes ? { name: i.name, b64: Buffer.from(i.bytes).toString('base64') } : { name: i.name, text: i.text }));
    ({ stdout } = await execa('python3', ['-c', SCRIPT], { input: JSON.stringify(payload), timeout: 300_000, maxBuffer: 64 * 1024 * 1024 }));
  } catch (err) {
    const e = err as { code?: string; shortMessage?: string };
    const why = e.code === 'ENOENT' ? 'python3 not found on PATH; cannot byte-compile' : `python3 failed: ${e.shortMessage ?? String(err)}`;
    return inputs.map((i) => `${i.name}: ${why}`);
  }
  const results = JSON.parse(stdout.trim().split('\n').pop()!) as Array<{ line: number; msg: string } | null>;
  return results.map((r, i) => (r ? `${inputs[i]!.name}:${r.line}: python3 refuses it: ${r.msg}` : null));
}

