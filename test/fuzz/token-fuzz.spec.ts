import { describe, expect, it } from 'vitest';
import { runTokenFuzz } from '../../bench/token-fuzzer.js';

// FUZZ_SEED and FUZZ_ITERATIONS replay or lengthen a run; `npm run fuzz -- <iterations> [seed]` is the long run.
const seed = Number(process.env.FUZZ_SEED ?? 20261123);
const iterations = Number(process.env.FUZZ_ITERATIONS ?? 30_000);

describe('JwtVerifier under a seeded mutation fuzzer', () => {
  it(`accepts nothing but the signed bytes and throws nothing but JwtIssuerError (${iterations.toLocaleString('en-US')} mutations, seed ${seed})`, () => {
    const report = runTokenFuzz({ seed, iterations });
    // The run reached every layer: the string checks, the JSON, the signature and the claims.
    expect(report.refused).toMatchObject({
      ERR_JWT_ISSUER_TOKEN_MALFORMED: expect.any(Number),
      ERR_JWT_ISSUER_TOKEN_SIGNATURE_INVALID: expect.any(Number),
      ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID: expect.any(Number),
      ERR_JWT_ISSUER_TOKEN_HEADER_REFUSED: expect.any(Number),
    });
    expect(report.accepted).toBeGreaterThan(0);
    expect(report.signed).toBeGreaterThan(iterations / 20);
  }, 120_000);

  it('is reproducible: the same seed replays the same mutations', () => {
    // Keys (and ES256 signatures) are fresh each run; the mutations, their order and places are the seed's.
    const a = runTokenFuzz({ seed: 7, iterations: 2_000 });
    const b = runTokenFuzz({ seed: 7, iterations: 2_000 });
    expect(b.kinds).toEqual(a.kinds);
    expect(runTokenFuzz({ seed: 8, iterations: 2_000 }).kinds).not.toEqual(
      a.kinds,
    );
  });
});
