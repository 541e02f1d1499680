import { optionEnvVars } from '../config/read-options.js';
import { SERVICE_TOKEN_OPTIONS } from './interfaces/service-token-options.interface.js';

/** Environment variables of the `service` section (and `service.oauth2`): one per option, named after it. */
export const SERVICE_TOKEN_ENV_VARS = optionEnvVars(
  'service',
  SERVICE_TOKEN_OPTIONS,
);
