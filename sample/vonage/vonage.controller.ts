import {
  BadRequestException,
  Body,
  Controller,
  HttpCode,
  Post,
} from '@nestjs/common';
import {
  vonageAcl,
  type VonageAclSelection,
  VonageJwtService,
} from '../../lib/index.js';

/**
 * Sample routes of the 'vonage' capability. A real application would put its own authentication guard here and take
 * the user name from the session, not from the body.
 */
@Controller('vonage')
export class VonageController {
  constructor(private readonly vonage: VonageJwtService) {}

  /**
   * `POST /vonage/tokens` `{ user, paths?, ttl? }`: a Client SDK token for `user`, allowed the named ACL paths
   * (`'all'` by default, or e.g. `["sessions", "conversations"]`).
   */
  @Post('tokens')
  @HttpCode(200)
  token(
    @Body()
    body:
      { user?: string; paths?: VonageAclSelection; ttl?: number } | undefined,
  ): { token: string } {
    if (typeof body?.user !== 'string' || body.user === '') {
      throw new BadRequestException('user must be a non-empty string');
    }
    return {
      token: this.vonage.createToken({
        sub: body.user,
        acl: vonageAcl(body.paths ?? 'all'),
        ...(body.ttl === undefined ? {} : { ttl: body.ttl }),
      }),
    };
  }
}
