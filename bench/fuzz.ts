import {
  OAuth2ParserFuzzFailure,
  runOAuth2ParserFuzz,
} from './oauth2-fuzzer.js';
import { runTokenFuzz, TokenFuzzFailure } from './token-fuzzer.js';

/**
 * The long run of the verifier's mutation fuzzer (the test suite runs 30,000 mutations):
 * `npm run fuzz -- [iterations] [seed]`, default 1,000,000 mutations from a seed taken from the clock. Prints the
 * seed first, so that a failure can be replayed; exits 1 on the first broken invariant. Then as many mutations of
 * the discovery document and token response parsers (`runOAuth2ParserFuzz`), with the same seed.
 */
function main(): void {
  const iterations = Number(process.argv[2] ?? 1_000_000);
  const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
  if (!Number.isSafeInteger(iterations) || !Number.isSafeInteger(seed)) {
    console.error('usage: npm run fuzz -- [iterations] [seed]');
    process.exit(2);
  }
  console.log(
    `token fuzz: ${iterations.toLocaleString('en-US')} mutations, seed ${seed}`,
  );
  // Runs in chunks of 100,000 with consecutive seeds, reporting as it goes.
  const chunk = 100_000;
  const total = {
    accepted: 0,
    signed: 0,
    refused: {} as Record<string, number>,
  };
  const started = performance.now();
  for (let done = 0, n = 0; done < iterations; done += chunk, n++) {
    const count = Math.min(chunk, iterations - done);
    try {
      const r = runTokenFuzz({ seed: seed + n, iterations: count });
      total.accepted += r.accepted;
      total.signed += r.signed;
      for (const [code, k] of Object.entries(r.refused)) {
        total.refused[code] = (total.refused[code] ?? 0) + k;
      }
    } catch (e) {
      if (e instanceof TokenFuzzFailure) {
        console.error(`FAILED: ${e.message}`);
        process.exit(1);
      }
      throw e;
    }
    console.log(
      `  ${(done + count).toLocaleString('en-US')} mutations (${((performance.now() - started) / 1000).toFixed(0)} s)`,
    );
  }
  console.log(
    `ok: ${iterations.toLocaleString('en-US')} mutations in ${((performance.now() - started) / 1000).toFixed(1)} s, ${total.signed.toLocaleString('en-US')} of them re-signed, ${total.accepted.toLocaleString('en-US')} accepted (each the exact signed bytes), refused: ${JSON.stringify(total.refused)}`,
  );
  try {
    const r = runOAuth2ParserFuzz({ seed, iterations });
    console.log(
      `ok: discovery document and token response parsers, ${iterations.toLocaleString('en-US')} mutations of each in ${(r.ms / 1000).toFixed(1)} s, accepted ${JSON.stringify(r.accepted)}, ${Object.keys(r.refused).length} distinct refusals`,
    );
  } catch (e) {
    if (e instanceof OAuth2ParserFuzzFailure) {
      console.error(`FAILED: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
}

main();
