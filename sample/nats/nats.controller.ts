import { Body, Controller, Post, UseGuards } from '@nestjs/common';
import {
  type NatsUserCredentials,
  NatsUserJwtService,
  ServiceClaims,
  type ServiceTokenClaims,
  ServiceTokenGuard,
} from '../../lib/index.js';

/** Body of `POST /nats/users`: only the user's own public key may come from the request. */
export interface CreateNatsUserBody {
  /** An existing public user key (`U…`); without it a fresh user nkey is generated. */
  publicUserKey?: string;
}

/** Answer of `POST /nats/users`: the JWT, plus the seed and creds when the key was generated here. */
export type CreateNatsUserResponse =
  Pick<NatsUserCredentials, 'publicKey' | 'jwt'> | NatsUserCredentials;

/** Lifetime of the sample's NATS users: short, so that a leaked creds file stops working soon. */
export const SAMPLE_NATS_USER_SECONDS = 3600;

/**
 * Sample routes of the 'nats' capability, in the safe pattern: the caller is authenticated first (here by a service
 * token, as a back end for front end would call on behalf of its signed-in user), and the user's `name` and tags
 * come from that verified identity (`sub`, the `team` claim), never from the request body: through the scoped
 * key's template they choose the user's subjects. Every user expires.
 */
@Controller('nats')
export class NatsController {
  constructor(private readonly nats: NatsUserJwtService) {}

  /** Issues a user JWT for `publicUserKey`, or creates a user (seed, JWT, creds) when none is given. */
  @UseGuards(ServiceTokenGuard)
  @Post('users')
  createUser(
    @ServiceClaims() caller: ServiceTokenClaims,
    @Body() body: unknown,
  ): CreateNatsUserResponse {
    const { publicUserKey } =
      typeof body === 'object' && body !== null && !Array.isArray(body)
        ? (body as CreateNatsUserBody)
        : {};
    const claims = {
      // A name or team with '*', '>', '.', or whitespace is refused by the library (400): it would widen the rights.
      name: caller.sub,
      tags: typeof caller.team === 'string' ? [`team:${caller.team}`] : [],
      expiresIn: SAMPLE_NATS_USER_SECONDS,
    };
    if (publicUserKey !== undefined) {
      return {
        publicKey: publicUserKey,
        jwt: this.nats.issueUserJwt({ publicUserKey, ...claims }),
      };
    }
    return this.nats.createUser(claims);
  }
}
