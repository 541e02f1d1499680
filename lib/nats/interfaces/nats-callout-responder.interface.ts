import type { LoggerService } from '@nestjs/common';
import type {
  DiscoveryService,
  MetadataScanner,
  ModuleRef,
} from '@nestjs/core';
import type { JwtIssuerTelemetry } from '../../common/telemetry.js';
import type { CalloutTokenVerifier } from '../callout/callout-authorizers.js';
import type {
  NatsAuthDecision,
  NatsAuthRequest,
  NatsCalloutStats,
} from './nats-callout.interface.js';

/** Where the responder is in its connection's life (for the health report). */
export type NatsCalloutConnectionState =
  'connecting' | 'connected' | 'reconnecting' | 'stopped';

/** What the responder needs from Nest to find the application's authorizer (internal). */
export interface CalloutResponderHost {
  moduleRef?: ModuleRef;
  discovery?: DiscoveryService;
  scanner?: MetadataScanner;
  /** The `service` section's verifier, when that section verifies tokens. */
  verifier?: CalloutTokenVerifier;
  /** The `service` section's `expectedAudience` (checked by `verifier`), when set. */
  verifierAudience?: readonly string[];
  /** Where the outcomes are counted (the module's OpenTelemetry instruments). */
  telemetry?: JwtIssuerTelemetry;
}

/** The application's decision for one request, whichever authorizer makes it (internal). */
export type CalloutDecide = (
  request: NatsAuthRequest,
  signal: AbortSignal,
) => NatsAuthDecision | PromiseLike<NatsAuthDecision>;

/** Where the responder's parts write their lines (Nest's `Logger` with the `NatsAuthCallout` context). */
export type CalloutLogger = Pick<LoggerService, 'log' | 'warn' | 'error'>;

/**
 * Where the responder's parts report what happened to a request (internal): the counters of
 * {@link NatsCalloutStats}, changed in place, and the log, whose refusal lines pass `refusals.admit(kind)` first
 * so that a flood of bad requests cannot flood the log.
 */
export interface CalloutSinks {
  readonly counters: NatsCalloutStats;
  readonly logger: CalloutLogger;
  readonly refusals: { admit(kind: string): boolean };
}

/**
 * What the responder reads of one request message (internal): the part of the NATS client's `Msg` it uses, written
 * here so that no declaration of the package names the optional client's types.
 */
export interface CalloutMessage {
  readonly data: Uint8Array;
  readonly reply?: string;
  readonly headers?: { get(name: string): string };
  respond(data: Uint8Array): boolean;
}
