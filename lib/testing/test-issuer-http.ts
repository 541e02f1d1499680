import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { JwtIssuerError, JwtIssuerErrorCode } from '../errors.js';

/** One document the server answers with: its JSON body and `Cache-Control`. */
export interface WellKnownDocument {
  body(): unknown;
  cacheControl(): string;
}

/** Limits of the {@link TestIssuerHttp} server (internal). */
export interface TestIssuerHttpLimits {
  /** Time to receive a request's headers, and a whole request, in ms. */
  requestTimeoutMs: number;
}

// A request's line and headers: what Node's default allows (16 KiB) is more than a JWKS request needs.
const MAX_HEADER_BYTES = 8 * 1024;
const MAX_CONNECTIONS = 128;
const NOT_FOUND = '{"statusCode":404,"message":"Not Found"}';

/**
 * The HTTP side of a test issuer (internal): `GET`/`HEAD` of its JWKS and OpenID configuration paths on
 * 127.0.0.1, as the module's own routes answer them (JSON, `Cache-Control`, the query ignored), and 404 for anything
 * else. Hostile input costs little: a request body is never read (the connection is closed after the answer),
 * headers are limited to 8 KiB (431), a request must arrive within the timeout, connections are capped.
 */
export class TestIssuerHttp {
  private server: Server | undefined;
  private port = 0;
  /** Requests answered per path of its documents (any method), for tests that count JWKS fetches. */
  readonly hits = new Map<string, number>();

  constructor(
    private readonly documents: ReadonlyMap<string, WellKnownDocument>,
    private readonly limits: TestIssuerHttpLimits,
  ) {}

  /** Listens on 127.0.0.1: on a free port the first time, on the same port afterwards. Returns the port. */
  async listen(): Promise<number> {
    if (this.server) return this.port;
    const server = createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        requestTimeout: this.limits.requestTimeoutMs,
        headersTimeout: this.limits.requestTimeoutMs,
        keepAliveTimeout: this.limits.requestTimeoutMs,
        // Timeouts are checked this often (Node's default, 30 s, would let a slow client hold on much longer).
        connectionsCheckingInterval: Math.max(
          50,
          Math.min(1000, this.limits.requestTimeoutMs / 2),
        ),
      },
      (req, res) => this.answer(req, res),
    );
    server.maxConnections = MAX_CONNECTIONS;
    server.maxRequestsPerSocket = 100;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((cause: unknown) => {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.INVALID_ARGUMENT,
        `test issuer: cannot listen on 127.0.0.1:${this.port} (${(cause as Error).message})`,
        { cause },
      );
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this.port;
  }

  /** Stops listening and drops every open connection: the endpoint is unreachable (connection refused). */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) =>
      server.close(() => resolve()),
    );
    server.closeAllConnections();
    await closed;
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    // Counted for its own paths only: a client sending random paths grows nothing.
    if (this.documents.has(path))
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
    // The body of a request is never read: the connection closes after the answer instead.
    const hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      (req.headers['content-length'] ?? '0') !== '0';
    if (hasBody) res.setHeader('Connection', 'close');
    const doc =
      req.method === 'GET' || req.method === 'HEAD'
        ? this.documents.get(path)
        : undefined;
    const body = doc ? JSON.stringify(doc.body()) : NOT_FOUND;
    res.statusCode = doc ? 200 : 404;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    if (doc) res.setHeader('Cache-Control', doc.cacheControl());
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
