import { describe, expect, it } from 'vitest';
import { runOAuth2ParserFuzz } from '../../bench/oauth2-fuzzer.js';

const seed = Number(process.env.FUZZ_SEED ?? 20261201);
const iterations = Number(process.env.FUZZ_ITERATIONS ?? 30_000);

describe('the discovery document and token response parsers under a seeded mutation fuzzer', () => {
  it(`accept only safe documents and throw nothing but FetchProblem (${iterations.toLocaleString('en-US')} mutations of each, seed ${seed})`, () => {
    const report = runOAuth2ParserFuzz({ seed, iterations });
    // Both parsers accepted some mutations and reached each of their checks.
    expect(report.accepted.discovery).toBeGreaterThan(0);
    expect(report.accepted.token).toBeGreaterThan(0);
    const reasons = Object.keys(report.refused).join('\n');
    for (const check of [
      'discovery: the discovery document is not a JSON object',
      "discovery: the discovery document is for issuer '…', not this one",
      'discovery: the discovery document has no issuer',
      'discovery: the discovery document has no jwks_uri',
      "discovery: the discovery document's token_endpoint is not an https URL",
      'token: the token response is not a JSON object',
      'token: the token response has no access_token',
      'token: the access_token is not visible ASCII',
      "token: token_type '…' is not Bearer",
      'token: expires_in is not a positive number',
    ]) {
      expect(reasons).toContain(check);
    }
    expect(report.notJson).toBeGreaterThan(0);
  }, 120_000);

  it('is reproducible: the same seed gives the same outcome', () => {
    const a = runOAuth2ParserFuzz({ seed: 3, iterations: 2_000 });
    const b = runOAuth2ParserFuzz({ seed: 3, iterations: 2_000 });
    expect(b.refused).toEqual(a.refused);
    expect(b.accepted).toEqual(a.accepted);
  });
});
