/**
 * Token of the validated, normalized options (internal): the module provides it, the capabilities and the
 * config helpers inject it. It lives in `config/` so that no capability imports the module definition.
 */
export const JWT_ISSUER_RESOLVED_OPTIONS = Symbol(
  'JWT_ISSUER_RESOLVED_OPTIONS',
);
