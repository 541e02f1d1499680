import {
  BadRequestException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { JwtIssuerError, JwtIssuerErrorCode } from '../lib/index.js';

/**
 * Runs a call into nest-jwt-issuer and maps its errors to HTTP for the sample's routes: `NOT_CONFIGURED` becomes
 * 503 `{ code }`; any other `JwtIssuerError` (a refused argument) becomes 400 `{ code, message }`. Library messages
 * name the argument and never hold a secret, so they can be shown to the caller.
 */
export function withHttpErrors<T>(call: () => T): T {
  try {
    return call();
  } catch (e) {
    if (!(e instanceof JwtIssuerError)) throw e;
    if (e.code === JwtIssuerErrorCode.NOT_CONFIGURED) {
      throw new ServiceUnavailableException({ code: e.code });
    }
    throw new BadRequestException({ code: e.code, message: e.message });
  }
}
