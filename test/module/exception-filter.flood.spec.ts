import 'reflect-metadata';
import { Controller, Get, Module, Query } from '@nestjs/common';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import {
  JwtIssuerExceptionFilter,
  JwtIssuerModule,
  ServiceTokenVerifier,
} from '../../lib/index.js';
import { LogCollector } from '../support/service-token-apps.js';

/** A route that verifies `?token=` itself: every bad token a client sends becomes a JwtIssuerError for the filter. */
@Controller()
class VerifyController {
  constructor(private readonly verifier: ServiceTokenVerifier) {}

  @Get('verify')
  async verify(@Query('token') token: string): Promise<unknown> {
    return this.verifier.verify(token);
  }
}

@Module({
  imports: [
    JwtIssuerModule.forRoot({
      ignoreEnvVars: true,
      service: {
        name: 'filtered',
        issuer: 'http://filtered.test',
        algorithm: 'ES256',
      },
    }),
  ],
  controllers: [VerifyController],
  providers: [{ provide: APP_FILTER, useClass: JwtIssuerExceptionFilter }],
})
class FilteredModule {}

describe('JwtIssuerExceptionFilter under a flood of bad input (real HTTP)', () => {
  it('300 bad tokens: every one 401, at most 10 log lines, and one summary by code when the app closes', async () => {
    const logs = new LogCollector();
    const app = await NestFactory.create(FilteredModule, { logger: logs });
    await app.listen(0, '127.0.0.1');
    const url = await app.getUrl();
    const kinds: [string, string][] = [
      ['x.y', 'ERR_JWT_ISSUER_TOKEN_MALFORMED'],
      ['A'.repeat(9000), 'ERR_JWT_ISSUER_TOKEN_TOO_LARGE'],
      [
        `${Buffer.from('{"alg":"none"}').toString('base64url')}.e30.`,
        'ERR_JWT_ISSUER_TOKEN_HEADER_REFUSED',
      ],
    ];
    const sent: Record<string, number> = {};
    const statuses: Record<number, number> = {};
    const before = logs.lines.length;
    try {
      for (let round = 0; round < 30; round++) {
        await Promise.all(
          Array.from({ length: 10 }, async (_, i) => {
            const [token, code] = kinds[(round * 10 + i) % kinds.length];
            sent[code] = (sent[code] ?? 0) + 1;
            const res = await fetch(`${url}/verify?token=${token}`);
            await res.arrayBuffer();
            statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          }),
        );
      }
      expect(statuses).toEqual({ 401: 300 });
      const during = logs.lines
        .slice(before)
        .filter((l) => l.includes('JwtIssuerExceptionFilter'));
      expect(during).toHaveLength(10);
      for (const l of during) expect(l).toMatch(/^GET \/verify: 401 ERR_/);
    } finally {
      await app.close();
    }
    const lines = logs.lines
      .slice(before)
      .filter((l) => l.includes('JwtIssuerExceptionFilter'));
    expect(lines).toHaveLength(11);
    const counted: Record<string, number> = {};
    for (const l of lines.slice(0, 10)) {
      const code = /(ERR_JWT_ISSUER_[A-Z_]+)/.exec(l)![1];
      counted[code] = (counted[code] ?? 0) + 1;
    }
    expect(lines[10]).toMatch(
      /^290 more errors in the last \d+ s not logged \(/,
    );
    for (const m of lines[10].matchAll(/(ERR_JWT_ISSUER_[A-Z_]+) ([\d,]+)/g))
      counted[m[1]] = (counted[m[1]] ?? 0) + Number(m[2].replaceAll(',', ''));
    expect(counted).toEqual(sent);
  }, 120_000);
});
