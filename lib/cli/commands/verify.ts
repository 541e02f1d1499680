import type { KeySource, VerificationKey } from '../../service-token/index.js';
import {
  type CliCommand,
  type CliIo,
  list,
  print,
  readTextFile,
  readTokenInput,
  Refusal,
  required,
  shown,
  str,
  UsageError,
} from '../cli-support.js';
import { decodeJwt, tokenKind } from './inspect.js';

/** Keys from a JWKS file: each imported as the module imports a fetched JWKS; refused keys are named on stderr. */
async function fileKeySource(
  file: string,
  issuer: string,
  io: CliIo,
): Promise<KeySource> {
  const { importVerificationJwk } =
    await import('../../service-token/verifying/verification-jwk.js');
  let doc: unknown;
  try {
    doc = JSON.parse(readTextFile(file, '--jwks'));
  } catch (e) {
    if (e instanceof Refusal) throw e;
    throw new Refusal(
      `--jwks: ${file} is not JSON`,
      'ERR_JWT_ISSUER_JWKS_UNAVAILABLE',
    );
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) {
    throw new Refusal(
      `--jwks: ${file} is not a JWKS ({"keys": [...]})`,
      'ERR_JWT_ISSUER_JWKS_UNAVAILABLE',
    );
  }
  const byKid = new Map<string, VerificationKey>();
  for (const jwk of keys) {
    try {
      const key = importVerificationJwk(jwk);
      byKid.set(key.kid, key);
    } catch (e) {
      io.err(`warning: ${(e as Error).message}\n`);
    }
  }
  return { issuer, get: (kid) => byKid.get(kid) };
}

/** `verify`: the module's own verifier, with its limits, against a JWKS URL or file. */
export const verify: CliCommand = {
  words: ['verify'],
  summary:
    "verifies a token with the module's own verifier and limits (signature, exp/nbf/iat, iss, aud): exit 0 with the claims, or 1 with the error code",
  usage:
    'verify [TOKEN | -] --jwks URL|FILE [--iss ISS] [--aud AUD]... [--service] [--clock-tolerance S] [--timeout S]',
  optionHelp: [
    ['TOKEN', 'the token; - or no argument reads it from standard input'],
    [
      '--jwks URL|FILE',
      "the issuer's JWKS: an http(s) URL (fetched as the guard fetches it) or a file",
    ],
    [
      '--iss ISS',
      "the expected issuer (default: the token's own iss, i.e. any issuer whose keys these are)",
    ],
    [
      '--aud AUD',
      'an accepted audience (repeatable; default: no audience check)',
    ],
    [
      '--service',
      'also require source: "microservice", as ServiceTokenGuard does',
    ],
    ['--clock-tolerance S', 'leeway for exp/nbf/iat in seconds (default 5)'],
    [
      '--timeout S',
      'deadline of the JWKS request in seconds (default 5, as service.jwksTimeout)',
    ],
  ],
  examples: [
    'nest-jwt-issuer verify "$TOKEN" --jwks http://127.0.0.1:3000/.well-known/jwks.json --service',
    'nest-jwt-issuer verify - --jwks orders-jwks.json --iss https://orders.internal --aud billing < token.txt',
  ],
  options: {
    jwks: { type: 'string' },
    iss: { type: 'string' },
    aud: { type: 'string', multiple: true },
    service: { type: 'boolean' },
    'clock-tolerance': { type: 'string' },
    timeout: { type: 'string' },
  },
  positionals: 1,
  async run(values, positionals, io) {
    const jwks = required(values, 'jwks');
    const number = (name: string, fallback: number, min: number): number => {
      const v = str(values, name);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n) || n < min || n > 3600) {
        throw new UsageError(
          `--${name} must be a number of seconds from ${min} to 3600`,
        );
      }
      return n;
    };
    const tolerance = number('clock-tolerance', 5, 0);
    const timeout = number('timeout', 5, 0.001);
    const token = await readTokenInput(positionals, io);
    // The issuer selects the key source; without --iss, the token's own (the keys still decide).
    let issuer = str(values, 'iss');
    if (issuer === undefined) {
      const { claims } = decodeJwt(token);
      if (typeof claims.iss !== 'string' || claims.iss === '') {
        throw new Refusal(
          'the token has no iss claim',
          'ERR_JWT_ISSUER_TOKEN_CLAIM_INVALID',
        );
      }
      issuer = claims.iss;
    }
    let source: KeySource;
    if (/^https?:\/\//i.test(jwks)) {
      if (!URL.canParse(jwks))
        throw new UsageError('--jwks is not a valid URL');
      // RemoteJwksKeySource logs through Nest's Logger: its lines go to stderr.
      const { nestLoggerToStderr } = await import('../nest-logger.js');
      await nestLoggerToStderr(io);
      const { RemoteJwksKeySource } =
        await import('../../service-token/verifying/remote-jwks.js');
      source = new RemoteJwksKeySource({
        issuer,
        jwksUri: jwks,
        timeoutMs: timeout * 1000,
        retryMinMs: 0,
      });
    } else {
      source = await fileKeySource(jwks, issuer, io);
    }
    const { JwtVerifier } =
      await import('../../service-token/verifying/jwt-verifier.js');
    const audience = list(values, 'aud');
    const verifier = new JwtVerifier({
      sources: [source],
      audience: audience.length > 0 ? audience : undefined,
      requiredClaims:
        values.service === true ? { source: 'microservice' } : undefined,
      clockTolerance: tolerance,
      cacheSize: 0,
    });
    const claims = await verifier.verify(token);
    const { header } = decodeJwt(token);
    const kind = tokenKind(header, claims);
    print(
      io,
      values.json === true,
      { valid: true, kind, header, claims },
      () => `${JSON.stringify(claims, null, 2)}\n`,
    );
    io.err(
      `Valid ${kind}: signed by a key of ${shown(issuer)} (kid ${shown(String(header.kid))})${audience.length > 0 ? ', audience accepted' : ''}, not expired.\n`,
    );
    return 0;
  },
};
