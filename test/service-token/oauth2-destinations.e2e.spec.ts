import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LogCollector,
  type RunningApp,
  startServiceApp,
} from '../support/service-token-apps.js';

/** A token endpoint on 127.0.0.1 that records each request's form and answers with a token named after it. */
async function recordingTokenEndpoint(): Promise<{
  url: string;
  forms: URLSearchParams[];
  close(): Promise<void>;
}> {
  const forms: URLSearchParams[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      forms.push(new URLSearchParams(body));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          access_token: `token-${forms.length}`,
          token_type: 'Bearer',
          expires_in: 600,
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/token`,
    forms,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The parameters of one token request, as the endpoint received them (grant and client authentication aside). */
const asked = (form: URLSearchParams) => ({
  scope: form.get('scope'),
  resource: form.getAll('resource'),
  audience: form.get('audience'),
});

describe('OAuth 2.0 destinations ask for exactly their own scope, resource and audience (nothing inherited from the top level)', () => {
  let endpoint: Awaited<ReturnType<typeof recordingTokenEndpoint>>;
  let m1: RunningApp;

  beforeAll(async () => {
    endpoint = await recordingTokenEndpoint();
    m1 = await startServiceApp(
      {
        oauth2: {
          tokenEndpoint: endpoint.url,
          clientId: 'orders',
          clientSecret: 'orders-secret',
          scope: ['invoices:read', 'invoices:write'],
          resource: 'https://billing.test',
          audience: 'billing-api',
          destinations: [
            { url: 'https://stock.test', scope: 'stock:read' },
            { url: 'https://legacy.test/api/', audience: 'legacy-api' },
            { url: 'https://bare.test' },
          ],
        },
      },
      { logger: new LogCollector() },
    );
  }, 30_000);
  afterAll(async () => {
    await m1?.app.close();
    await endpoint?.close();
  });

  /** What the token endpoint received for the token a call to `destination` gets. */
  const requestOf = async (destination?: string) => {
    const token = await m1.service.getToken(destination);
    const form = endpoint.forms[Number(token.slice('token-'.length)) - 1];
    expect(form.get('grant_type')).toBe('client_credentials');
    return asked(form);
  };

  it('the default token carries the top-level request; each destination only what its own entry says', async () => {
    expect(await requestOf()).toEqual({
      scope: 'invoices:read invoices:write',
      resource: ['https://billing.test'],
      audience: 'billing-api',
    });
    // A call nowhere near a destination gets the default token too.
    expect(await requestOf('https://elsewhere.test/x')).toEqual(
      await requestOf(),
    );
    expect(await requestOf('https://stock.test/items')).toEqual({
      scope: 'stock:read',
      resource: [],
      audience: null,
    });
    expect(await requestOf('https://legacy.test/api/orders')).toEqual({
      scope: null,
      resource: [],
      audience: 'legacy-api',
    });
    // No scope of its own: none asked for (the identity provider's default for the client), not the top level's.
    expect(await requestOf('https://bare.test/')).toEqual({
      scope: null,
      resource: [],
      audience: null,
    });
  });
});
