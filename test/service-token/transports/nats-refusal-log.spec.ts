import 'reflect-metadata';
import type { INestMicroservice } from '@nestjs/common';
import { type ClientProxy, Transport } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceTokenService } from '../../../lib/index.js';
import { forge, headerOf, rsaKeys } from '../../support/forge.js';
import {
  type RunningNatsServer,
  startNatsServer,
} from '../../support/nats-server.js';
import { LogCollector } from '../../support/service-token-apps.js';
import {
  connectNatsClient,
  handledFor,
  natsRecord as record,
  NatsReceiverController,
  startMicroservice,
} from '../../support/service-token-transports.js';

const ISSUER = 'http://nats-flood.test';

describe('refusal logs of a flood of bad NATS requests (real nats-server)', () => {
  const keys = rsaKeys();
  const other = rsaKeys();
  const logs = new LogCollector();
  let nats: RunningNatsServer;
  let app: INestMicroservice | undefined;
  let client: ClientProxy;

  beforeAll(async () => {
    nats = await startNatsServer('host: 127.0.0.1\nport: -1\n');
    app = await startMicroservice(
      {
        name: 'billing',
        issuer: ISSUER,
        privateKey: keys.privatePem,
        refusalLogLines: 5,
        refusalLogWindow: 3600,
      },
      { transport: Transport.NATS, options: { servers: [nats.url] } },
      [NatsReceiverController],
      logs,
    );
    client = await connectNatsClient(nats.url);
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await app?.close();
    await nats?.stop();
  });

  it('500 refused requests: each gets { statusCode: 401 }, a good one is handled meanwhile, 5 warnings, and one summary by code on close', async () => {
    const tokens = app!.get(ServiceTokenService);
    const kid = headerOf(await tokens.getToken()).kid as string;
    const claims = {
      source: 'microservice',
      iss: ISSUER,
      sub: 'attacker',
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 60,
    };
    const kinds: [string | undefined, string][] = [
      [undefined, 'ERR_JWT_ISSUER_TOKEN_MISSING'],
      ['Bearer x.y', 'ERR_JWT_ISSUER_TOKEN_MALFORMED'],
      [
        `Bearer ${forge({ alg: 'RS256', kid }, claims, other.privateKey)}`,
        'ERR_JWT_ISSUER_TOKEN_SIGNATURE_INVALID',
      ],
      [
        `Bearer ${await tokens.createJwt({ sub: 'alice' })}`,
        'ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID',
      ],
    ];
    const before = logs.lines.length;
    const sent: Record<string, number> = {};
    const replies: unknown[] = [];
    for (let round = 0; round < 25; round++) {
      // 20 at a time.
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const [authorization, code] = kinds[(round * 20 + i) % kinds.length];
          sent[code] = (sent[code] ?? 0) + 1;
          replies.push(
            await firstValueFrom(
              client.send(
                'billing.whoami',
                record({ id: `flood-${round}-${i}` }, authorization),
              ),
            ).catch((e: unknown) => e),
          );
        }),
      );
      if (round === 12) {
        const reply = await firstValueFrom(
          client.send(
            'billing.whoami',
            record({ id: 'flood-good' }, await tokens.authorizationHeader()),
          ),
        );
        expect(reply).toMatchObject({ sub: 'billing' });
        expect(handledFor('flood-good')).toHaveLength(1);
      }
    }
    expect(replies).toHaveLength(500);
    for (const r of replies)
      expect(r).toEqual({ statusCode: 401, message: 'Unauthorized' });

    const guard = () =>
      logs.lines.slice(before).filter((l) => l.includes('ServiceTokenGuard'));
    expect(guard()).toHaveLength(5);
    expect(
      guard().every((l) =>
        l.startsWith(
          'Refused service token on rpc NatsReceiverController.whoami: ',
        ),
      ),
    ).toBe(true);

    await app!.close();
    app = undefined;
    const lines = guard();
    expect(lines).toHaveLength(6);
    const summary = lines[5];
    expect(summary).toMatch(
      /^495 more refused calls in the last \d+ s not logged \(/,
    );
    const counted: Record<string, number> = {};
    for (const l of lines.slice(0, 5)) {
      const code = /(ERR_JWT_ISSUER_[A-Z_]+)/.exec(l)![1];
      counted[code] = (counted[code] ?? 0) + 1;
    }
    for (const m of summary.matchAll(/(ERR_JWT_ISSUER_[A-Z_]+) ([\d,]+)/g))
      counted[m[1]] = (counted[m[1]] ?? 0) + Number(m[2].replaceAll(',', ''));
    expect(counted).toEqual(sent);
  }, 120_000);
});
