import { optionEnvVars } from '../config/read-options.js';
import { NATS_OPTIONS } from './interfaces/nats-options.interface.js';

/** Environment variables of the 'nats' section (and `nats.callout`): one per option, named after it. */
export const NATS_ENV_VARS = optionEnvVars('nats', NATS_OPTIONS);
