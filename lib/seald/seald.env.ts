import { optionEnvVars } from '../config/read-options.js';
import { SEALD_OPTIONS } from './interfaces/seald-options.interface.js';

/** Environment variables of the 'seald' section: one per option, named after it. */
export const SEALD_ENV_VARS = optionEnvVars('seald', SEALD_OPTIONS);
