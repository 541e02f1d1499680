/** The URL when `v` is an absolute http(s) URL without a fragment, else `undefined` (callers check credentials). */
export function httpUrl(v: unknown): URL | undefined {
  if (typeof v !== 'string' || !URL.canParse(v)) return undefined;
  const u = new URL(v);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  return u.hash === '' ? u : undefined;
}

/**
 * True for a loopback address, `127.0.0.0/8` or `::1` (in any spelling: the URL parser writes both in one form, so
 * `127.1`, `0x7f.0.0.1` and `[0:0:0:0:0:0:0:1]` count), and for the name `localhost` itself: plain http there never
 * leaves the machine. A name under `.localhost` (`evil.localhost`) is not loopback here: where it leads is the
 * resolver's choice, not the URL's, so it is treated like any other host.
 */
export function isLoopback(u: URL): boolean {
  const h = u.hostname;
  return (
    h === 'localhost' ||
    h === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
  );
}

/**
 * True when `v` is a URL keys or tokens may be fetched from: absolute https (or http to loopback, or any http when
 * `allowHttp`), without credentials or fragment.
 */
export function isFetchableUrl(v: unknown, allowHttp = false): v is string {
  const u = httpUrl(v);
  if (u === undefined || u.username !== '' || u.password !== '') return false;
  return u.protocol === 'https:' || allowHttp || isLoopback(u);
}
