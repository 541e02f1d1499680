import {
  createAccount,
  createOperator,
  encodeAccount,
  encodeOperator,
  type KeyPair,
  newScopedSigner,
} from '@nats-io/jwt';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** An operator-mode setup built independently of this project, with @nats-io/jwt (the cross-check). */
export interface IndependentNatsSetup {
  accountId: string;
  /** Scoped signing key (template with `{{name()}}` and `{{tag(team)}}`). */
  scopedSeed: string;
  /** Plain (non-scoped) signing key of the same account. */
  unscopedSeed: string;
  accountJwt: string;
  /** A second account with its own scoped key (for "another account"). */
  otherAccountId: string;
  otherScopedSeed: string;
  /** A signing key listed in no account. */
  strangerSeed: string;
  config: string;
}

const TEMPLATE = {
  pub: { allow: ['users.{{name()}}.>', 'teams.{{tag(team)}}.>'] },
  sub: { allow: ['users.{{name()}}.>', 'teams.{{tag(team)}}.>', '_INBOX.>'] },
};

const LIMITS = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
};

async function account(
  name: string,
  operator: KeyPair,
): Promise<{ kp: KeyPair; scoped: KeyPair; unscoped: KeyPair; jwt: string }> {
  const kp = createAccount();
  const scoped = createAccount();
  const unscoped = createAccount();
  const jwt = await encodeAccount(
    name,
    kp,
    {
      limits: LIMITS,
      signing_keys: [
        newScopedSigner(scoped, 'users', TEMPLATE),
        unscoped.getPublicKey(),
      ],
    },
    { signer: operator },
  );
  return { kp, scoped, unscoped, jwt };
}

/** Builds the setup and a server configuration (port -1, debug on). */
export async function independentNatsSetup(): Promise<IndependentNatsSetup> {
  const operator = createOperator();
  const operatorJwt = await encodeOperator('test-operator', operator);
  const main = await account('MAIN', operator);
  const other = await account('OTHER', operator);
  const config = [
    'host: 127.0.0.1',
    'port: -1',
    'debug: true',
    `operator: ${JSON.stringify(operatorJwt)}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    `  ${main.kp.getPublicKey()}: ${JSON.stringify(main.jwt)}`,
    `  ${other.kp.getPublicKey()}: ${JSON.stringify(other.jwt)}`,
    '}',
    '',
  ].join('\n');
  return {
    accountId: main.kp.getPublicKey(),
    scopedSeed: text(main.scoped.getSeed()),
    unscopedSeed: text(main.unscoped.getSeed()),
    accountJwt: main.jwt,
    otherAccountId: other.kp.getPublicKey(),
    otherScopedSeed: text(other.scoped.getSeed()),
    strangerSeed: text(createAccount().getSeed()),
    config,
  };
}
