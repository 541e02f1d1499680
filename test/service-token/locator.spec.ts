import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JwtIssuerError,
  JwtIssuerErrorCode,
  JwtIssuerScopeError,
  type ServiceTokenCall,
  ServiceTokenLocator,
} from '../../lib/index.js';
import { refusalFor } from '../../lib/common/token-refusal.js';
import {
  LogCollector,
  type RunningApp,
  startServiceApp,
} from '../support/service-token-apps.js';

/** Reads the token from a `service_token` cookie, else where the default locator reads it. */
@Injectable()
class CookieTokenLocator extends ServiceTokenLocator {
  override locate(call: ServiceTokenCall): string | undefined {
    const cookie = call.headers.cookie;
    const found =
      typeof cookie === 'string'
        ? /(?:^|; *)service_token=([^;]+)/.exec(cookie)?.[1]
        : undefined;
    return found ?? super.locate(call);
  }
}

describe('ServiceTokenLocator: where the token comes from', () => {
  const locator = new ServiceTokenLocator();

  it('reads authorization: Bearer on calls, and socket.io auth.token (over the header) at a handshake', () => {
    const headers = { authorization: 'Bearer abc' };
    expect(
      locator.locate({ type: 'http', headers, request: { headers } }),
    ).toBe('abc');
    expect(locator.locate({ type: 'rpc', headers: {} })).toBeUndefined();
    expect(
      locator.locate({
        type: 'ws',
        headers,
        handshake: { adapter: 'socket.io', auth: { token: 'Bearer def' } },
      }),
    ).toBe('def');
    expect(
      locator.locate({
        type: 'ws',
        headers,
        handshake: { adapter: 'ws', auth: { token: 'def' } },
      }),
    ).toBe('abc');
  });

  it('builds the one TOKEN_MISSING refusal, whose answer is a bare WWW-Authenticate: Bearer (RFC 6750 §3.1)', () => {
    const missing = locator.missing({
      type: 'http',
      headers: {},
      request: { headers: {} },
    });
    expect(missing).toBeInstanceOf(JwtIssuerError);
    expect(missing.code).toBe(JwtIssuerErrorCode.TOKEN_MISSING);
    expect(missing.message).toBe('no authorization: Bearer token');
    expect(refusalFor(missing)).toEqual({
      status: 401,
      body: { statusCode: 401, message: 'Unauthorized' },
      wwwAuthenticate: 'Bearer',
    });
    expect(
      refusalFor(
        new JwtIssuerError(JwtIssuerErrorCode.TOKEN_EXPIRED, 'expired'),
      ).wwwAuthenticate,
    ).toBe('Bearer error="invalid_token"');
  });

  it('a scope refusal carries its required scopes as a typed field', () => {
    const error = new JwtIssuerScopeError('orders:read orders:write', 'lacks');
    expect(error.code).toBe(JwtIssuerErrorCode.SCOPE_INSUFFICIENT);
    expect(error.name).toBe('JwtIssuerScopeError');
    expect(error.requiredScope).toBe('orders:read orders:write');
    expect(refusalFor(error)).toEqual({
      status: 403,
      body: { statusCode: 403, message: 'Forbidden' },
      wwwAuthenticate:
        'Bearer error="insufficient_scope", scope="orders:read orders:write"',
    });
  });
});

describe('an application that provides its own ServiceTokenLocator (a cookie)', () => {
  let app: RunningApp;
  const logs = new LogCollector();
  beforeAll(async () => {
    app = await startServiceApp(
      { name: 'self', issuer: 'http://self.test', algorithm: 'EdDSA' },
      {
        logger: logs,
        providers: [
          { provide: ServiceTokenLocator, useClass: CookieTokenLocator },
        ],
      },
    );
  });
  afterAll(async () => {
    await app?.app.close();
  });

  it('the guard reads the token where the locator finds it', async () => {
    const token = await app.service.getToken();
    const byCookie = await fetch(`${app.url}/internal/whoami`, {
      headers: { cookie: `theme=dark; service_token=${token}` },
    });
    expect(byCookie.status).toBe(200);
    expect(await byCookie.json()).toMatchObject({ sub: 'self' });
    const byHeader = await fetch(`${app.url}/internal/whoami`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(byHeader.status).toBe(200);
    const none = await fetch(`${app.url}/internal/whoami`, {
      headers: { cookie: 'theme=dark' },
    });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await none.json()).toEqual({
      statusCode: 401,
      message: 'Unauthorized',
    });
  });
});
