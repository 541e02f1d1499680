import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { LoggerService } from '@nestjs/common';
import { JwtIssuerConfigError } from '../../errors.js';
import { type CliCommand, list, print, Refusal, str } from '../cli-support.js';

/** `check`: the module's own configuration validation, on this environment (and `.env` file). */
export const check: CliCommand = {
  words: ['check'],
  summary:
    'reads the environment (and a .env file) exactly as JwtIssuerModule does: which capabilities are on, and every problem; exit 1 on any problem',
  usage: 'check [--env-file FILE] [--require CAPABILITY]...',
  optionHelp: [
    [
      '--env-file FILE',
      'the .env file ConfigModule.forRoot() would read (default: .env in the current folder, if any)',
    ],
    [
      '--require CAP',
      'a capability the application requires (JwtIssuerModule.forRoot({ require })): nats, service, service.verify, seald, vonage; repeatable',
    ],
  ],
  examples: [
    'nest-jwt-issuer check',
    'NODE_ENV=production nest-jwt-issuer check --env-file .env.production --require nats --require service',
    'nest-jwt-issuer check --json | jq .problems',
  ],
  options: {
    'env-file': { type: 'string' },
    require: { type: 'string', multiple: true },
  },
  async run(values, _positionals, io) {
    const envFile = str(values, 'env-file');
    if (envFile !== undefined && !existsSync(envFile)) {
      throw new Refusal(`--env-file: ${envFile} does not exist`);
    }
    // Nest's Logger is used by the normalizers' warnings: sent to stderr.
    const { nestLoggerToStderr } = await import('../nest-logger.js');
    await nestLoggerToStderr(io);
    // The same loading as the application's ConfigModule.forRoot(): the file's variables join process.env, which
    // wins over the file.
    const { ConfigModule } = await import('@nestjs/config');
    await ConfigModule.forRoot({
      envFilePath: envFile === undefined ? undefined : resolve(envFile),
    });
    const {
      JWT_ISSUER_CAPABILITIES,
      readJwtIssuerEnv,
      resolveJwtIssuerOptions,
    } = await import('../../jwt-issuer.capabilities.js');
    const warnings: string[] = [];
    const logger: LoggerService = {
      log: () => undefined,
      warn: (m: unknown) => {
        warnings.push(String(m));
        io.err(`warning ${String(m)}\n`);
      },
      error: (m: unknown) => io.err(`error ${String(m)}\n`),
    };
    const env = process.env;
    const required = list(values, 'require');
    let resolved: Record<string, unknown>;
    try {
      resolved = (await resolveJwtIssuerOptions(
        undefined,
        readJwtIssuerEnv(env),
        { production: env.NODE_ENV === 'production', logger },
        { required: required as never[], environment: env },
      )) as Record<string, unknown>;
    } catch (e) {
      if (!(e instanceof JwtIssuerConfigError)) throw e;
      print(
        io,
        values.json === true,
        { ok: false, code: e.code, problems: e.problems, warnings },
        () => `${e.message}\n`,
      );
      return 1;
    }
    const capabilities = Object.fromEntries(
      JWT_ISSUER_CAPABILITIES.map((c) => {
        const r = resolved[c.section];
        return [
          c.section,
          r === undefined
            ? 'off'
            : ((c.describe as ((x: unknown) => string) | undefined)?.(r) ??
              'on'),
        ];
      }),
    );
    const service = resolved.service as
      { signing?: { keyStore?: { close?: () => unknown } } } | undefined;
    await service?.signing?.keyStore?.close?.();
    print(
      io,
      values.json === true,
      { ok: true, capabilities, problems: [], warnings },
      () =>
        `${Object.entries(capabilities)
          .map(([section, state]) => `${section.padEnd(8)} ${state}`)
          .join(
            '\n',
          )}\nNo problems${env.NODE_ENV === 'production' ? ' (NODE_ENV=production)' : ''}.\n`,
    );
    return 0;
  },
};
