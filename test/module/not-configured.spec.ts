import { types } from 'node:util';
import { MetadataScanner } from '@nestjs/core';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JwtIssuerError,
  JwtIssuerErrorCode,
  JwtIssuerModule,
  NatsCalloutResponder,
  NatsUserJwtService,
  SealdJwtService,
  ServiceTokenService,
  ServiceTokenVerifier,
  VonageJwtService,
} from '../../lib/index.js';

/** Each service of a capability that is off, with the public fields that must throw as its methods do. */
const SERVICES = [
  {
    type: NatsUserJwtService,
    section: "the 'nats' section is not configured",
    fields: ['accountId', 'signingPublicKey', 'signingKeyScope', 'scopeRole'],
  },
  {
    type: NatsCalloutResponder,
    section: 'the auth callout is not configured',
    fields: ['options'],
  },
  {
    type: ServiceTokenService,
    section: "the 'service' section is not configured",
    fields: ['keyRing', 'lastRotationError'],
  },
  {
    type: ServiceTokenVerifier,
    section: "the 'service' section is not configured",
    fields: ['remoteSources', 'cachedTokens'],
  },
  {
    type: SealdJwtService,
    section: "the 'seald' section is not configured",
    fields: [],
  },
  {
    type: VonageJwtService,
    section: "the 'vonage' section is not configured",
    fields: [],
  },
] as const;

function refusal(action: () => unknown): JwtIssuerError {
  try {
    action();
  } catch (e) {
    return e as JwtIssuerError;
  }
  throw new Error('did not throw');
}

describe('a capability that is off: its services are real instances that throw NOT_CONFIGURED', () => {
  let moduleRef: TestingModule;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true })],
    }).compile();
    await moduleRef.init();
  });

  afterAll(async () => {
    await moduleRef.close();
  });

  it.each(SERVICES)(
    '$type.name: an instance of its class (no Proxy); each method and public field throws, naming itself and what to set',
    ({ type, section, fields }) => {
      const service = moduleRef.get<object>(type);
      expect(types.isProxy(service)).toBe(false);
      expect(service).toBeInstanceOf(type);
      expect(service.constructor).toBe(type);
      const methods = new MetadataScanner()
        .getAllMethodNames(Object.getPrototypeOf(service) as object)
        .filter((m) => !/^(on|before)[A-Z]/.test(m));
      expect(methods.length).toBeGreaterThan(0);
      const record = service as Record<string, unknown>;
      for (const method of methods) {
        // Read without throwing (explorers read every method of every provider); throws when called.
        const fn = record[method] as (...args: unknown[]) => unknown;
        expect(typeof fn, method).toBe('function');
        const e = refusal(() => fn.call(service));
        expect(e, method).toBeInstanceOf(JwtIssuerError);
        expect(e.code).toBe(JwtIssuerErrorCode.NOT_CONFIGURED);
        expect(e.message.startsWith(`${type.name}.${method}: ${section}`)).toBe(
          true,
        );
      }
      for (const field of fields) {
        const e = refusal(() => record[field]);
        expect(e.code, field).toBe(JwtIssuerErrorCode.NOT_CONFIGURED);
        expect(e.message.startsWith(`${type.name}.${field}: ${section}`)).toBe(
          true,
        );
      }
    },
  );

  it.each(SERVICES)(
    '$type.name: what Nest, promises and serializers probe is absent, so none of it throws',
    ({ type }) => {
      const service = moduleRef.get<object>(type) as Record<string, unknown>;
      for (const probed of [
        'then',
        'toJSON',
        'onModuleInit',
        'onApplicationBootstrap',
        'onModuleDestroy',
        'beforeApplicationShutdown',
        'onApplicationShutdown',
      ]) {
        expect(service[probed], probed).toBeUndefined();
      }
      expect(JSON.stringify(service)).toBe('{}');
    },
  );
});
