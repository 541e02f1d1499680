import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { SealdJwtService } from '../../lib/index.js';

/**
 * Sample routes of the 'seald' capability. A real application would put its own authentication guard here and take
 * the user id from the session, not from the body.
 */
@Controller('seald')
export class SealdController {
  constructor(private readonly seald: SealdJwtService) {}

  /** `POST /seald/tokens/signup` `{ userId? }`: a sign-up token (join the team, optionally add the connector). */
  @Post('tokens/signup')
  @HttpCode(200)
  signup(@Body() body: { userId?: string } | undefined): { token: string } {
    return {
      token: this.seald.createSignupToken(
        body?.userId === undefined ? {} : { userId: body.userId },
      ),
    };
  }

  /** `POST /seald/tokens/anonymous` `{ recipients, owner? }`: an anonymous-encryption token. */
  @Post('tokens/anonymous')
  @HttpCode(200)
  anonymous(
    @Body() body: { recipients?: string[]; owner?: string } | undefined,
  ): { token: string } {
    return {
      token: this.seald.createAnonymousEncryptionToken({
        recipients: body?.recipients as string[],
        ...(body?.owner === undefined ? {} : { owner: body.owner }),
      }),
    };
  }
}
