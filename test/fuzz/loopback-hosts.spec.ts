import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../bench/token-fuzzer.js';
import { parseDiscoveryDocument } from '../../lib/service-token/http/oidc-discovery.js';
import { isFetchableUrl } from '../../lib/service-token/http/urls.js';
import {
  readJwtIssuerEnv,
  resolveJwtIssuerOptions,
} from '../../lib/jwt-issuer.capabilities.js';
import type { JwtIssuerConfigError } from '../../lib/index.js';
import { LogCollector } from '../support/service-token-apps.js';

const seed = Number(process.env.FUZZ_SEED ?? 20261207);
const iterations = Number(process.env.FUZZ_ITERATIONS ?? 10_000);

/** A host name or address for an http URL, and whether it is loopback by what it is (not by what it says). */
interface Host {
  host: string;
  loopback: boolean;
}

/**
 * Generates hosts from a seed. Loopback by construction: `localhost` (any case), 127.0.0.0/8 in the spellings the
 * URL parser reads (dotted, short, integer, octal, hex) and ::1 in its IPv6 spellings. Everything else is not:
 * names under `.localhost`, names that start with `localhost.` or `127.0.0.1.`, near-misses of 127/8 and ::1,
 * IPv4-mapped ::ffff:127.0.0.1.
 */
function hostGenerator(rnd: () => number): () => Host {
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)];
  const letters = [...'abcdefghijklmnopqrstuvwxyz'];
  const chars = [...letters, ...'0123456789-'];
  const label = () => {
    let s = pick(letters);
    for (let i = int(12); i > 0; i--) s += pick(chars);
    return s;
  };
  const randomCase = (s: string) =>
    [...s].map((c) => (rnd() < 0.5 ? c.toUpperCase() : c)).join('');
  /** One spelling of the IPv4 address a.b.c.d that WHATWG URL parses back to it. */
  const ipv4 = (a: number, b: number, c: number, d: number) => {
    const n = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    switch (int(6)) {
      case 0:
        return `${a}.${b}.${c}.${d}`;
      case 1:
        return String(n); // one number
      case 2:
        return `${a}.${(b << 16) | (c << 8) | d}`; // a.bcd
      case 3:
        return `0x${a.toString(16)}.${b}.${c}.0x${d.toString(16)}`;
      case 4:
        return `0${a.toString(8)}.${b}.${c}.${d}`; // octal first part
      default:
        return `${a}.${b}.${(c << 8) | d}`; // a.b.cd
    }
  };
  const byte = () => int(256);
  const one = [
    '::1',
    '0::1',
    '0:0:0:0:0:0:0:1',
    '0000:0000:0000:0000:0000:0000:0000:0001',
    '::0:1',
    '0:0::0:0:1',
    '::0000:1',
  ];
  const notOne = [
    '::',
    '::2',
    '1::1',
    '::1:0',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::127.0.0.1',
    '0:0:0:0:0:0:1:1',
  ];
  const kinds: (() => Host)[] = [
    () => ({ host: randomCase('localhost'), loopback: true }),
    () => ({ host: ipv4(127, byte(), byte(), byte()), loopback: true }),
    () => ({ host: `[${pick(one)}]`, loopback: true }),
    () => ({
      host: randomCase(
        `${Array.from({ length: 1 + int(3) }, label).join('.')}.localhost`,
      ),
      loopback: false,
    }),
    () => ({ host: `localhost.${label()}`, loopback: false }),
    () => ({ host: `${label()}localhost`, loopback: false }),
    () => ({ host: `127.0.0.1.${label()}`, loopback: false }),
    () => ({
      host: ipv4(pick([0, 10, 126, 128, 192, 255]), byte(), byte(), byte()),
      loopback: false,
    }),
    () => ({ host: `[${pick(notOne)}]`, loopback: false }),
    () => ({ host: label(), loopback: false }),
  ];
  return () => pick(kinds)();
}

const logger = new LogCollector();
/** The problems of a configuration in production (where plain http off loopback is an error), or '' when it starts. */
async function startUpProblems(options: object): Promise<string> {
  try {
    await resolveJwtIssuerOptions({ service: options }, readJwtIssuerEnv({}), {
      production: true,
      logger,
    });
    return '';
  } catch (e) {
    return (e as JwtIssuerConfigError).message;
  }
}

describe('loopback is what the address is, never what a name says (a seeded generator of hosts)', () => {
  it(`every check agrees with the address: JWKS URLs, discovery issuers, discovered endpoints, OAuth 2.0 endpoints (${iterations.toLocaleString('en-US')} hosts, seed ${seed})`, async () => {
    const next = hostGenerator(seededRandom(seed));
    const seen = { loopback: 0, other: 0 };
    for (let i = 0; i < iterations; i++) {
      const { host, loopback } = next();
      const url = `http://${host}:8080/keys`;
      expect(URL.canParse(url), url).toBe(true);
      seen[loopback ? 'loopback' : 'other']++;
      const what = `${url} (loopback: ${loopback})`;
      // Fetching: a discovered jwks_uri or token_endpoint, and the URL check itself.
      expect(isFetchableUrl(url), what).toBe(loopback);
      expect(isFetchableUrl(url, true), what).toBe(true);
      expect(isFetchableUrl(url.replace('http:', 'https:')), what).toBe(true);
      const discovered = () =>
        parseDiscoveryDocument(
          { issuer: 'https://idp.test', jwks_uri: url, token_endpoint: url },
          'https://idp.test',
          i % 2 === 0 ? 'jwks_uri' : 'token_endpoint',
        );
      if (loopback) expect(discovered(), what).toBe(url);
      else expect(discovered, what).toThrow(/not an https URL/);
      // Start-up, in production: the rules that say "plain http only to loopback" (a sample: each start costs more).
      if (i % 10 !== 0) continue;
      const jwks = await startUpProblems({
        trustedIssuers: [{ issuer: 'https://billing.test', jwksUri: url }],
      });
      const discovery = await startUpProblems({
        trustedIssuers: [{ issuer: url }],
      });
      const oauth2 = await startUpProblems({
        oauth2: { tokenEndpoint: url, clientId: 'c', clientSecret: 's' },
      });
      for (const problems of [jwks, discovery, oauth2]) {
        if (loopback) expect(problems, what).toBe('');
        else expect(problems, what).toMatch(/is plain http to /);
      }
    }
    // The generator reached both kinds in numbers.
    expect(seen.loopback).toBeGreaterThan(iterations / 5);
    expect(seen.other).toBeGreaterThan(iterations / 2);
  }, 60_000);
});
