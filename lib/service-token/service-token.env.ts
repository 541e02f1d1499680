import type { EnvVarSpec } from '../config/env-var.interface.js';

/** Environment variables of the 'service-token' section. */
export const SERVICE_TOKEN_ENV_VARS: readonly EnvVarSpec[] = [];
