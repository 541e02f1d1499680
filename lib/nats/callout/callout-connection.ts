import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { JwtIssuerError, JwtIssuerErrorCode } from '../../errors.js';
import type {
  CalloutLogger,
  CalloutMessage,
  NatsCalloutConnectionState,
} from '../interfaces/nats-callout-responder.interface.js';
import type { ResolvedNatsCalloutOptions } from './callout.options.js';

/** The subject nats-server publishes authorization requests on. */
export const AUTH_CALLOUT_SUBJECT = '$SYS.REQ.USER.AUTH';
/** The NATS client package the responder loads (an optional peer dependency). */
export const NATS_CLIENT_PACKAGE = '@nats-io/transport-node';

type Transport = typeof import('@nats-io/transport-node');

/** Text without the user and password of any URL in it (`nats://user:pass@host` is a valid server URL). */
function withoutUserinfo(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/gi, '$1');
}

/** The configured servers as they may be logged. */
function loggableServers(servers: readonly string[]): string {
  return servers.map(withoutUserinfo).join(', ');
}

/**
 * The responder's NATS connection: loads the client package, connects as a user that bypasses the callout (the
 * first connection retried every second, then reconnecting forever through the client), subscribes to
 * {@link AUTH_CALLOUT_SUBJECT} in the queue group, keeps its state for the health report, and drains on shutdown.
 *
 * @example
 * const connection = new CalloutConnection(options, logger, (msg) => queue.push(msg, Date.now()));
 * await connection.start(); // the connection itself is made in the background
 */
export class CalloutConnection {
  private state: NatsCalloutConnectionState = 'connecting';
  private stateSince = Date.now();
  private connection: NatsConnection | undefined;
  private subscription: Subscription | undefined;
  private stopping = false;
  private readyResolve!: () => void;
  private readonly readyPromise = new Promise<void>(
    (r) => (this.readyResolve = r),
  );

  constructor(
    private readonly options: ResolvedNatsCalloutOptions,
    private readonly logger: CalloutLogger,
    private readonly onMessage: (msg: CalloutMessage) => void,
  ) {}

  /** The connection's state and since when (epoch ms). */
  current(): { state: NatsCalloutConnectionState; since: number } {
    return { state: this.state, since: this.stateSince };
  }

  /** Resolves once subscribed (the first connection may take a while). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /**
   * Loads the client package (throws when it is not installed) and starts connecting in the background: the
   * application starts even when NATS is down.
   */
  async start(): Promise<void> {
    let transport: Transport;
    try {
      transport = (await import(NATS_CLIENT_PACKAGE)) as Transport;
    } catch (cause) {
      throw new JwtIssuerError(
        JwtIssuerErrorCode.CONFIG_INVALID,
        `nats.callout needs the '${NATS_CLIENT_PACKAGE}' package (an optional peer dependency): npm install ${NATS_CLIENT_PACKAGE}`,
        { cause },
      );
    }
    const o = this.options;
    this.logger.log(
      `NATS auth callout (${o.mode} mode, xkey ${o.xkey ? `on, ${o.xkey.publicKey}` : 'off'}): connecting to ${loggableServers(o.servers)}; requests for ${o.requestSubject} answered in queue '${o.queue}', signed by ${o.responseSigner.publicKey}`,
    );
    void this.connectLoop(transport);
  }

  /**
   * Stops: no more requests are taken, `settle` runs (it waits for those in flight), then the connection drains
   * (closed if that fails).
   */
  async stop(settle: () => Promise<void>): Promise<void> {
    this.stopping = true;
    this.setState('stopped');
    const nc = this.connection;
    if (!nc || nc.isClosed()) return;
    try {
      await this.subscription?.drain();
      await settle();
      await nc.drain();
    } catch {
      await nc.close().catch(() => undefined);
    }
  }

  private setState(state: NatsCalloutConnectionState): void {
    if (state !== this.state) {
      this.state = state;
      this.stateSince = Date.now();
    }
  }

  private async connectLoop(transport: Transport): Promise<void> {
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        // The first connection is retried here (not by the client), so a stop ends the loop at once; once connected,
        // the client reconnects forever by itself.
        const nc = await this.connect(transport);
        if (this.stopping) {
          await nc.close();
          return;
        }
        this.connection = nc;
        this.subscription = nc.subscribe(AUTH_CALLOUT_SUBJECT, {
          queue: this.options.queue,
          callback: (err, msg) => {
            if (!err) this.onMessage(msg);
          },
        });
        await nc.flush();
        this.logger.log(
          `NATS auth callout: responding on ${AUTH_CALLOUT_SUBJECT} at ${withoutUserinfo(String(nc.getServer()))}`,
        );
        this.setState('connected');
        this.readyResolve();
        void this.watch(nc);
        return;
      } catch (e) {
        // Client errors never carry the credentials. The first failure and then one in 60 are logged.
        if (attempt % 60 === 0) {
          this.logger.error(
            `NATS auth callout: cannot connect to ${loggableServers(this.options.servers)} (${withoutUserinfo((e as Error).message)}); retrying every second`,
          );
        }
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
  }

  private connect(transport: Transport): Promise<NatsConnection> {
    const c = this.options.connection;
    return transport.connect({
      servers: this.options.servers,
      name: c.name,
      ...(c.user !== undefined ? { user: c.user, pass: c.pass } : {}),
      ...(c.token !== undefined ? { token: c.token } : {}),
      ...(c.creds !== undefined
        ? {
            authenticator: transport.credsAuthenticator(
              new TextEncoder().encode(c.creds),
            ),
          }
        : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      noEcho: true,
    });
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        if (!this.stopping) this.setState('reconnecting');
        this.logger.warn(
          `NATS auth callout: disconnected from ${s.server}; reconnecting`,
        );
      } else if (s.type === 'reconnect') {
        this.setState('connected');
        this.logger.log(`NATS auth callout: reconnected to ${s.server}`);
      } else if (s.type === 'error')
        this.logger.warn(`NATS auth callout: ${s.error.message}`);
    }
  }
}
