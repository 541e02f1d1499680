import { optionEnvVars } from '../config/read-options.js';
import { VONAGE_OPTIONS } from './interfaces/vonage-options.interface.js';

/** Environment variables of the 'vonage' section: one per option, named after it. */
export const VONAGE_ENV_VARS = optionEnvVars('vonage', VONAGE_OPTIONS);
