import type { ServiceTokenOptions } from '../../lib/index.js';
import { JWT_ISSUER_ENV_VARS } from '../../lib/index.js';

/**
 * Development defaults of the `service` section for the sample: `undefined` when any `JWT_ISSUER_SERVICE_*`
 * variable is set (the environment is used as is), and in production without them (the sample's `require` then
 * reports the missing options); otherwise a service named `sample` whose issuer is the sample's own URL. No key is
 * given, so the module generates a development key and says so loudly.
 */
export async function serviceTokenSampleOptions(
  env: Record<string, string | undefined> = process.env,
): Promise<ServiceTokenOptions | undefined> {
  const configured = JWT_ISSUER_ENV_VARS.some(
    (v) =>
      v.path.startsWith('service.') &&
      env[v.env] !== undefined &&
      env[v.env] !== '',
  );
  if (configured) return undefined;
  if (env.NODE_ENV === 'production') return undefined;
  const port = Number(env.PORT ?? 3000);
  return {
    name: 'sample',
    issuer: `http://${env.HOST ?? '127.0.0.1'}:${port}`,
    tokenValidity: 600,
  };
}
