import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import {
  JWT_ISSUER_ENV_VARS,
  JwtIssuerModule,
  type JwtIssuerModuleOptions,
} from '../../lib/index.js';
import { readJwtIssuerEnv } from '../../lib/jwt-issuer.capabilities.js';

describe('JwtIssuerModule', () => {
  it('boots with no configuration at all, every capability off', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true })],
    }).compile();
    await moduleRef.init();
    await moduleRef.close();
  });

  it('refuses unknown top-level options and non-object sections, listing every problem', async () => {
    const options = {
      ignoreEnvVars: true,
      nast: {},
      seald: 'x',
    } as unknown as JwtIssuerModuleOptions;
    const err = await Test.createTestingModule({
      imports: [JwtIssuerModule.forRoot(options)],
    })
      .compile()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'ERR_JWT_ISSUER_CONFIG_INVALID',
      name: 'JwtIssuerConfigError',
    });
    const problems = (err as { problems: { path: string }[] }).problems;
    expect(problems.map((p) => p.path).toSorted()).toEqual(['nast', 'seald']);
  });

  it('reads env vars into sections, keeping unparsable numbers as text for validation to report', () => {
    const numeric = JWT_ISSUER_ENV_VARS.find((v) => v.kind === 'number');
    if (!numeric) return;
    const [section, key] = numeric.path.split('.');
    const out = readJwtIssuerEnv({ [numeric.env]: 'soon' });
    expect((out[section] as Record<string, unknown>)[key]).toBe('soon');
    const ok = readJwtIssuerEnv({ [numeric.env]: '60' });
    expect((ok[section] as Record<string, unknown>)[key]).toBe(60);
  });

  it('each env var feeds a distinct option path', () => {
    const paths = JWT_ISSUER_ENV_VARS.map((v) => v.path);
    expect(new Set(paths).size).toBe(paths.length);
    for (const v of JWT_ISSUER_ENV_VARS)
      expect(v.env).toMatch(/^JWT_ISSUER_[A-Z0-9_]+$/);
  });
});
