import { Body, Controller, Post } from '@nestjs/common';
import {
  type NatsUserCredentials,
  NatsUserJwtService,
} from '../../lib/index.js';

/** Body of `POST /nats/users`. */
export interface CreateNatsUserBody {
  /** User name (`{{name()}}` in the scope template). */
  name?: string;
  /** Tags, e.g. `["team:blue"]` for `{{tag(team)}}`. */
  tags?: string[];
  /** An existing public user key (`U…`); without it a fresh user nkey is generated. */
  publicUserKey?: string;
}

/** Answer of `POST /nats/users`: the JWT, plus the seed and creds when the key was generated here. */
export type CreateNatsUserResponse =
  Pick<NatsUserCredentials, 'publicKey' | 'jwt'> | NatsUserCredentials;

/**
 * Sample routes of the 'nats' capability. A real application must authenticate the caller and derive `name` and
 * `tags` from that identity: whoever may choose them chooses their own permissions.
 */
@Controller('nats')
export class NatsController {
  constructor(private readonly nats: NatsUserJwtService) {}

  /** Issues a user JWT for `publicUserKey`, or creates a user (seed, JWT, creds) when none is given. */
  @Post('users')
  createUser(@Body() body: unknown): CreateNatsUserResponse {
    const b: CreateNatsUserBody =
      typeof body === 'object' && body !== null && !Array.isArray(body)
        ? (body as CreateNatsUserBody)
        : {};
    // Only these fields are taken from the request: never permissions, limits or expiry.
    const { name, tags, publicUserKey } = b;
    if (publicUserKey !== undefined) {
      return {
        publicKey: publicUserKey,
        jwt: this.nats.issueUserJwt({ publicUserKey, name, tags }),
      };
    }
    return this.nats.createUser({ name, tags });
  }
}
