// The sample's NATS client (`npm run -s sample:nats-client`): connects with a user's creds and shows which subjects
// the scoped signing key's template gives that user. Reads the creds from a file given as argument, or from
// standard input: a `.creds` file, or the JSON answer of `POST /nats/users` ({ publicKey, seed, jwt, creds }).
// The seed is never printed. Server: NATS_URL, default nats://127.0.0.1:4222 (the sample's nats-server.conf).
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator } from '@nats-io/transport-node';

/** The `.creds` text in `input`: the text itself, or the `creds` member of a `POST /nats/users` answer. */
export function credsFrom(input: string): string {
  const text = input.trim();
  if (text.startsWith('{')) {
    const answer = JSON.parse(text) as { creds?: unknown; message?: unknown };
    if (typeof answer.creds !== 'string') {
      throw new Error(
        `the JSON holds no creds${typeof answer.message === 'string' ? ` (the server said: ${answer.message})` : ''}: POST /nats/users without a publicUserKey returns them`,
      );
    }
    return answer.creds;
  }
  if (!text.includes('-----BEGIN NATS USER JWT-----')) {
    throw new Error(
      'the input is neither a .creds file nor the JSON answer of POST /nats/users',
    );
  }
  return text;
}

/** The user's name and tags, read from the JWT of the creds (to pick the subjects to try). */
function userOf(creds: string): { name: string; tags: string[]; key: string } {
  const jwt =
    /-----BEGIN NATS USER JWT-----\s*(\S+)\s*-/.exec(creds)?.[1] ?? '';
  const claims = JSON.parse(
    Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'),
  ) as { name: string; sub: string; nats?: { tags?: string[] } };
  return { name: claims.name, tags: claims.nats?.tags ?? [], key: claims.sub };
}

async function readInput(file: string | undefined): Promise<string> {
  if (file !== undefined && file !== '-') return readFileSync(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<number> {
  const creds = credsFrom(await readInput(process.argv[2]));
  const user = userOf(creds);
  const server = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const nc = await connect({
    servers: server,
    authenticator: credsAuthenticator(new TextEncoder().encode(creds)),
    reconnect: false,
    timeout: 5000,
  });
  const violations: string[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error') violations.push(s.error.message);
    }
  })();
  console.log(`connected to ${server} as ${user.name} (${user.key})`);

  /**
   * Subscribes to `prefix.>` and publishes to `prefix.hello`: allowed when the message comes back, refused when the
   * server says so (a permissions violation).
   */
  async function attempt(prefix: string): Promise<boolean> {
    const before = violations.length;
    let delivered = false;
    const sub = nc.subscribe(`${prefix}.>`, { max: 1 });
    void (async () => {
      for await (const _ of sub) delivered = true;
    })().catch(() => undefined);
    await nc.flush();
    nc.publish(`${prefix}.hello`, 'hello');
    await nc.flush();
    await nc.flush();
    const refused = violations.slice(before);
    if (delivered && refused.length === 0) {
      console.log(
        `allowed  ${prefix}.>  (subscribed; ${prefix}.hello published and received)`,
      );
      return true;
    }
    console.log(
      `refused  ${prefix}.>  (${refused.join('; ') || 'nothing delivered'})`,
    );
    return false;
  }

  const team = user.tags.find((t) => t.startsWith('team:'))?.slice(5);
  const other = user.name === 'bob' ? 'carol' : 'bob';
  const results = [
    await attempt(`users.${user.name}`),
    ...(team === undefined ? [] : [await attempt(`teams.${team}`)]),
    !(await attempt(`users.${other}`)),
  ];
  await nc.close();
  // Exit 0 when the template did what the sample promises: own subjects allowed, another user's refused.
  return results.every(Boolean) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`nats-client: ${(e as Error).message}`);
    process.exit(1);
  },
);
