import type { JwtIssuerModuleOptions } from '../lib/index.js';
import { natsCalloutSampleOptions } from './nats/nats-callout.sample-options.js';
import { natsSampleOptions } from './nats/nats.sample-options.js';
import { sealdSampleOptions } from './seald/seald.sample-options.js';
import { serviceTokenSampleOptions } from './service-token/service-token.sample-options.js';
import { vonageSampleOptions } from './vonage/vonage.sample-options.js';

/**
 * Options for the sample: each section's development default applies only where its environment variables are
 * absent and `NODE_ENV` is not `production` (explicit options override env, so a default must not hide env).
 */
export async function sampleJwtIssuerOptions(): Promise<JwtIssuerModuleOptions> {
  const nats = await natsSampleOptions();
  // The auth-callout responder (development default: sample/.dev/nats-callout.conf), beside the ADR-14 issuer.
  const callout = natsCalloutSampleOptions();
  return {
    nats: callout ? { ...nats, callout } : nats,
    service: await serviceTokenSampleOptions(),
    seald: await sealdSampleOptions(),
    vonage: await vonageSampleOptions(),
  };
}
