import 'reflect-metadata';
import { Controller, Get, UseGuards } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AllowServices,
  JwtIssuerError,
  type ServiceCaller,
  ServiceClaims,
  ServiceTokenGuard,
} from '../../lib/index.js';
import {
  LogCollector,
  type Platform,
  type RunningApp,
  startServiceApp,
} from '../support/service-token-apps.js';

const ORDERS = 'http://orders.test';
const IMPOSTOR = 'http://impostor.test';

@Controller('internal')
class BillingController {
  @UseGuards(ServiceTokenGuard)
  @Get('whoami')
  whoami(
    @ServiceClaims('caller') caller: ServiceCaller,
    @ServiceClaims('sub') sub: string,
  ) {
    return { caller, sub };
  }

  @UseGuards(ServiceTokenGuard)
  @AllowServices(ORDERS)
  @Get('orders-only')
  ordersOnly(@ServiceClaims('caller') caller: ServiceCaller) {
    return caller;
  }
}

@UseGuards(ServiceTokenGuard)
@AllowServices([IMPOSTOR])
@Controller('scoped')
class ScopedController {
  @Get('class')
  byClass(@ServiceClaims('caller') caller: ServiceCaller) {
    return caller;
  }

  @AllowServices(ORDERS)
  @Get('handler')
  byHandler(@ServiceClaims('caller') caller: ServiceCaller) {
    return caller;
  }
}

describe.each<Platform>(['express', 'fastify'])(
  'caller identity is (iss, sub), and routes choose their issuers, billing on %s',
  (platform) => {
    const logs = new LogCollector();
    let orders: RunningApp;
    let impostor: RunningApp;
    let billing: RunningApp;

    beforeAll(async () => {
      orders = await startServiceApp({ name: 'orders', issuer: ORDERS });
      // A trusted issuer can write any sub: this one claims to be 'orders' too.
      impostor = await startServiceApp({ name: 'orders', issuer: IMPOSTOR });
      billing = await startServiceApp(
        {
          name: 'billing',
          issuer: 'http://billing.test',
          trustedIssuers: [
            { issuer: ORDERS, jwksUri: `${orders.url}/.well-known/jwks.json` },
            {
              issuer: IMPOSTOR,
              jwksUri: `${impostor.url}/.well-known/jwks.json`,
            },
          ],
        },
        {
          platform,
          logger: logs,
          controllers: [BillingController, ScopedController],
        },
      );
    });
    afterAll(async () => {
      await billing?.app.close();
      await impostor?.app.close();
      await orders?.app.close();
    });

    const call = async (path: string, from?: RunningApp) => {
      const res = await fetch(`${billing.url}${path}`, {
        headers: from
          ? { authorization: await from.service.authorizationHeader() }
          : {},
      });
      return {
        status: res.status,
        www: res.headers.get('www-authenticate'),
        body: (await res.json()) as unknown,
      };
    };

    it("@ServiceClaims('caller') tells two services with the same sub apart", async () => {
      expect(await call('/internal/whoami', orders)).toMatchObject({
        status: 200,
        body: { caller: { issuer: ORDERS, subject: 'orders' }, sub: 'orders' },
      });
      expect(await call('/internal/whoami', impostor)).toMatchObject({
        status: 200,
        body: {
          caller: { issuer: IMPOSTOR, subject: 'orders' },
          sub: 'orders',
        },
      });
    });

    it('@AllowServices(issuer) admits that issuer and refuses another with 403, even with the same sub', async () => {
      expect(await call('/internal/orders-only', orders)).toEqual({
        status: 200,
        www: null,
        body: { issuer: ORDERS, subject: 'orders' },
      });
      const before = logs.lines.length;
      expect(await call('/internal/orders-only', impostor)).toEqual({
        status: 403,
        www: 'Bearer error="insufficient_scope"',
        body: { statusCode: 403, message: 'Forbidden' },
      });
      const logged = logs.lines.slice(before).join('\n');
      expect(logged).toContain('ERR_JWT_ISSUER_SERVICE_NOT_ALLOWED');
      expect(logged).toContain(
        `GET /internal/orders-only: ERR_JWT_ISSUER_SERVICE_NOT_ALLOWED: issuer ${IMPOSTOR}`,
      );
    });

    it('without a valid token the answer stays 401, whatever the route allows', async () => {
      expect(await call('/internal/orders-only')).toEqual({
        status: 401,
        www: 'Bearer', // no token presented (RFC 6750 §3.1)
        body: { statusCode: 401, message: 'Unauthorized' },
      });
    });

    it("a handler's @AllowServices overrides its class's", async () => {
      expect((await call('/scoped/class', impostor)).status).toBe(200);
      expect((await call('/scoped/class', orders)).status).toBe(403);
      expect((await call('/scoped/handler', orders)).status).toBe(200);
      expect((await call('/scoped/handler', impostor)).status).toBe(403);
    });
  },
);

class Target {
  readonly name = 'target';
}
const declare = (issuers: string | string[]) => () =>
  AllowServices(issuers)(Target);

describe('@AllowServices arguments', () => {
  it('refuses an empty list or a non-string issuer when the class is declared', () => {
    expect(declare([])).toThrow(JwtIssuerError);
    expect(declare([''])).toThrow(/non-empty list of issuers/);
    expect(declare([1 as unknown as string])).toThrow(JwtIssuerError);
    expect(declare('http://orders.test')).not.toThrow();
  });
});
