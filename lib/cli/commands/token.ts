import { randomUUID } from 'node:crypto';
import type { LoggerService } from '@nestjs/common';
import { loadPrivateKey } from '../../common/keys.js';
import { ConfigProblems } from '../../config/config-problems.js';
import type { NormalizeContext } from '../../config/normalize-context.interface.js';
import { formatUserCreds, issueUserJwt } from '../../nats/issue-user-jwt.js';
import { generateNkey } from '../../nats/nkey.js';
import {
  type CliCommand,
  type CliIo,
  list,
  print,
  readSecret,
  readTextFile,
  Refusal,
  required,
  seconds,
  str,
  UsageError,
  writeSecretFile,
} from '../cli-support.js';

/** A normalizer's context for the CLI: development (keys are given, nothing is generated), warnings to stderr. */
function cliContext(io: CliIo): NormalizeContext {
  const line = (m: unknown) => io.err(`warning ${String(m)}\n`);
  const logger: LoggerService = {
    log: () => undefined,
    warn: line,
    error: line,
  };
  return { production: false, logger };
}

/**
 * Runs a capability's own normalizer (the module's validation and key loading) on options built from the command
 * line; its problems are reported under the flag that fed each option.
 */
async function normalized<R>(
  normalize: (
    raw: unknown,
    problems: ConfigProblems,
    context: NormalizeContext,
  ) => R | undefined | Promise<R | undefined>,
  raw: Record<string, unknown>,
  flags: Readonly<Record<string, string>>,
  io: CliIo,
): Promise<R> {
  const problems = new ConfigProblems();
  const result = await normalize(raw, problems, cliContext(io));
  if (problems.list.length > 0 || result === undefined) {
    throw new Refusal(
      problems.list
        .map((p) => `${flags[p.path] ?? p.path}: ${p.message}`)
        .join('\n') || 'invalid options',
      'ERR_JWT_ISSUER_CONFIG_INVALID',
    );
  }
  return result;
}

/** `NAME=VALUE`: VALUE as JSON when it parses (numbers, booleans, arrays, objects, "quoted"), else as text. */
function claimPairs(
  pairs: string[],
  reserved: readonly string[],
): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const name = at < 0 ? '' : pair.slice(0, at);
    if (name === '' || !/^[\w:.-]+$/.test(name)) {
      throw new UsageError(
        `--claim must be NAME=VALUE (got a pair without a valid NAME)`,
      );
    }
    if (reserved.includes(name)) {
      throw new UsageError(
        `--claim ${name}=… is set by its own option or by the library, not by --claim`,
      );
    }
    const text = pair.slice(at + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // plain text
    }
    claims[name] = value;
  }
  return claims;
}

/** The service-token algorithm of a private key, for a key file given without `--alg`. */
function algorithmOf(keyText: string): string | undefined {
  try {
    const key = loadPrivateKey(keyText, '--key');
    switch (key.asymmetricKeyType) {
      case 'rsa':
        return 'RS256';
      case 'ec':
        return 'ES256';
      case 'ed25519':
        return 'EdDSA';
      default:
        return undefined;
    }
  } catch {
    return undefined; // the normalizer reports it, with the module's message
  }
}

const SERVICE_FLAGS = {
  'service.name': '--sub',
  'service.issuer': '--iss',
  'service.audience': '--aud',
  'service.algorithm': '--alg',
  'service.privateKey': '--key',
  'service.tokenValidity': '--ttl',
};

/** `token service`: a service token exactly as `ServiceTokenService` signs one, from a key file. */
export const tokenService: CliCommand = {
  words: ['token', 'service'],
  summary:
    'a service token exactly as ServiceTokenService signs it (same kid, source: "microservice"), for tests and manual calls',
  usage:
    'token service (--key FILE | --key-env VAR) --iss URL --sub NAME [--claim NAME=VALUE]... [--aud AUD]... [--ttl SECONDS] [--alg ALG]',
  optionHelp: [
    [
      '--key FILE',
      "the service's private key (PEM or JWK file), as JWT_ISSUER_SERVICE_PRIVATE_KEY",
    ],
    ['--key-env VAR', 'read the key from the environment variable VAR instead'],
    [
      '--iss URL',
      "the issuer: the service's base URL (JWT_ISSUER_SERVICE_ISSUER)",
    ],
    [
      '--sub NAME',
      "the subject (for the module's own token: the service name)",
    ],
    [
      '--claim NAME=VALUE',
      'an extra claim (repeatable); VALUE is JSON when it parses, else text',
    ],
    ['--aud AUD', 'an audience (repeatable)'],
    ['--ttl SECONDS', "lifetime (default 3600, the module's tokenValidity)"],
    ['--alg ALG', 'RS256, ES256 or EdDSA (default: from the key type)'],
  ],
  examples: [
    'nest-jwt-issuer token service --key sample/.dev/service-key.pem --iss http://127.0.0.1:3000 --sub alice --claim team=blue',
    'TOKEN=$(nest-jwt-issuer token service --key-env JWT_ISSUER_SERVICE_PRIVATE_KEY --iss https://orders.internal --sub orders --aud billing --ttl 300)',
    'curl -H "authorization: Bearer $TOKEN" https://billing.internal/internal/invoices',
  ],
  options: {
    key: { type: 'string' },
    'key-env': { type: 'string' },
    iss: { type: 'string' },
    sub: { type: 'string' },
    claim: { type: 'string', multiple: true },
    aud: { type: 'string', multiple: true },
    ttl: { type: 'string' },
    alg: { type: 'string' },
  },
  async run(values, _positionals, io) {
    const iss = required(values, 'iss');
    const sub = required(values, 'sub');
    const ttl = seconds(values, 'ttl');
    const audience = list(values, 'aud');
    const claims = claimPairs(list(values, 'claim'), [
      'iss',
      'sub',
      'aud',
      'iat',
      'exp',
      'jti',
      'source',
    ]);
    const keyText = readSecret(values, 'key', io)!;
    const { normalizeServiceTokenOptions } =
      await import('../../service-token/service-token.options.js');
    const section = await normalized(
      normalizeServiceTokenOptions,
      {
        name: sub,
        issuer: iss,
        privateKey: keyText,
        algorithm: str(values, 'alg') ?? algorithmOf(keyText) ?? 'RS256',
        ...(audience.length > 0 ? { audience } : {}),
        ...(ttl === undefined ? {} : { tokenValidity: ttl }),
      },
      SERVICE_FLAGS,
      io,
    );
    const signing = section.signing!;
    // ServiceTokenService logs through Nest's Logger: loaded here only, its lines sent to stderr.
    const { nestLoggerToStderr } = await import('../nest-logger.js');
    await nestLoggerToStderr(io);
    const { ServiceTokenService } =
      await import('../../service-token/issuing/service-token.service.js');
    const service = new ServiceTokenService(signing);
    const token = await service.createJwt(
      {
        source: 'microservice',
        sub,
        ...(signing.audience
          ? {
              aud:
                signing.audience.length === 1
                  ? signing.audience[0]
                  : [...signing.audience],
            }
          : {}),
        jti: randomUUID(),
        ...claims,
      },
      { validitySeconds: signing.tokenValidity },
    );
    service.onModuleDestroy();
    print(
      io,
      values.json === true,
      {
        token,
        kid: service.getJwks().keys[0].kid,
        algorithm: signing.algorithm,
      },
      () => `${token}\n`,
    );
    return 0;
  },
};

/** `token nats`: a NATS user JWT for a user key, or a fresh user as a `.creds` file. */
export const tokenNats: CliCommand = {
  words: ['token', 'nats'],
  summary:
    'a NATS user JWT (ADR-14) for a given user key, or a fresh user as a .creds file; same refusals as the library',
  usage:
    'token nats (--signing-key FILE | --signing-key-env VAR) --account A... [--account-jwt FILE] [--user U... | --creds [--out FILE] [--force]] [--name N] [--tag K:V]... [--ttl S]',
  optionHelp: [
    [
      '--signing-key FILE',
      "the account's (scoped) signing key seed SA... (a file), as JWT_ISSUER_NATS_SIGNING_KEY",
    ],
    [
      '--signing-key-env VAR',
      'read the seed from the environment variable VAR instead',
    ],
    ['--account A...', 'the public account key (JWT_ISSUER_NATS_ACCOUNT_ID)'],
    [
      '--account-jwt FILE',
      'the account JWT: checked, and tells whether the key is scoped',
    ],
    ['--user U...', 'the public user key: prints the user JWT'],
    [
      '--creds',
      'without --user: a fresh user nkey, written with its JWT as a .creds file',
    ],
    ['--out FILE', 'the .creds file (default: user.creds; mode 0600)'],
    ['--force', 'replace the .creds file if it exists'],
    [
      '--name N',
      'the user name ({{name()}} in the template; default: the user key)',
    ],
    ['--tag K:V', 'a tag ({{tag(K)}} in the template; repeatable)'],
    ['--ttl S', 'lifetime in seconds (default 3600)'],
  ],
  examples: [
    'nest-jwt-issuer token nats --signing-key nats-dev/signing-key.nk --account AB... --name alice --tag team:blue --creds --out alice.creds',
    'nest-jwt-issuer token nats --signing-key-env JWT_ISSUER_NATS_SIGNING_KEY --account "$JWT_ISSUER_NATS_ACCOUNT_ID" --user UD... --name alice',
  ],
  options: {
    'signing-key': { type: 'string' },
    'signing-key-env': { type: 'string' },
    account: { type: 'string' },
    'account-jwt': { type: 'string' },
    user: { type: 'string' },
    creds: { type: 'boolean' },
    out: { type: 'string' },
    force: { type: 'boolean' },
    name: { type: 'string' },
    tag: { type: 'string', multiple: true },
    ttl: { type: 'string' },
  },
  async run(values, _positionals, io) {
    const accountId = required(values, 'account');
    const user = str(values, 'user');
    if (user !== undefined && values.creds === true) {
      throw new UsageError(
        '--creds makes a fresh user: leave out --user (its seed is not known here)',
      );
    }
    if (user === undefined && values.creds !== true) {
      throw new UsageError(
        'give --user U... (prints its JWT) or --creds (a fresh user as a .creds file)',
      );
    }
    if (
      values.creds !== true &&
      (str(values, 'out') !== undefined || values.force === true)
    ) {
      throw new UsageError('--out and --force go with --creds');
    }
    const expiresIn = seconds(values, 'ttl') ?? 3600;
    const accountJwtFile = str(values, 'account-jwt');
    const accountJwt =
      accountJwtFile === undefined
        ? undefined
        : readTextFile(accountJwtFile, '--account-jwt').trim();
    const signingKey = readSecret(values, 'signing-key', io)!.trim();
    const fresh = user === undefined ? generateNkey('user') : undefined;
    const jwt = issueUserJwt({
      signingKey,
      accountId,
      publicUserKey: user ?? fresh!.publicKey,
      name: str(values, 'name'),
      tags: list(values, 'tag'),
      expiresIn,
      accountJwt,
    });
    if (!fresh) {
      print(
        io,
        values.json === true,
        { jwt, publicKey: user },
        () => `${jwt}\n`,
      );
      return 0;
    }
    const out = str(values, 'out') ?? 'user.creds';
    writeSecretFile(
      out,
      formatUserCreds(jwt, fresh.seed),
      values.force === true,
    );
    io.err(
      `Wrote the user's JWT and seed to ${out} (mode 0600): nats --creds ${out} ...\n`,
    );
    print(
      io,
      values.json === true,
      { file: out, publicKey: fresh.publicKey, jwt },
      () => `${fresh.publicKey}\n`,
    );
    return 0;
  },
};

const SEALD_FLAGS = {
  'seald.secretId': '--secret-id',
  'seald.secret': '--secret',
  'seald.permissions': '--permissions',
  'seald.appId': '--app-id',
};

/** `token seald`: the Seald SDK's tokens (sign-up, anonymous encryption, or any claims), from the JWTSecret. */
export const tokenSeald: CliCommand = {
  words: ['token', 'seald'],
  summary:
    'a Seald SDK token (HS256 with the JWTSecret) as SealdJwtService signs it: sign-up, anonymous encryption, or chosen claims',
  usage:
    'token seald --secret-id ID (--secret FILE | --secret-env VAR) [--app-id APP] [--permissions N,...] (--signup [--user-id U] | --anonymous --recipient ID... [--owner ID] | [--scope N]... [--recipient ID]... [--owner ID] [--join-team] [--connector U@APP]) [--reusable]',
  optionHelp: [
    ['--secret-id ID', 'the JWTSecretId (JWT_ISSUER_SEALD_SECRET_ID)'],
    ['--secret FILE', 'a file holding the JWTSecret (JWT_ISSUER_SEALD_SECRET)'],
    [
      '--secret-env VAR',
      'read the JWTSecret from the environment variable VAR instead',
    ],
    ['--app-id APP', 'the Seald application id (for --user-id and connectors)'],
    ['--permissions N,...', "the secret's permissions (default -1: all)"],
    [
      '--signup',
      'a sign-up token (join_team, and connector_add with --user-id)',
    ],
    ['--user-id U', 'with --signup: the connector U@APP'],
    [
      '--anonymous',
      'an anonymous-encryption token for --recipient (and --owner)',
    ],
    [
      '--scope N',
      'a scope (permission integer; repeatable), for chosen claims',
    ],
    ['--recipient ID', 'a recipient sealdId (repeatable)'],
    ['--owner ID', 'the owner sealdId'],
    ['--join-team', 'the join_team claim'],
    ['--connector U@APP', 'the connector_add claim'],
    ['--reusable', 'no jti (the token may be used more than once)'],
  ],
  examples: [
    'nest-jwt-issuer token seald --secret-id "$SEALD_SECRET_ID" --secret-env SEALD_SECRET --app-id my-app --signup --user-id alice',
    'nest-jwt-issuer token seald --secret-id 00000000-... --secret seald-secret.txt --anonymous --recipient SEALD_ID',
  ],
  options: {
    'secret-id': { type: 'string' },
    secret: { type: 'string' },
    'secret-env': { type: 'string' },
    'app-id': { type: 'string' },
    permissions: { type: 'string' },
    signup: { type: 'boolean' },
    'user-id': { type: 'string' },
    anonymous: { type: 'boolean' },
    scope: { type: 'string', multiple: true },
    recipient: { type: 'string', multiple: true },
    owner: { type: 'string' },
    'join-team': { type: 'boolean' },
    connector: { type: 'string' },
    reusable: { type: 'boolean' },
  },
  async run(values, _positionals, io) {
    const secretId = required(values, 'secret-id');
    if (values.signup === true && values.anonymous === true) {
      throw new UsageError(
        '--signup and --anonymous are two kinds of token: give one',
      );
    }
    const secret = readSecret(values, 'secret', io)!.trim();
    const permissions = str(values, 'permissions');
    const { normalizeSealdJwtOptions } =
      await import('../../seald/seald.options.js');
    const { SealdJwtService } =
      await import('../../seald/seald-jwt.service.js');
    const options = await normalized(
      normalizeSealdJwtOptions,
      {
        secretId,
        secret,
        ...(permissions === undefined
          ? {}
          : { permissions: permissions.split(',') }),
        ...(str(values, 'app-id') === undefined
          ? {}
          : { appId: str(values, 'app-id') }),
      },
      SEALD_FLAGS,
      io,
    );
    const seald = new SealdJwtService(options);
    const oneTime = values.reusable !== true;
    const recipients = list(values, 'recipient');
    const owner = str(values, 'owner');
    const scopes = list(values, 'scope').map((s) => {
      if (!/^-?\d+$/.test(s))
        throw new UsageError('--scope must be a permission integer');
      return Number(s);
    });
    let token: string;
    if (values.signup === true) {
      if (recipients.length > 0 || owner !== undefined || scopes.length > 0) {
        throw new UsageError('--signup takes --user-id only');
      }
      const userId = str(values, 'user-id');
      token = seald.createSignupToken({
        ...(userId === undefined ? {} : { userId }),
        oneTime,
      });
    } else if (values.anonymous === true) {
      token = seald.createAnonymousEncryptionToken({
        recipients,
        ...(owner === undefined ? {} : { owner }),
        ...(scopes.length > 0 ? { scopes } : {}),
        oneTime,
      });
    } else {
      if (str(values, 'user-id') !== undefined) {
        throw new UsageError('--user-id goes with --signup');
      }
      const connector = str(values, 'connector');
      token = seald.createToken({
        ...(scopes.length > 0 ? { scopes } : {}),
        ...(recipients.length > 0 ? { recipients } : {}),
        ...(owner === undefined ? {} : { owner }),
        ...(values['join-team'] === true ? { joinTeam: true } : {}),
        ...(connector === undefined ? {} : { connectorAdd: connector }),
        oneTime,
      });
    }
    print(io, values.json === true, { token }, () => `${token}\n`);
    return 0;
  },
};

const VONAGE_FLAGS = {
  'vonage.applicationId': '--application-id',
  'vonage.privateKey': '--key',
  'vonage.defaultTtl': '--ttl',
};

/** `token vonage`: a Vonage Client SDK token (RS256 with the application's key) as VonageJwtService signs it. */
export const tokenVonage: CliCommand = {
  words: ['token', 'vonage'],
  summary:
    "a Vonage Client SDK token (RS256 with the application's private key) as VonageJwtService signs it",
  usage:
    'token vonage --application-id ID (--key FILE | --key-env VAR) [--sub USER] [--acl all|PATH,...] [--ttl SECONDS] [--nbf EPOCH_SECONDS] [--jti ID]',
  optionHelp: [
    [
      '--application-id ID',
      'the Vonage application id (JWT_ISSUER_VONAGE_APPLICATION_ID)',
    ],
    [
      '--key FILE',
      "the application's private key (JWT_ISSUER_VONAGE_PRIVATE_KEY)",
    ],
    ['--key-env VAR', 'read the key from the environment variable VAR instead'],
    ['--sub USER', 'the user name (sub)'],
    [
      '--acl SELECTION',
      'all (default), none, or path names such as sessions,conversations (see vonageAcl)',
    ],
    ['--ttl SECONDS', 'lifetime, 1 to 86400 (default 900)'],
    ['--nbf EPOCH_SECONDS', 'not valid before'],
    ['--jti ID', 'the token id (default: a random UUID)'],
  ],
  examples: [
    'nest-jwt-issuer token vonage --application-id aaaaaaaa-bbbb-4ccc-8ddd-000000000000 --key private.key --sub jamie',
    'nest-jwt-issuer token vonage --application-id "$VONAGE_APP_ID" --key-env VONAGE_PRIVATE_KEY --sub jamie --acl sessions,conversations --ttl 3600',
  ],
  options: {
    'application-id': { type: 'string' },
    key: { type: 'string' },
    'key-env': { type: 'string' },
    sub: { type: 'string' },
    acl: { type: 'string' },
    ttl: { type: 'string' },
    nbf: { type: 'string' },
    jti: { type: 'string' },
  },
  async run(values, _positionals, io) {
    const applicationId = required(values, 'application-id');
    const ttl = seconds(values, 'ttl');
    const nbfText = str(values, 'nbf');
    if (nbfText !== undefined && !/^\d+$/.test(nbfText)) {
      throw new UsageError('--nbf must be whole seconds since the epoch');
    }
    const key = readSecret(values, 'key', io)!;
    const { normalizeVonageJwtOptions } =
      await import('../../vonage/vonage.options.js');
    const { VonageJwtService } =
      await import('../../vonage/vonage-jwt.service.js');
    const { vonageAcl, VONAGE_ACL_PATHS } =
      await import('../../vonage/vonage-acl.js');
    const options = await normalized(
      normalizeVonageJwtOptions,
      { applicationId, privateKey: key },
      VONAGE_FLAGS,
      io,
    );
    const selection = str(values, 'acl') ?? 'all';
    let acl;
    if (selection !== 'none') {
      const names =
        selection === 'all' ? 'all' : selection.split(',').map((s) => s.trim());
      if (names !== 'all') {
        const unknown = names.filter(
          (n) => !Object.hasOwn(VONAGE_ACL_PATHS, n),
        );
        if (unknown.length > 0) {
          throw new UsageError(
            `--acl: unknown path name${unknown.length > 1 ? 's' : ''} (known: all, none, ${Object.keys(VONAGE_ACL_PATHS).join(', ')})`,
          );
        }
      }
      acl = vonageAcl(names as Parameters<typeof vonageAcl>[0]);
    }
    const vonage = new VonageJwtService(options);
    const sub = str(values, 'sub');
    const jti = str(values, 'jti');
    const token = vonage.createToken({
      ...(sub === undefined ? {} : { sub }),
      ...(acl === undefined ? {} : { acl }),
      ...(ttl === undefined ? {} : { ttl }),
      ...(nbfText === undefined ? {} : { nbf: Number(nbfText) }),
      ...(jti === undefined ? {} : { jti }),
    });
    print(io, values.json === true, { token }, () => `${token}\n`);
    return 0;
  },
};
