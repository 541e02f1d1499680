import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  findExecutable,
  type RunningProcess,
  startProcess,
} from './broker-process.js';
import { freePort } from './broker-process.js';

/** A private RabbitMQ node started for a test on 127.0.0.1 (AMQP 0-9-1, user guest/guest, no plugins). */
export interface RunningRabbitMq {
  /** `amqp://guest:guest@127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The node's name, unique per start (`rmqtest-<pid>-<random>@localhost`). */
  nodename: string;
  log(): string;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'rabbitmq-server is required by the RabbitMQ transport tests and was not found (looked for ' +
  '/usr/lib/rabbitmq/bin/rabbitmq-server, then on PATH, in /usr/sbin, /usr/bin, /usr/local/sbin and /usr/local/bin), ' +
  'or epmd (Erlang) is missing. Install it: `apt-get install -y rabbitmq-server` (Debian/Ubuntu), ' +
  '`brew install rabbitmq` (macOS).';

/**
 * Finds RabbitMQ's own start script. Debian's `/usr/sbin/rabbitmq-server` is a wrapper that switches to the
 * `rabbitmq` user when run as root (and refuses other users): the script it wraps, in /usr/lib/rabbitmq/bin, runs a
 * node as the current user. Throws how to install it if absent (never a silent skip).
 */
export function findRabbitMqServer(
  dirs: readonly string[] = [
    '/usr/lib/rabbitmq/bin',
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean),
    '/usr/sbin',
    '/usr/bin',
    '/usr/local/sbin',
    '/usr/local/bin',
  ],
): { server: string; epmd: string } {
  return {
    server: findExecutable('rabbitmq-server', INSTALL_HINT, dirs),
    epmd: findExecutable('epmd', INSTALL_HINT, dirs),
  };
}

/**
 * Starts a private RabbitMQ node and resolves once it accepts AMQP connections (deadline `timeoutMs`). Everything
 * the node writes (database, logs, configuration, Erlang cookie) is in its own temporary directory; it listens on
 * 127.0.0.1 only, at free ports (AMQP, distribution) and registers with its own epmd on a free port, so nodes of
 * test files running in parallel (or a system RabbitMQ) never meet. `stop()` stops the node, then its epmd, and
 * removes the directory.
 */
export async function startRabbitMq(
  timeoutMs = 90_000,
): Promise<RunningRabbitMq> {
  const bins = findRabbitMqServer();
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(bins, timeoutMs);
    } catch (e) {
      // Another process took a port between the probe and the bind: try other ports.
      if (
        attempt >= 3 ||
        !/eaddrinuse|address already in use|already a epmd running/i.test(
          (e as Error).message,
        )
      )
        throw e;
    }
  }
}

async function launch(
  { server, epmd: epmdBin }: { server: string; epmd: string },
  timeoutMs: number,
): Promise<RunningRabbitMq> {
  const dir = mkdtempSync(join(tmpdir(), 'rabbitmq-test-'));
  const nodename = `rmqtest-${process.pid}-${randomBytes(4).toString('hex')}@localhost`;
  let epmd: RunningProcess | undefined;
  let node: RunningProcess | undefined;
  const stop = async (): Promise<void> => {
    await node?.stop();
    await epmd?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [port, distPort, epmdPort] = await distinctFreePorts(3);
    // epmd in the foreground (not -daemon) as our child: stopping it unregisters the node with it.
    epmd = await startProcess(
      'epmd',
      epmdBin,
      // -d -d: it says when it listens (and exits if the port is taken).
      ['-d', '-d', '-port', String(epmdPort), '-address', '127.0.0.1'],
      { ready: /entering the main select\(\) loop/, timeoutMs: 10_000 },
    );
    writeFileSync(join(dir, 'rabbitmq-env.conf'), ''); // not /etc/rabbitmq/rabbitmq-env.conf
    writeFileSync(join(dir, 'enabled_plugins'), '[].\n'); // management and every other plugin off
    writeFileSync(
      join(dir, 'rabbitmq.conf'),
      [
        'log.console = true',
        'log.console.level = info',
        'log.file = false',
        '',
      ].join('\n'),
    );
    for (const sub of ['mnesia', 'log', 'plugins-expand'])
      mkdirSync(join(dir, sub));
    node = await startProcess('rabbitmq-server', server, [], {
      ready: /Server startup complete/,
      timeoutMs,
      stopTimeoutMs: 20_000,
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        LANG: 'C.UTF-8',
        HOME: dir, // the node's Erlang cookie goes here
        ERL_EPMD_PORT: String(epmdPort),
        RABBITMQ_NODENAME: nodename,
        RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
        RABBITMQ_NODE_PORT: String(port),
        RABBITMQ_DIST_PORT: String(distPort),
        RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(dir, 'log'),
        RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
        RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
        RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
        RABBITMQ_PLUGINS_EXPAND_DIR: join(dir, 'plugins-expand'),
        RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS:
          '-start_epmd false -kernel inet_dist_use_interface {127,0,0,1}',
      },
    });
    const log = node.log;
    await waitForPort(port, 10_000, log);
    return {
      url: `amqp://guest:guest@127.0.0.1:${port}`,
      port,
      nodename,
      log,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** Resolves once a TCP connection to 127.0.0.1:`port` succeeds; throws with the server's log at the deadline. */
async function waitForPort(
  port: number,
  timeoutMs: number,
  log: () => string,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > until)
      throw new Error(
        `nothing listens on 127.0.0.1:${port} after ${timeoutMs / 1000} s:\n${log()}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}
