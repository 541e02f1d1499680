import 'reflect-metadata';
import type { Server } from 'node:http';
import { type INestApplication, Module, UseGuards } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AllowServices,
  JwtIssuerModule,
  type ServiceCaller,
  ServiceClaims,
  ServiceTokenGuard,
  ServiceTokenService,
} from '../../../lib/index.js';
import { LogCollector } from '../../support/service-token-apps.js';

const SELF = 'http://graph.test';
let runs = 0;

@Resolver()
class CallerResolver {
  @UseGuards(ServiceTokenGuard)
  @Query('whoami')
  whoami(@ServiceClaims('caller') caller: ServiceCaller): ServiceCaller {
    runs++;
    return caller;
  }

  @UseGuards(ServiceTokenGuard)
  @AllowServices('http://other.test')
  @Query('restricted')
  restricted(): string {
    runs++;
    return 'restricted';
  }

  @Query('open')
  open(): string {
    return 'open';
  }
}

describe('a GraphQL resolver (@nestjs/graphql + Apollo on Express) guarded by ServiceTokenGuard, queried over HTTP', () => {
  let app: INestApplication;
  let url: string;
  let tokens: ServiceTokenService;
  const logs = new LogCollector();

  beforeAll(async () => {
    @Module({
      imports: [
        JwtIssuerModule.forRoot({
          ignoreEnvVars: true,
          service: { name: 'graph', issuer: SELF },
        }),
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          typeDefs:
            'type Caller { issuer: String!, subject: String }\n' +
            'type Query { whoami: Caller, restricted: String, open: String }',
        }),
      ],
      providers: [CallerResolver],
    })
    class GraphModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [GraphModule],
    }).compile();
    app = moduleRef.createNestApplication();
    app.useLogger(logs);
    await app.listen(0, '127.0.0.1');
    const address = (app.getHttpServer() as Server).address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/graphql`;
    tokens = app.get(ServiceTokenService);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  const query = async (q: string, authorization?: string) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(authorization ? { authorization } : {}),
      },
      body: JSON.stringify({ query: q }),
    });
    return (await res.json()) as {
      data?: Record<string, unknown>;
      errors?: { message: string; extensions?: Record<string, unknown> }[];
    };
  };

  it('with the service token: resolved, and @ServiceClaims finds the claims in the GraphQL context', async () => {
    const out = await query(
      '{ whoami { issuer subject } }',
      await tokens.authorizationHeader(),
    );
    expect(out).toEqual({
      data: { whoami: { issuer: SELF, subject: 'graph' } },
    });
  });

  it('without a token, or with a tampered one: an Unauthorized error, the resolver does not run', async () => {
    const before = runs;
    const token = await tokens.getToken();
    for (const authorization of [
      undefined,
      `Bearer ${token.slice(0, -4)}AAAA`,
      `Bearer ${await tokens.createJwt({ sub: 'alice' })}`,
    ]) {
      const out = await query('{ whoami { issuer } }', authorization);
      expect(out.data?.whoami).toBeNull();
      expect(out.errors?.[0].message).toBe('Unauthorized');
    }
    expect(runs).toBe(before);
    expect(logs.lines.join('\n')).toContain(
      'Refused service token on graphql CallerResolver.whoami: ERR_JWT_ISSUER_TOKEN_MISSING',
    );
  });

  it('an issuer the resolver does not allow: Forbidden; an unguarded field still resolves', async () => {
    const before = runs;
    const out = await query(
      '{ restricted }',
      await tokens.authorizationHeader(),
    );
    expect(out.errors?.[0].message).toBe('Forbidden');
    expect(runs).toBe(before);
    expect(await query('{ open }')).toEqual({ data: { open: 'open' } });
  });
});
