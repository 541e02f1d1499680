import type { Provider } from '@nestjs/common';
import type { JwtIssuerHealthPart } from '../common/health.js';
import { JWT_ISSUER_RESOLVED_OPTIONS } from './resolved-options.token.js';
import type {
  JwtIssuerCapability,
  ResolvedSections,
} from './capability.interface.js';

/** Token of the health reporters of the configured capabilities (internal). */
export const JWT_ISSUER_HEALTH_REPORTERS = Symbol(
  'JWT_ISSUER_HEALTH_REPORTERS',
);

/** One configured capability's part of the health report (internal). */
export interface HealthReporter {
  readonly section: string;
  report(): JwtIssuerHealthPart;
}

/**
 * The provider of {@link JWT_ISSUER_HEALTH_REPORTERS}: one reporter per configured capability that has a `health`
 * contribution, in the capabilities' order, each given its resolved section and the providers it injects.
 */
export function healthReportersProvider(
  capabilities: readonly JwtIssuerCapability<string, unknown, string>[],
): Provider {
  const contributing = capabilities.filter((c) => c.health !== undefined);
  return {
    provide: JWT_ISSUER_HEALTH_REPORTERS,
    inject: [
      JWT_ISSUER_RESOLVED_OPTIONS,
      ...contributing.flatMap((c) => c.health!.inject),
    ],
    useFactory: (
      resolved: ResolvedSections,
      ...deps: never[]
    ): HealthReporter[] => {
      const reporters: HealthReporter[] = [];
      let at = 0;
      for (const c of contributing) {
        const health = c.health!;
        const mine = deps.slice(at, at + health.inject.length);
        at += health.inject.length;
        const section = resolved[c.section];
        if (section === undefined) continue;
        reporters.push({
          section: c.section,
          report: () => health.report(section, ...mine),
        });
      }
      return reporters;
    },
  };
}
