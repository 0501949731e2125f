// A line of code quoted in a message (a review item, a warning) when it is too long to quote whole.

const WORD = /\w/;

/**
 * The first line of `code`, trimmed: itself when it has at most `max` characters; else its longest head of at most `max` characters that
 * ends between words (not inside a name: `os.environ.get("DHCP_MAX_FAILURES"` stops before the name, not
 * at `DHCP_MAX_FAILUR`), trailing spaces dropped, and an ellipsis. A head with no such end (one long
 * name) is cut at `max`.
 */
export function excerpt(code: string, max: number): string {
  const text = code.split('\n')[0]!.trim();
  if (text.length <= max) return text;
  let end = max;
  while (end > 0 && WORD.test(text[end - 1]!) && WORD.test(text[end]!)) end--;
  if (end === 0) end = max;
  return `${text.slice(0, end).trimEnd()}…`;
}
