import 'reflect-metadata';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { HttpService } from '@nestjs/axios';
import axios from 'axios';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createServiceTokenFetch,
  InternalDestinations,
  JwtIssuerError,
  useServiceTokenInterceptor,
} from '../../../lib/index.js';
import {
  type RunningApp,
  startServiceApp,
} from '../../support/service-token-apps.js';

/** A plain HTTP server on 127.0.0.1 that records the authorization header of each request. */
async function recorder(
  handle?: (req: IncomingMessage) => { status: number; location?: string },
): Promise<{
  url: string;
  seen: (string | undefined)[];
  close(): Promise<void>;
}> {
  const seen: (string | undefined)[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    const out = handle?.(req) ?? { status: 200 };
    res.writeHead(out.status, out.location ? { location: out.location } : {});
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

describe('InternalDestinations', () => {
  it('matches scheme, host and port exactly, and path prefixes on segment boundaries', () => {
    const internal = new InternalDestinations([
      'https://billing.internal',
      'http://127.0.0.1:3001/internal/',
      new URL('https://gateway.internal/billing'),
    ]);
    for (const yes of [
      'https://billing.internal',
      'https://billing.internal/invoices?x=1#f',
      'https://BILLING.internal:443/a',
      'http://127.0.0.1:3001/internal/stock',
      'http://127.0.0.1:3001/internal',
      'https://gateway.internal/billing/x',
    ])
      expect(internal.includes(yes), yes).toBe(true);
    for (const no of [
      'http://billing.internal/',
      'https://billing.internal:8443/',
      'https://billing.internal.evil.com/',
      'https://evil.com/?u=https://billing.internal',
      'https://user:pw@billing.internal/',
      'http://127.0.0.1:3001/internals',
      'http://127.0.0.1:3001/',
      'https://gateway.internal/billing-evil',
      '/relative',
      'not a url',
    ])
      expect(internal.includes(no), no).toBe(false);
  });

  it('refuses an empty list and entries that are not plain absolute http(s) URLs', () => {
    for (const bad of [
      [],
      ['billing.internal'],
      ['ftp://billing.internal'],
      ['https://u:p@billing.internal'],
      ['https://billing.internal/?q=1'],
      ['https://billing.internal/#x'],
    ])
      expect(() => new InternalDestinations(bad), JSON.stringify(bad)).toThrow(
        JwtIssuerError,
      );
  });
});

describe('the calling side: fetch and @nestjs/axios attach the current token to internal destinations only', () => {
  let m1: RunningApp;
  let m2: RunningApp;
  let internal: Awaited<ReturnType<typeof recorder>>;
  let external: Awaited<ReturnType<typeof recorder>>;
  let redirecting: Awaited<ReturnType<typeof recorder>>;

  beforeAll(async () => {
    m1 = await startServiceApp({
      name: 'm1',
      issuer: 'http://m1.test',
      rotationInterval: 3600,
    });
    m2 = await startServiceApp({
      name: 'm2',
      issuer: 'http://m2.test',
      trustedIssuers: [
        {
          issuer: 'http://m1.test',
          jwksUri: `${m1.url}/.well-known/jwks.json`,
        },
      ],
    });
    internal = await recorder();
    external = await recorder();
    redirecting = await recorder(() => ({
      status: 302,
      location: `${external.url}/stolen`,
    }));
  }, 60_000);
  afterAll(async () => {
    await redirecting?.close();
    await external?.close();
    await internal?.close();
    await m2?.app.close();
    await m1?.app.close();
  });

  it('fetch: the guarded route of M2 accepts the call; an external URL gets no token; renewed tokens are picked up', async () => {
    const internalFetch = createServiceTokenFetch(m1.service, {
      internal: [m2.url, internal.url],
    });
    const res = await internalFetch(`${m2.url}/internal/whoami`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { sub: string }).sub).toBe('m1');

    await internalFetch(`${external.url}/x`);
    expect(external.seen).toEqual([undefined]);

    await internalFetch(`${internal.url}/a`);
    const before = internal.seen.at(-1);
    expect(before).toBe(await m1.service.authorizationHeader());
    await m1.service.rotateKeys(); // renews the own token with the new key
    await internalFetch(new URL(`${internal.url}/b`));
    const after = internal.seen.at(-1);
    expect(after).not.toBe(before);
    expect(after).toBe(await m1.service.authorizationHeader());
  });

  it('fetch: a redirect from an internal service is not followed, so the token never reaches the target', async () => {
    const internalFetch = createServiceTokenFetch(m1.service, {
      internal: [redirecting.url],
    });
    const seenBefore = external.seen.length;
    const res = await internalFetch(`${redirecting.url}/go`);
    expect(res.status).toBe(302);
    expect(redirecting.seen.at(-1)).toMatch(/^Bearer /);
    expect(external.seen.length).toBe(seenBefore);
  });

  it('@nestjs/axios HttpService: the interceptor adds the token to internal URLs only, and can be removed', async () => {
    const http = new HttpService(axios.create());
    const remove = useServiceTokenInterceptor(http, m1.service, {
      internal: [m2.url, internal.url, redirecting.url],
    });
    const res = await firstValueFrom(
      http.get<{ sub: string }>(`${m2.url}/internal/whoami`),
    );
    expect(res.data.sub).toBe('m1');

    await firstValueFrom(http.get(`${internal.url}/axios`));
    expect(internal.seen.at(-1)).toBe(await m1.service.authorizationHeader());
    const externalBefore = external.seen.length;
    await firstValueFrom(http.get(`${external.url}/axios`));
    expect(external.seen.at(-1)).toBeUndefined();

    // Redirects are not followed with the token (axios reports the 302 as an error).
    const seen = external.seen.length;
    await expect(
      firstValueFrom(http.get(`${redirecting.url}/axios`)),
    ).rejects.toMatchObject({ response: { status: 302 } });
    expect(external.seen.length).toBe(seen);
    expect(externalBefore).toBe(seen - 1);

    remove();
    await firstValueFrom(http.get(`${internal.url}/after-removal`));
    expect(internal.seen.at(-1)).toBeUndefined();
  });

  it('axios with a baseURL: the full URL decides', async () => {
    const instance = axios.create({ baseURL: `${external.url}/api/` });
    useServiceTokenInterceptor(instance, m1.service, {
      internal: [internal.url],
    });
    await instance.get('relative');
    expect(external.seen.at(-1)).toBeUndefined();
    await instance.get(`${internal.url}/absolute`);
    expect(internal.seen.at(-1)).toMatch(/^Bearer /);
  });
});
