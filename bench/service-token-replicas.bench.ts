import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  ServiceTokenService,
  type ServiceTokenOptions,
  ServiceTokenVerifier,
} from '../lib/index.js';
import { ConfigProblems } from '../lib/config/config-problems.js';
import { normalizeServiceTokenOptions } from '../lib/service-token/service-token.options.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { compare } from './harness.js';

async function service(options: ServiceTokenOptions) {
  const problems = new ConfigProblems();
  const resolved = await normalizeServiceTokenOptions(options, problems, {
    production: true,
    logger: new Logger('bench'),
  });
  problems.throwIfAny();
  const s = new ServiceTokenService(resolved!.signing!);
  await s.onModuleInit();
  const verifier = new ServiceTokenVerifier({
    localKeys: [s.keyRing],
    verifiedCacheSize: 0,
  });
  return { s, verifier };
}

/**
 * The hot paths with and without a shared Redis key store, in the same run: getToken(), createJwt() with the
 * current dynamic key, and verifying an own token. None of them may touch Redis (a local ring kept current by a
 * background loop), so the ratios should be about 1.
 */
export default async function main(): Promise<void> {
  const redis = await startRedisServer();
  try {
    const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const base: ServiceTokenOptions = {
      name: 'orders',
      issuer: 'https://orders.internal',
      privateKey,
      rotationInterval: 3600,
    };
    const memory = await service(base);
    const shared = await service({ ...base, keyStore: redis.url });
    const dynamic = { useStaticSigningKey: false };
    await compare('Service token getToken(), memory vs Redis key store', [
      { name: 'keyStore memory', fn: () => memory.s.getToken() },
      { name: 'keyStore redis://', fn: () => shared.s.getToken() },
    ]);
    await compare(
      'Service token createJwt() with the dynamic key, RS256, memory vs Redis key store',
      [
        {
          name: 'keyStore memory',
          fn: () => memory.s.createJwt({ source: 'microservice' }, dynamic),
        },
        {
          name: 'keyStore redis://',
          fn: () => shared.s.createJwt({ source: 'microservice' }, dynamic),
        },
      ],
    );
    const mt = await memory.s.getToken();
    const st = await shared.s.getToken();
    await compare(
      'Service token verify (own keys, no cache), RS256, memory vs Redis key store',
      [
        { name: 'keyStore memory', fn: () => memory.verifier.verify(mt) },
        { name: 'keyStore redis://', fn: () => shared.verifier.verify(st) },
      ],
    );
    memory.s.onModuleDestroy();
    shared.s.onModuleDestroy();
  } finally {
    await redis.stop();
  }
}
