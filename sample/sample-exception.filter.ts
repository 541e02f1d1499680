import { Catch } from '@nestjs/common';
import {
  JwtIssuerError,
  type JwtIssuerErrorBody,
  JwtIssuerExceptionFilter,
} from '../lib/index.js';

/**
 * The library's {@link JwtIssuerExceptionFilter}, registered for the whole sample (`APP_FILTER`), with one change:
 * a 400 also shows the library's own message, which names the argument at fault (`tags[1]: must be a non-empty
 * string`) and never holds a secret. Handy when the callers are developers trying the sample; the plain filter
 * answers a fixed text per code.
 */
@Catch(JwtIssuerError)
export class SampleExceptionFilter extends JwtIssuerExceptionFilter {
  protected override bodyOf(
    error: JwtIssuerError,
    status: number,
  ): JwtIssuerErrorBody {
    const body = super.bodyOf(error, status);
    return status === 400 ? { ...body, message: error.message } : body;
  }
}
