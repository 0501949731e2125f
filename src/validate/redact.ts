// Secrets never leave the tool in clear: a password in a URL, and what agents print
// about credentials (password=..., token=..., Authorization: ...) are masked in every
// message, report and record the tool writes.

/** Hide the password of a URL ("redis://user:***@host:6379/0"); anything else unchanged. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    // Not even a URL: still no password in clear.
    return url.replace(URL_CREDENTIALS, (_, scheme: string, user: string) => `${scheme}${user}:***@`);
  }
}

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]*):([^\s/@]+)@/gi;
const KEY_VALUE = /\b((?:[A-Za-z0-9_.-]*?)(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth))(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&'"]+)/gi;
const AUTH_HEADER = /\b(authorization|proxy-authorization)(\s*:\s*)(\S+\s+)?\S+/gi;

/** Mask credentials in a line of text (a log line, an error message, a check detail). */
export function redactText(text: string): string {
  return text
    .replace(AUTH_HEADER, (_, name: string, sep: string, scheme?: string) => `${name}${sep}${scheme ?? ''}***`)
    .replace(URL_CREDENTIALS, (_, scheme: string, user: string) => `${scheme}${user}:***@`)
    .replace(KEY_VALUE, (_, key: string, sep: string) => `${key}${sep}***`);
}
