import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { exportOf } from './module-export.js';

/** The package the metrics are reported through (an optional peer dependency). */
export const OPENTELEMETRY_API_PACKAGE = '@opentelemetry/api';

/** Name of the OpenTelemetry meter (the instrumentation scope). */
export const METER_NAME = 'nest-jwt-issuer';
/** Prefix of every instrument's name. */
export const METRIC_PREFIX = 'nest_jwt_issuer.';

/** Attribute values: always from the configuration or from the library's own enums, never from input. */
export type MetricAttributes = Readonly<Record<string, string>>;

/** One instrument of the catalogue (see {@link JWT_ISSUER_INSTRUMENTS}). */
export interface InstrumentSpec {
  /** Full name, {@link METRIC_PREFIX} included. */
  readonly name: string;
  readonly kind: 'counter' | 'gauge' | 'histogram';
  /** UCUM unit: `s`, or an annotation such as `{token}`. */
  readonly unit: string;
  readonly description: string;
  /** Attribute names, and where their values come from (for the docs table). */
  readonly attributes: Readonly<Record<string, string>>;
}

/** Attribute names (a namespace of their own, as OpenTelemetry's conventions ask of a library). */
export const ATTR = {
  kind: 'nest_jwt_issuer.token.kind',
  issuer: 'nest_jwt_issuer.issuer',
  outcome: 'nest_jwt_issuer.outcome',
  errorType: 'error.type',
  cacheResult: 'nest_jwt_issuer.cache.result',
  operation: 'nest_jwt_issuer.key_store.operation',
} as const;

/** The issuer attribute of a token whose `iss` is missing or not configured (the received value is never used). */
export const UNTRUSTED_ISSUER = '(untrusted)';

const ISSUER =
  'a configured issuer (`service.trustedIssuers[].issuer`, or this service’s own `service.issuer`), or `(untrusted)`';

/**
 * Every instrument the module reports, in one place (the docs table is checked against it). Counters are cumulative
 * (`_total` in Prometheus); durations are in seconds.
 */
export const JWT_ISSUER_INSTRUMENTS = {
  tokensIssued: {
    name: `${METRIC_PREFIX}tokens.issued`,
    kind: 'counter',
    unit: '{token}',
    description:
      'Tokens signed by this process, by kind (users the NATS auth-callout responder signs are counted by nats.callout.requests, outcome allowed).',
    attributes: { [ATTR.kind]: '`service`, `nats_user`, `seald`, `vonage`' },
  },
  verifications: {
    name: `${METRIC_PREFIX}verifications`,
    kind: 'counter',
    unit: '{verification}',
    description:
      'Service tokens verified (guard and verifier), by outcome, error code and issuer; a cache hit counts too.',
    attributes: {
      [ATTR.outcome]: '`valid`, `refused`',
      [ATTR.errorType]:
        'refused only: an `ERR_JWT_ISSUER_*` code, or `unexpected`',
      [ATTR.issuer]: ISSUER,
    },
  },
  cacheLookups: {
    name: `${METRIC_PREFIX}verified_cache.lookups`,
    kind: 'counter',
    unit: '{lookup}',
    description: 'Lookups in the verified-token cache, by result.',
    attributes: { [ATTR.cacheResult]: '`hit`, `miss`' },
  },
  cacheSize: {
    name: `${METRIC_PREFIX}verified_cache.size`,
    kind: 'gauge',
    unit: '{token}',
    description: 'Tokens in the verified-token cache.',
    attributes: {},
  },
  jwksFetches: {
    name: `${METRIC_PREFIX}jwks.fetches`,
    kind: 'counter',
    unit: '{fetch}',
    description: 'Requests for a trusted issuer’s JWKS, by issuer and outcome.',
    attributes: {
      [ATTR.issuer]: 'a configured trusted issuer',
      [ATTR.outcome]: '`success`, `failure`',
    },
  },
  jwksFetchDuration: {
    name: `${METRIC_PREFIX}jwks.fetch.duration`,
    kind: 'histogram',
    unit: 's',
    description:
      'Duration of JWKS requests (body included), by issuer and outcome.',
    attributes: {
      [ATTR.issuer]: 'a configured trusted issuer',
      [ATTR.outcome]: '`success`, `failure`',
    },
  },
  keyRotations: {
    name: `${METRIC_PREFIX}service.key_rotations`,
    kind: 'counter',
    unit: '{rotation}',
    description:
      'Rotations of this service’s signing key: a new dynamic key starts signing (or a rotation failed).',
    attributes: { [ATTR.outcome]: '`success`, `failure`' },
  },
  keyStoreOperations: {
    name: `${METRIC_PREFIX}service.key_store.operations`,
    kind: 'counter',
    unit: '{operation}',
    description:
      'Calls to the shared key store (`service.keyStore`), by operation and outcome.',
    attributes: {
      [ATTR.operation]: '`get_all`, `set_if_absent`, `delete`',
      [ATTR.outcome]: '`success`, `failure`',
    },
  },
  calloutRequests: {
    name: `${METRIC_PREFIX}nats.callout.requests`,
    kind: 'counter',
    unit: '{request}',
    description:
      'Authorization requests the NATS auth-callout responder finished with, by outcome (`allowed`: answered with a user JWT; `denied`: answered with an error; the others dropped unanswered).',
    attributes: {
      [ATTR.outcome]:
        '`allowed`, `denied`, `invalid`, `xkey_mismatch`, `shed`, `overloaded`',
    },
  },
  refusalLogSuppressed: {
    name: `${METRIC_PREFIX}refusal_log.suppressed`,
    kind: 'counter',
    unit: '{line}',
    description:
      'Refusal log lines not written because of the rate limit (`service.refusalLogLines` per `service.refusalLogWindow`); they are counted in the summary line instead.',
    attributes: {},
  },
} as const satisfies Record<string, InstrumentSpec>;

/** Buckets of the duration histograms, in seconds (a JWKS request has a 5 s deadline by default). */
const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * One time series of a counter: a fixed attribute set and its running total. The hot path only increments
 * `value`; OpenTelemetry reads it when it collects (an asynchronous instrument), so counting costs the same with
 * or without a meter provider.
 */
export class CounterSeries {
  value = 0;
  constructor(readonly attributes: MetricAttributes = {}) {}
}

/**
 * The series of `spec` with `attributes` in `telemetry`, or, without telemetry (a class made outside the module), a
 * series of its own that counts and is never reported. @internal
 */
export function counterIn(
  telemetry: JwtIssuerTelemetry | undefined,
  spec: InstrumentSpec,
  attributes: MetricAttributes = {},
): CounterSeries {
  return telemetry?.counter(spec, attributes) ?? new CounterSeries(attributes);
}

/** A histogram that records once bound to a meter provider, and does nothing before. */
export interface DurationRecorder {
  record(seconds: number, attributes: MetricAttributes): void;
}

// The few parts of @opentelemetry/api used here (its types stay out of this package's public declarations).
interface OtelObservable {
  readonly __brand?: 'observable';
}
interface OtelBatchResult {
  observe(
    observable: OtelObservable,
    value: number,
    attributes?: MetricAttributes,
  ): void;
}
type OtelBatchCallback = (result: OtelBatchResult) => void;
interface OtelMeter {
  createObservableCounter(
    name: string,
    options: { description: string; unit: string },
  ): OtelObservable;
  createObservableGauge(
    name: string,
    options: { description: string; unit: string },
  ): OtelObservable;
  createHistogram(
    name: string,
    options: {
      description: string;
      unit: string;
      advice?: { explicitBucketBoundaries?: number[] };
    },
  ): DurationRecorder;
  addBatchObservableCallback(
    callback: OtelBatchCallback,
    observables: OtelObservable[],
  ): void;
  removeBatchObservableCallback(
    callback: OtelBatchCallback,
    observables: OtelObservable[],
  ): void;
}
interface OtelApi {
  metrics: { getMeter(name: string): OtelMeter };
  createNoopMeter(): OtelMeter;
}

const NOOP_RECORDER: DurationRecorder = { record: () => undefined };

/**
 * The module's metrics (internal): plain counters that the capabilities increment, and the binding that reports
 * them through `@opentelemetry/api`. The API is loaded when the module initializes (and looked for again once the
 * application has bootstrapped, for a meter provider registered by another module); when it is not installed, or
 * no meter provider is registered, nothing is reported and the counters are all there is. Series are created from
 * the configuration and the library's enums only, so their number is bounded whatever the traffic.
 */
@Injectable()
export class JwtIssuerTelemetry
  implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy
{
  private readonly logger = new Logger('JwtIssuerMetrics');
  private readonly series = new Map<
    InstrumentSpec,
    Map<string, CounterSeries>
  >();
  private readonly gauges = new Map<InstrumentSpec, (() => number)[]>();
  private readonly histograms = new Map<InstrumentSpec, DurationRecorder>();
  private binding:
    | {
        meter: OtelMeter;
        callback: OtelBatchCallback;
        observables: OtelObservable[];
      }
    | undefined;
  private destroyed = false;

  /**
   * The series of `spec` with these attributes, created on first use (call it while configuring, or on a cold path
   * with attribute values from a small fixed set).
   */
  counter(
    spec: InstrumentSpec,
    attributes: MetricAttributes = {},
  ): CounterSeries {
    let bySpec = this.series.get(spec);
    if (bySpec === undefined) {
      bySpec = new Map();
      this.series.set(spec, bySpec);
    }
    const id = JSON.stringify(Object.entries(attributes).toSorted());
    let s = bySpec.get(id);
    if (s === undefined) {
      s = new CounterSeries(attributes);
      bySpec.set(id, s);
    }
    return s;
  }

  /** Reports `read()` as the value of the gauge `spec` at each collection (values of several readers are summed). */
  gauge(spec: InstrumentSpec, read: () => number): void {
    const readers = this.gauges.get(spec) ?? [];
    readers.push(read);
    this.gauges.set(spec, readers);
  }

  /** The histogram `spec`: records once a meter provider is bound (a no-op before). */
  histogram(spec: InstrumentSpec): DurationRecorder {
    return {
      record: (seconds, attributes) =>
        (this.histograms.get(spec) ?? NOOP_RECORDER).record(
          seconds,
          attributes,
        ),
    };
  }

  /** Whether the counters are reported through a meter provider now. */
  get reporting(): boolean {
    return this.binding !== undefined;
  }

  /** The number of series of every counter (tests: it must not grow with traffic). */
  seriesCount(): number {
    let n = 0;
    for (const bySpec of this.series.values()) n += bySpec.size;
    return n;
  }

  /** Every counter series, by instrument name (tests and diagnostics). */
  snapshot(): Record<
    string,
    { attributes: MetricAttributes; value: number }[]
  > {
    const out: Record<
      string,
      { attributes: MetricAttributes; value: number }[]
    > = {};
    for (const [spec, bySpec] of this.series) {
      out[spec.name] = [...bySpec.values()].map((s) => ({
        attributes: s.attributes,
        value: s.value,
      }));
    }
    return out;
  }

  async onModuleInit(): Promise<void> {
    await this.bind();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.bind();
  }

  onModuleDestroy(): void {
    this.destroyed = true;
    this.unbind();
  }

  /**
   * Reports the counters through the global meter provider, if `@opentelemetry/api` is installed and a provider is
   * registered. Resolves to whether the metrics are reported.
   */
  async bind(): Promise<boolean> {
    if (this.binding !== undefined) return true;
    const api = await loadOpenTelemetry();
    if (api === undefined || this.destroyed || this.binding !== undefined) {
      return this.binding !== undefined;
    }
    const meter = api.metrics.getMeter(METER_NAME);
    // No meter provider registered: the API hands out its no-op meter.
    if (meter === api.createNoopMeter()) return false;
    const observed: [OtelObservable, InstrumentSpec][] = [];
    for (const spec of Object.values(
      JWT_ISSUER_INSTRUMENTS,
    ) as InstrumentSpec[]) {
      const options = { description: spec.description, unit: spec.unit };
      if (spec.kind === 'counter') {
        observed.push([
          meter.createObservableCounter(spec.name, options),
          spec,
        ]);
      } else if (spec.kind === 'gauge') {
        observed.push([meter.createObservableGauge(spec.name, options), spec]);
      } else {
        this.histograms.set(
          spec,
          meter.createHistogram(spec.name, {
            ...options,
            advice: { explicitBucketBoundaries: DURATION_BUCKETS },
          }),
        );
      }
    }
    const callback: OtelBatchCallback = (result) => {
      for (const [observable, spec] of observed) {
        if (spec.kind === 'gauge') {
          const readers = this.gauges.get(spec);
          if (readers === undefined) continue;
          let total = 0;
          for (const read of readers) total += read();
          result.observe(observable, total);
          continue;
        }
        const bySpec = this.series.get(spec);
        if (bySpec === undefined) continue;
        for (const s of bySpec.values()) {
          result.observe(observable, s.value, s.attributes);
        }
      }
    };
    const observables = observed.map(([o]) => o);
    meter.addBatchObservableCallback(callback, observables);
    this.binding = { meter, callback, observables };
    this.logger.debug(`Reporting metrics through ${OPENTELEMETRY_API_PACKAGE}`);
    return true;
  }

  /** Stops reporting (the counters keep counting). */
  unbind(): void {
    const b = this.binding;
    if (b === undefined) return;
    b.meter.removeBatchObservableCallback(b.callback, b.observables);
    this.histograms.clear();
    this.binding = undefined;
  }
}

let loaded: Promise<OtelApi | undefined> | undefined;

/** `@opentelemetry/api`, loaded once; `undefined` when it is not installed. */
function loadOpenTelemetry(): Promise<OtelApi | undefined> {
  return (loaded ??= import(OPENTELEMETRY_API_PACKAGE).then(
    (m: unknown) => {
      const metrics = exportOf<OtelApi['metrics']>(m, 'metrics');
      const createNoopMeter = exportOf<OtelApi['createNoopMeter']>(
        m,
        'createNoopMeter',
      );
      return metrics && createNoopMeter
        ? { metrics, createNoopMeter }
        : undefined;
    },
    () => undefined,
  ));
}
