// ts-mls, the side-by-side anchor for the benchmarks: the same operations through its public API
// (and its crypto helpers, which its package exports by subpath). Everything in ts-mls is async.
import {
  createApplicationMessage,
  createCommit,
  createGroup,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  generateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  processPrivateMessage,
} from 'ts-mls';
import type {
  CiphersuiteImpl,
  ClientState,
  Credential,
  KeyPackage,
  PrivateKeyPackage,
  PrivateMessage,
} from 'ts-mls';

export type TsMlsSuite = CiphersuiteImpl;

export async function tsMlsSuite(): Promise<CiphersuiteImpl> {
  return getCiphersuiteImpl(getCiphersuiteFromName('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'));
}

function credential(name: string): Credential {
  return { credentialType: 'basic', identity: new TextEncoder().encode(name) };
}

export interface TsMlsMember {
  state: ClientState;
  keyPackage: KeyPackage;
  privateKeys: PrivateKeyPackage;
}

export async function tsMlsKeyPackage(
  cs: CiphersuiteImpl,
  name: string,
): Promise<Omit<TsMlsMember, 'state'>> {
  const kp = await generateKeyPackage(
    credential(name),
    defaultCapabilities(),
    defaultLifetime,
    [],
    cs,
  );
  return { keyPackage: kp.publicPackage, privateKeys: kp.privatePackage };
}

/** A two-member group (alice created it and added bob), ready for application messages. */
export async function tsMlsPair(
  cs: CiphersuiteImpl,
): Promise<{ alice: ClientState; bob: ClientState }> {
  const a = await tsMlsKeyPackage(cs, 'alice');
  const b = await tsMlsKeyPackage(cs, 'bob');
  const groupId = new TextEncoder().encode('bench-group');
  let alice = await createGroup(groupId, a.keyPackage, a.privateKeys, [], cs);
  const commit = await createCommit(
    { state: alice, cipherSuite: cs },
    {
      extraProposals: [{ proposalType: 'add', add: { keyPackage: b.keyPackage } }],
      ratchetTreeExtension: true,
    },
  );
  alice = commit.newState;
  if (!commit.welcome) throw new Error('ts-mls gave no Welcome');
  const bob = await joinGroup(commit.welcome, b.keyPackage, b.privateKeys, emptyPskIndex, cs);
  return { alice, bob };
}

export async function tsMlsProtect(
  cs: CiphersuiteImpl,
  state: ClientState,
  plaintext: Uint8Array,
): Promise<{ state: ClientState; message: PrivateMessage }> {
  const r = await createApplicationMessage(state, plaintext, cs);
  return { state: r.newState, message: r.privateMessage };
}

export async function tsMlsUnprotect(
  cs: CiphersuiteImpl,
  state: ClientState,
  message: PrivateMessage,
): Promise<ClientState> {
  const r = await processPrivateMessage(state, message, emptyPskIndex, cs);
  if (r.kind !== 'applicationMessage') throw new Error('ts-mls: expected an application message');
  return r.newState;
}
