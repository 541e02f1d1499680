import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type CliIo,
  Refusal,
  readTokenInput,
} from '../../lib/cli/cli-support.js';
import { decodeJwt, tokenKind } from '../../lib/cli/commands/inspect.js';
import {
  createNatsDevelopmentAccount,
  issueUserJwt,
  SealdJwtService,
  VonageJwtService,
} from '../../lib/index.js';
import { loadSecretKey } from '../../lib/common/keys.js';
import { JwsSigner } from '../../lib/common/jws-signer.js';
import { seededRandom } from '../../bench/token-fuzzer.js';

// The CLI's own parsers (the token input: argument, .creds, JSON answer; the unverified decoder of `inspect`) under
// a seeded mutation fuzzer: every input ends in a result or a Refusal (exit 1 with a message), never in another
// error, and the kind of an intact token is always right.
const seed = Number(process.env.FUZZ_SEED ?? 20261201);
const iterations = Number(process.env.FUZZ_ITERATIONS ?? 20_000);

function samples(): { text: string; kind: string }[] {
  const dev = createNatsDevelopmentAccount();
  const userKey = 'UASUIE7J46RAAZLJTKXA3QKVSEJI7ST6LA3TCDZ64J6S2I5LMRFDDIPD';
  const natsUser = issueUserJwt({
    signingKey: dev.moduleOptions.signingKey,
    accountId: dev.moduleOptions.accountId,
    publicUserKey: userKey,
    name: 'alice',
  });
  const seald = new SealdJwtService({
    secretId: 'sid',
    key: loadSecretKey(randomBytes(32).toString('base64url')),
    permissions: [-1],
    appId: 'app',
  }).createSignupToken({ userId: 'alice' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const vonage = new VonageJwtService({
    applicationId: 'app-1',
    key: rsa,
    defaultTtl: 900,
  }).createToken({ sub: 'jamie' });
  const service = new JwsSigner({
    algorithm: 'RS256',
    key: rsa,
    kid: 's-x',
  }).sign({
    source: 'microservice',
    iss: 'https://orders.internal',
    sub: 'orders',
    iat: 1,
    exp: 2,
  });
  return [
    { text: natsUser, kind: 'NATS user JWT' },
    { text: dev.account.jwt, kind: 'NATS account JWT' },
    { text: dev.operator.jwt, kind: 'NATS operator JWT' },
    { text: seald, kind: 'Seald SDK token' },
    { text: vonage, kind: 'Vonage Client SDK token' },
    { text: service, kind: 'service token' },
  ];
}

const ALPHABET =
  'AZaz09-_.={}":,\n \u0141\uff21\u0000-----BEGIN NATS USER JWT-----';

function mutate(text: string, r: () => number): string {
  const at = Math.floor(r() * (text.length + 1));
  const pick = () => ALPHABET[Math.floor(r() * ALPHABET.length)];
  switch (Math.floor(r() * 8)) {
    case 0:
      return text.slice(0, at) + pick() + text.slice(at + 1); // replace
    case 1:
      return text.slice(0, at) + text.slice(at + 1); // delete
    case 2:
      return text.slice(0, at) + pick() + text.slice(at); // insert
    case 3:
      return text.slice(0, at); // truncate
    case 4:
      return `${text}.${text.split('.')[Math.floor(r() * 3)] ?? ''}`; // extra segment
    case 5:
      return JSON.stringify({ token: text.slice(0, at) }); // a JSON answer
    case 6:
      return `-----BEGIN NATS USER JWT-----\n${text.slice(0, at)}\n------END NATS USER JWT------\n`; // a creds file
    default: {
      const [h, p, s] = text.split('.');
      const bytes = Buffer.from(p ?? '', 'base64url');
      if (bytes.length > 0)
        bytes[Math.floor(r() * bytes.length)] ^= 1 << Math.floor(r() * 8);
      return `${h}.${bytes.toString('base64url')}.${s ?? ''}`; // flip a bit of the payload
    }
  }
}

const io = (input: string): CliIo => ({
  out: () => undefined,
  err: () => undefined,
  stdin: () => Promise.resolve(input),
  stdinIsTty: false,
  env: {},
});

describe('the CLI token input and the inspect decoder under a seeded mutation fuzzer', () => {
  it(`decodes or refuses (${iterations.toLocaleString('en-US')} mutations, seed ${seed}); intact tokens get their kind`, async () => {
    const base = samples();
    for (const { text, kind } of base) {
      const { header, claims } = decodeJwt(
        await readTokenInput(['-'], io(text)),
      );
      expect(tokenKind(header, claims)).toBe(kind);
    }
    // mulberry32, the verifier fuzzer's generator: a failing run can be replayed with FUZZ_SEED.
    const r = seededRandom(seed);
    const outcome = { decoded: 0, refused: 0 };
    for (let i = 0; i < iterations; i++) {
      let text = base[Math.floor(r() * base.length)].text;
      for (let n = 1 + Math.floor(r() * 3); n > 0; n--) text = mutate(text, r);
      try {
        const token = await readTokenInput(['-'], io(text));
        const { header, claims } = decodeJwt(token);
        expect(typeof tokenKind(header, claims)).toBe('string');
        outcome.decoded++;
      } catch (e) {
        if (!(e instanceof Refusal))
          throw new Error(
            `not a Refusal for ${JSON.stringify(text)}: ${String(e)}`,
          );
        expect(e.message).toMatch(/^(not a JWT|no token)/);
        outcome.refused++;
      }
    }
    expect(outcome.decoded).toBeGreaterThan(iterations / 20);
    expect(outcome.refused).toBeGreaterThan(iterations / 20);
  }, 120_000);
});
