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
  /** A service token of a trusted issuer (the app's own `service` section) for `sub`, with extra claims. */
  serviceToken(
    sub: string,
    claims?: Record<string, unknown>,
    validitySeconds?: number,
  ): Promise<string>;
  close(): Promise<void>;
}

export const SERVICE_ISSUER = 'http://auth.test';

/** Starts the responder app and waits until it is subscribed. */
export async function startCalloutApp(
  options: JwtIssuerModuleOptions,
  providers: (new (...args: never[]) => unknown)[] = [],
  logger: ConstructorParameters<typeof Object>[0] = ['error', 'warn'],
): Promise<CalloutApp> {
  // oxlint-disable-next-line no-extraneous-class -- a Nest module class, decorated below
  class CalloutTestModule {}
  Module({
    imports: [JwtIssuerModule.forRoot({ ignoreEnvVars: true, ...options })],
    providers,
  })(CalloutTestModule);
  const app = await NestFactory.createApplicationContext(CalloutTestModule, {
    logger: logger as never,
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
    serviceToken: (sub, claims = {}, validitySeconds = 300) =>
      tokens.createJwt(
        { source: 'microservice', sub, ...claims },
        { validitySeconds },
      ),
    close: () => app.close(),
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
