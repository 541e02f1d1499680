import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findExecutable,
  freePort,
  type RunningProcess,
  startProcess,
} from './broker-process.js';

const INSTALL_HINT =
  'prometheus is required by the metrics test and was not found on PATH, in /usr/bin or /usr/sbin. Install it: ' +
  '`apt-get install -y prometheus` (Debian/Ubuntu).';

/** A Prometheus server started for a test on 127.0.0.1, with its own configuration and storage in a temp folder. */
export interface RunningPrometheus {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Runs an instant PromQL query through the HTTP API; resolves to the result vector. */
  query(
    promql: string,
  ): Promise<{ metric: Record<string, string>; value: number }[]>;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts Debian's `prometheus` on a free port of 127.0.0.1, scraping `targets` (`host:port`) at `metricsPath` every
 * `scrapeIntervalMs`; storage and configuration live in a temp folder removed by `stop()`.
 */
export async function startPrometheus(options: {
  targets: readonly string[];
  metricsPath?: string;
  scrapeIntervalMs?: number;
}): Promise<RunningPrometheus> {
  const bin = findExecutable('prometheus', INSTALL_HINT);
  const dir = mkdtempSync(join(tmpdir(), 'nest-jwt-issuer-prometheus-'));
  const interval = `${options.scrapeIntervalMs ?? 500}ms`;
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      `  scrape_interval: ${interval}`,
      `  scrape_timeout: ${interval}`,
      'scrape_configs:',
      '  - job_name: app',
      `    metrics_path: ${options.metricsPath ?? '/metrics'}`,
      '    static_configs:',
      `      - targets: [${options.targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  let running: RunningProcess | undefined;
  let port = 0;
  for (let attempt = 1; running === undefined; attempt++) {
    port = await freePort();
    try {
      running = await startProcess(
        'prometheus',
        bin,
        [
          `--config.file=${config}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=info',
        ],
        { ready: /Server is ready to receive web requests/, timeoutMs: 30_000 },
      );
    } catch (e) {
      // Another process took the port between the probe and the bind: try another.
      if (
        attempt >= 3 ||
        !/address already in use/i.test((e as Error).message)
      ) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }
  const url = `http://127.0.0.1:${port}`;
  const proc = running;
  return {
    url,
    log: () => proc.log(),
    async query(promql) {
      const res = await fetch(
        `${url}/api/v1/query?query=${encodeURIComponent(promql)}`,
      );
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: {
          result: { metric: Record<string, string>; value: [number, string] }[];
        };
      };
      if (body.status !== 'success') {
        throw new Error(`PromQL ${promql}: ${body.error ?? res.status}`);
      }
      return body.data!.result.map((r) => ({
        metric: r.metric,
        value: Number(r.value[1]),
      }));
    },
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
