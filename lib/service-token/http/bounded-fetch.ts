import { errorText, printable } from './printable.js';

/** Why a request failed, in words fit for a log line (never the server's own text unsanitized). */
export class FetchProblem extends Error {}

const noop = (): void => undefined;

/** Options of {@link fetchJsonBounded}. */
export interface BoundedFetchOptions {
  /** Deadline of the whole request: connect, headers and every read of the body. */
  timeoutMs: number;
  /** Largest accepted body, counted in decoded bytes as they arrive. */
  maxBytes: number;
  /** @default 'GET' */
  method?: 'GET' | 'POST';
  /** Request headers (`accept: application/json` is added). */
  headers?: Record<string, string>;
  /** Request body (for POST). */
  body?: string;
  /**
   * Also read (bounded, as JSON when it parses) the body of a non-2xx answer instead of failing on the status:
   * for endpoints whose errors are JSON (an OAuth token endpoint). @default false
   */
  readErrorBody?: boolean;
}

/** What {@link fetchJsonBounded} returns. */
export interface BoundedFetchResult {
  readonly status: number;
  /** The parsed JSON; `undefined` for an error answer whose body is not JSON. */
  readonly body: unknown;
  /** `Cache-Control: max-age` in milliseconds, `Infinity` without one. */
  readonly maxAgeMs: number;
}

/**
 * One request to an untrusted endpoint, bounded whatever the server does: a single deadline over connect, headers
 * and every read of the body (a body trickling in byte by byte included); the body counted in decoded bytes (after
 * `Content-Encoding`) and cancelled as soon as it passes `maxBytes` (a gzip bomb never inflates further); redirects
 * refused (the request never goes elsewhere). JWKS, discovery documents and token endpoints all go through it.
 *
 * @throws {FetchProblem} for a timeout, an oversized or non-JSON body, or a non-2xx status (unless `readErrorBody`);
 * any other error is `fetch`'s own (see {@link describeFetchError}).
 */
export async function fetchJsonBounded(
  url: string,
  options: BoundedFetchOptions,
): Promise<BoundedFetchResult> {
  const { timeoutMs, maxBytes } = options;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new FetchProblem(`no complete answer within ${timeoutMs} ms`));
      controller.abort();
    }, timeoutMs);
  });
  deadline.catch(noop);
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let done = false;
  try {
    const res = await Promise.race([
      fetch(url, {
        method: options.method ?? 'GET',
        headers: { accept: 'application/json', ...options.headers },
        body: options.body,
        redirect: 'error',
        signal: controller.signal,
      }),
      deadline,
    ]);
    reader = res.body?.getReader();
    if (!res.ok && !options.readErrorBody) {
      throw new FetchProblem(`HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length'));
    if (!res.headers.has('content-encoding') && declared > maxBytes) {
      throw new FetchProblem(`response larger than ${maxBytes} bytes`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      if (reader === undefined) break;
      const chunk = await Promise.race([reader.read(), deadline]);
      if (chunk.done) break;
      size += chunk.value.byteLength;
      if (size > maxBytes) {
        throw new FetchProblem(`response larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk.value);
    }
    done = true;
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks, size).toString('utf8'));
    } catch {
      if (res.ok) throw new FetchProblem('the response is not JSON');
      body = undefined;
    }
    const m = /(?:^|,)\s*max-age=(\d{1,10})\s*(?:,|$)/i.exec(
      res.headers.get('cache-control') ?? '',
    );
    return {
      status: res.status,
      body,
      maxAgeMs: m ? Number(m[1]) * 1000 : Infinity,
    };
  } finally {
    clearTimeout(timer);
    if (!done) {
      reader?.cancel().catch(noop);
      controller.abort();
    }
  }
}

/** A request failure in words: a {@link FetchProblem}'s message, or fetch's error without anything the server chose. */
export function describeFetchError(cause: unknown): string {
  if (cause instanceof FetchProblem) return cause.message;
  const e = cause as {
    name?: string;
    message?: string;
    cause?: { code?: unknown };
  };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return 'aborted';
  const code = e?.cause?.code;
  if (typeof code === 'string') return printable(code, 40);
  // fetch's own messages may quote the URL, userinfo and query included: never repeated.
  return errorText(e?.message === undefined ? { message: 'error' } : e, 120);
}

/** Delay before attempt `failures + 1`: `minMs` doubling on each failure in a row, up to `maxMs`. */
export function backOffDelay(
  failures: number,
  minMs: number,
  maxMs: number,
): number {
  return Math.min(minMs * 2 ** Math.min(Math.max(failures - 1, 0), 30), maxMs);
}
