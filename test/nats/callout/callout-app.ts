import 'reflect-metadata';
import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  JwtIssuerModule,
  type JwtIssuerModuleOptions,
  NatsCalloutResponder,
  ServiceTokenService,
} from '../../../lib/index.js';

/** The responder app of the tests: a Nest application context with the module's options and extra providers. */
export interface CalloutApp {
  app: INestApplicationContext;
  responder: NatsCalloutResponder;
  tokens: ServiceTokenService;
  /** A service token of a trusted issuer (the app's own `service` section) for `sub` and NATS, with extra claims. */
  serviceToken(
    sub: string,
    claims?: Record<string, unknown>,
    validitySeconds?: number,
  ): Promise<string>;
  close(): Promise<void>;
  /** Every line the app logged (all levels), and every token `serviceToken` made: for the no-secret checks. */
  logged: string[];
  issued: string[];
}

/** A Nest logger that keeps every line (and prints errors, so failures stay readable). */
function collectingLogger(lines: string[]) {
  const keep =
    (print: boolean) =>
    (...args: unknown[]) => {
      const line = args.map(String).join(' ');
      lines.push(line);
      if (print && process.env.DEBUG_CALLOUT) console.error(line);
    };
  return {
    log: keep(false),
    warn: keep(false),
    error: keep(true),
    debug: keep(false),
    verbose: keep(false),
    fatal: keep(true),
  };
}

export const SERVICE_ISSUER = 'http://auth.test';

/** The audience of the tokens NATS clients present (`nats.callout.audience` of the responder apps). */
export const NATS_AUDIENCE = 'nats';

/** Starts the responder app and waits until it is subscribed. */
export async function startCalloutApp(
  options: JwtIssuerModuleOptions,
  providers: (new (...args: never[]) => unknown)[] = [],
  logger?: unknown,
): Promise<CalloutApp> {
  const logged: string[] = [];
  const issued: string[] = [];
  // oxlint-disable-next-line no-extraneous-class -- a Nest module class, decorated below
  class CalloutTestModule {}
  Module({
    imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true, ...options })],
    providers,
  })(CalloutTestModule);
  const app = await NestFactory.createApplicationContext(CalloutTestModule, {
    logger: (logger ?? collectingLogger(logged)) as never,
    abortOnError: false,
  });
  await app.init();
  const responder = app.get(NatsCalloutResponder);
  await responder.ready();
  const tokens = app.get(ServiceTokenService);
  return {
    app,
    responder,
    tokens,
    serviceToken: async (sub, claims = {}, validitySeconds = 300) => {
      const token = await tokens.createJwt(
        { source: 'microservice', sub, aud: NATS_AUDIENCE, ...claims },
        { validitySeconds },
      );
      issued.push(token);
      return token;
    },
    close: () => app.close(),
    logged,
    issued,
  };
}

/** The `service` section the responder apps verify client tokens with (issues and accepts its own tokens). */
export function serviceSection(
  privateKey: string,
): JwtIssuerModuleOptions['service'] {
  return {
    name: 'auth',
    algorithm: 'EdDSA',
    issuer: SERVICE_ISSUER,
    privateKey,
    acceptOwnTokens: true,
    clockTolerance: 0,
    publishJwks: false,
  };
}

/** The permissions template of the sample and the tests: own subjects and the team's. */
export const PERMISSIONS = {
  pub: { allow: ['users.{{name()}}.>', 'teams.{{tag(team)}}.>'] },
  sub: {
    allow: ['users.{{name()}}.>', 'teams.{{tag(team)}}.>', '_INBOX.>'],
  },
};
