import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createNatsDevelopmentAccount } from '../../nats/nats-development.js';
import type { ServiceTokenAlgorithm } from '../../service-token/index.js';
// The files, not the capability's index: the index loads Nest, which the CLI loads only for the commands that
// need it (startup time).
import {
  makeRingKey,
  thumbprint,
} from '../../service-token/issuing/service-token-key-ring.js';
import { generateServiceKey } from '../../service-token/service-token.options.js';
import {
  type CliCommand,
  print,
  Refusal,
  str,
  UsageError,
  writeNewFile,
  writeSecretFile,
} from '../cli-support.js';

const ALGORITHMS: readonly ServiceTokenAlgorithm[] = [
  'RS256',
  'ES256',
  'EdDSA',
];

/** `keys service`: a new service private key (file, 0600) and its public JWKS, with the `kid` the module gives it. */
export const keysService: CliCommand = {
  words: ['keys', 'service'],
  summary:
    'a new private key for service tokens (PEM file, mode 0600) and its public JWKS on stdout',
  usage: 'keys service [--alg RS256|ES256|EdDSA] [--out FILE] [--force]',
  optionHelp: [
    ['--alg ALG', "RS256 (default, the module's default), ES256 or EdDSA"],
    ['--out FILE', 'where to write the private key (default: service-key.pem)'],
    ['--force', 'replace FILE if it exists'],
  ],
  examples: [
    'nest-jwt-issuer keys service --alg ES256 --out orders-key.pem > orders-jwks.json',
    'JWT_ISSUER_SERVICE_PRIVATE_KEY=orders-key.pem JWT_ISSUER_SERVICE_ALGORITHM=ES256 node dist/main.js',
  ],
  options: {
    alg: { type: 'string' },
    out: { type: 'string' },
    force: { type: 'boolean' },
  },
  async run(values, _positionals, io) {
    const alg = (str(values, 'alg') ?? 'RS256') as ServiceTokenAlgorithm;
    if (!ALGORITHMS.includes(alg)) {
      throw new UsageError(`--alg must be one of ${ALGORITHMS.join(', ')}`);
    }
    const out = str(values, 'out') ?? 'service-key.pem';
    const privateKey = await generateServiceKey(alg);
    // The kid and JWK the module publishes for this key as its static key.
    const { jwk } = makeRingKey(
      'static',
      `s-${thumbprint(privateKey)}`,
      privateKey,
      alg,
    );
    writeSecretFile(
      out,
      privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
      values.force === true,
    );
    io.err(
      `Wrote the ${alg} private key to ${out} (mode 0600). Use it with JWT_ISSUER_SERVICE_PRIVATE_KEY=${out}` +
        `${alg === 'RS256' ? '' : ` JWT_ISSUER_SERVICE_ALGORITHM=${alg}`}; its kid is ${jwk.kid}.\n`,
    );
    const jwks = { keys: [jwk] };
    print(
      io,
      values.json === true,
      { file: out, algorithm: alg, kid: jwk.kid, jwks },
      () => `${JSON.stringify(jwks, null, 2)}\n`,
    );
    return 0;
  },
};

/** `keys nats`: a development operator, account and scoped signing key, and everything to run a nats-server. */
export const keysNats: CliCommand = {
  words: ['keys', 'nats'],
  summary:
    'a DEVELOPMENT operator, account and scoped signing key, the account JWT, a nats-server.conf and the JWT_ISSUER_NATS_* lines',
  usage: 'keys nats [--dir DIR] [--port PORT] [--force]',
  optionHelp: [
    [
      '--dir DIR',
      'folder to write the files to (default: nats-dev; created if needed)',
    ],
    [
      '--port PORT',
      'client port in nats-server.conf (default: 4222; --port=-1 picks a free one)',
    ],
    ['--force', 'replace the files if they exist'],
  ],
  examples: [
    'nest-jwt-issuer keys nats --dir nats-dev',
    'nats-server -c nats-dev/nats-server.conf',
    'set -a; . nats-dev/jwt-issuer.env; set +a   # the JWT_ISSUER_NATS_* variables for the module',
  ],
  options: {
    dir: { type: 'string' },
    port: { type: 'string' },
    force: { type: 'boolean' },
  },
  async run(values, _positionals, io) {
    const dir = str(values, 'dir') ?? 'nats-dev';
    const portText = str(values, 'port') ?? '4222';
    if (!/^(-1|\d{1,5})$/.test(portText) || Number(portText) > 65535) {
      throw new UsageError(
        '--port must be a port number (or -1 for a free one)',
      );
    }
    const force = values.force === true;
    const dev = createNatsDevelopmentAccount();
    const files = {
      operatorSeed: join(dir, 'operator.nk'),
      accountSeed: join(dir, 'account.nk'),
      signingKeySeed: join(dir, 'signing-key.nk'),
      operatorJwt: join(dir, 'operator.jwt'),
      accountJwt: join(dir, 'account.jwt'),
      serverConfig: join(dir, 'nats-server.conf'),
      envFile: join(dir, 'jwt-issuer.env'),
    };
    if (!force) {
      const present = Object.values(files).filter((f) => existsSync(f));
      if (present.length > 0) {
        throw new Refusal(
          `${present.join(', ')} exist${present.length === 1 ? 's' : ''}; nothing written (use --force to replace them)`,
        );
      }
    }
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new Refusal(
        `${dir} cannot be created (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    const m = dev.moduleOptions;
    writeSecretFile(files.operatorSeed, `${dev.operator.seed}\n`, force);
    writeSecretFile(files.accountSeed, `${dev.account.seed}\n`, force);
    writeSecretFile(files.signingKeySeed, `${dev.signingKey.seed}\n`, force);
    writeNewFile(files.operatorJwt, `${dev.operator.jwt}\n`, force);
    writeNewFile(files.accountJwt, `${m.accountJwt}\n`, force);
    writeNewFile(
      files.serverConfig,
      dev.serverConfig({ port: Number(portText) }),
      force,
    );
    writeSecretFile(
      files.envFile,
      [
        '# DEVELOPMENT ONLY (nest-jwt-issuer keys nats): holds the signing key seed, a secret.',
        `JWT_ISSUER_NATS_ACCOUNT_ID=${m.accountId}`,
        `JWT_ISSUER_NATS_SIGNING_KEY=${m.signingKey}`,
        `JWT_ISSUER_NATS_ACCOUNT_JWT=${m.accountJwt}`,
        '',
      ].join('\n'),
      force,
    );
    io.err(
      `Wrote DEVELOPMENT keys to ${dir}/ (seeds and jwt-issuer.env mode 0600). Start the server with: nats-server -c ${files.serverConfig}\n`,
    );
    // The seed is never printed: the line reads it from its file.
    const lines = [
      `JWT_ISSUER_NATS_ACCOUNT_ID=${m.accountId}`,
      `JWT_ISSUER_NATS_SIGNING_KEY="$(cat ${files.signingKeySeed})"`,
      `JWT_ISSUER_NATS_ACCOUNT_JWT="$(cat ${files.accountJwt})"`,
    ];
    print(
      io,
      values.json === true,
      {
        dir,
        operator: dev.operator.publicKey,
        account: m.accountId,
        signingKey: dev.signingKey.publicKey,
        role: dev.signingKey.role,
        template: dev.template,
        files,
      },
      () => `${lines.map((l) => `export ${l}`).join('\n')}\n`,
    );
    return 0;
  },
};
