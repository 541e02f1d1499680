import type { Type } from '@nestjs/common';
import { type ConfigProblem, JwtIssuerConfigError } from '../../errors.js';
import type {
  CalloutDecide,
  CalloutResponderHost,
} from '../interfaces/nats-callout-responder.interface.js';
import type {
  NatsAuthDecision,
  NatsAuthorizer,
} from '../interfaces/nats-callout.interface.js';
import {
  NATS_AUTH_CALLOUT_METADATA,
  PasswordCalloutAuthorizer,
  ServiceTokenCalloutAuthorizer,
} from './callout-authorizers.js';
import type { ResolvedNatsCalloutOptions } from './callout.options.js';

/** A method marked `@NatsAuthCallout()`, on the provider or controller instance that has it. */
export interface CalloutAuthorizerMethod {
  instance: object;
  method: string;
  /** The instance's class name (for the start-up error). */
  owner: string;
}

/** Throws the start-up error of a responder without a usable authorizer. */
function problem(message: string): never {
  throw new JwtIssuerConfigError([
    {
      path: 'nats.callout.authorizer',
      env: 'JWT_ISSUER_NATS_CALLOUT_AUTHORIZER',
      message,
    },
  ]);
}

/**
 * Finds the application's authorizer at bootstrap, as `@nestjs/schedule`'s `ScheduleExplorer` finds `@Cron()`: the
 * built-in `'service-token'` or `'password'` authorizer, the class named in `callout.authorizer` (the provider, or
 * a new instance with its dependencies injected), or else the one method marked `@NatsAuthCallout()` on a provider
 * or controller (found with `DiscoveryService` and `MetadataScanner`). Throws the start-up error
 * ({@link JwtIssuerConfigError}) when there is none, or more than one method.
 *
 * @example
 * const decide = await new CalloutAuthorizerExplorer(options, { moduleRef, discovery, scanner }).resolve();
 */
export class CalloutAuthorizerExplorer {
  constructor(
    private readonly options: ResolvedNatsCalloutOptions,
    private readonly host: CalloutResponderHost = {},
  ) {}

  /** The decision function of the configured authorizer. */
  async resolve(): Promise<CalloutDecide> {
    const a = this.options.authorizer;
    if (a === 'service-token') return this.serviceToken();
    if (a === 'password') return this.password();
    if (typeof a === 'function')
      return this.authorizerClass(a as Type<NatsAuthorizer>);
    return this.markedMethod();
  }

  /** Every method marked `@NatsAuthCallout()` on the static providers and controllers. */
  explore(): CalloutAuthorizerMethod[] {
    const found: CalloutAuthorizerMethod[] = [];
    const { discovery, scanner } = this.host;
    if (!discovery || !scanner) return found;
    for (const wrapper of [
      ...discovery.getProviders(),
      ...discovery.getControllers(),
    ]) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (
        !instance ||
        typeof instance !== 'object' ||
        !wrapper.isDependencyTreeStatic()
      )
        continue;
      const proto = Object.getPrototypeOf(instance) as object | null;
      for (const method of scanner.getAllMethodNames(proto)) {
        const fn = instance[method];
        if (
          typeof fn === 'function' &&
          Reflect.getMetadata?.(NATS_AUTH_CALLOUT_METADATA, fn) === true
        ) {
          found.push({
            instance,
            method,
            owner: instance.constructor?.name ?? '?',
          });
        }
      }
    }
    return found;
  }

  private serviceToken(): CalloutDecide {
    const o = this.options;
    const { verifier, verifierAudience } = this.host;
    const problems: ConfigProblem[] = [];
    if (!verifier) {
      problems.push({
        path: 'nats.callout.authorizer',
        env: 'JWT_ISSUER_NATS_CALLOUT_AUTHORIZER',
        message:
          "'service-token' verifies tokens with the 'service' section: configure it to verify (JWT_ISSUER_SERVICE_TRUSTED_ISSUERS, or issue and accept own tokens)",
      });
    }
    if (o.audience === undefined && (verifierAudience?.length ?? 0) === 0) {
      problems.push({
        path: 'nats.callout.audience',
        env: 'JWT_ISSUER_NATS_CALLOUT_AUDIENCE',
        message:
          "is required by the 'service-token' authorizer, so that a token minted for another service cannot open a NATS connection: set the audience NATS clients' tokens carry (or JWT_ISSUER_SERVICE_EXPECTED_AUDIENCE)",
      });
    }
    if (problems.length > 0) throw new JwtIssuerConfigError(problems);
    const auth = new ServiceTokenCalloutAuthorizer(verifier!, {
      tagClaims: o.tagClaims,
      permissions: o.permissions,
      emptyAllow: o.emptyAllow,
      maxExpiresIn: o.maxExpiresIn,
      audience: o.audience,
    });
    return (r) => auth.authorize(r);
  }

  private password(): CalloutDecide {
    const o = this.options;
    const auth = new PasswordCalloutAuthorizer(o.users!, {
      permissions: o.permissions,
      emptyAllow: o.emptyAllow,
    });
    return (r) => auth.authorize(r);
  }

  /** The application's class: its provider instance when there is one, else a new one made through Nest. */
  private async authorizerClass(
    cls: Type<NatsAuthorizer>,
  ): Promise<CalloutDecide> {
    const { moduleRef } = this.host;
    let instance: NatsAuthorizer | undefined;
    try {
      instance = moduleRef?.get(cls, { strict: false });
    } catch {
      instance = undefined;
    }
    instance ??= moduleRef ? await moduleRef.create(cls) : new cls();
    if (typeof instance.authorize !== 'function')
      problem(`${cls.name} has no authorize(request, signal) method`);
    return (r, s) => instance.authorize(r, s);
  }

  private markedMethod(): CalloutDecide {
    const found = this.explore();
    if (found.length === 0) {
      problem(
        "no authorizer: set 'service-token' or 'password', name an authorizer class, or mark a provider's method with @NatsAuthCallout()",
      );
    }
    if (found.length > 1) {
      problem(
        `several methods are marked @NatsAuthCallout() (${found.map((f) => `${f.owner}.${f.method}`).join(', ')}): keep one`,
      );
    }
    const { instance, method } = found[0];
    const fn = (instance as Record<string, (...args: unknown[]) => unknown>)[
      method
    ].bind(instance);
    return (r, s) =>
      fn(r, s) as NatsAuthDecision | PromiseLike<NatsAuthDecision>;
  }
}
