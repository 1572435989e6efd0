// ts-mls as a member of a Parley-built group: its KeyPackage goes into a Parley Add, it joins from
// the Parley Welcome, commits, and processes Parley's commits. Every message crosses between the
// two libraries as MLSMessage bytes, exactly as it would over the network, so each step is also an
// interoperability check.
import {
  createApplicationMessage,
  createCommit,
  decodeMlsMessage,
  emptyPskIndex,
  encodeMlsMessage,
  joinGroup,
  processMessage,
  acceptAll,
} from 'ts-mls';
import type { CiphersuiteImpl, ClientState, KeyPackage, MLSMessage, Proposal } from 'ts-mls';
import type { PrivateKeyPackage } from 'ts-mls';

/** Decodes MLSMessage bytes with ts-mls; throws if they do not decode or have trailing bytes. */
export function tsMlsDecode(bytes: Uint8Array): MLSMessage {
  const r = decodeMlsMessage(bytes, 0);
  if (r === undefined) throw new Error('ts-mls could not decode the MLSMessage');
  if (r[1] !== bytes.length) throw new Error(`ts-mls read ${r[1]} of ${bytes.length} bytes`);
  return r[0];
}

export function tsMlsKeyPackageBytes(keyPackage: KeyPackage): Uint8Array {
  return encodeMlsMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage });
}

export async function tsMlsJoin(
  cs: CiphersuiteImpl,
  welcomeBytes: Uint8Array,
  keyPackage: KeyPackage,
  privateKeys: PrivateKeyPackage,
): Promise<ClientState> {
  const m = tsMlsDecode(welcomeBytes);
  if (m.wireformat !== 'mls_welcome') throw new Error(`expected a Welcome, got ${m.wireformat}`);
  return joinGroup(m.welcome, keyPackage, privateKeys, emptyPskIndex, cs);
}

export interface TsMlsCommit {
  /** The commit as MLSMessage bytes. */
  readonly bytes: Uint8Array;
  readonly welcomeBytes: Uint8Array | undefined;
  readonly newState: ClientState;
}

/**
 * A commit of `proposals` by value (an empty commit, with a path, when none), as PrivateMessage,
 * encoded; with the Welcome (ratchet tree inside) when it adds members.
 */
export async function tsMlsCommit(
  cs: CiphersuiteImpl,
  state: ClientState,
  proposals: Proposal[] = [],
): Promise<TsMlsCommit> {
  const r = await createCommit(
    { state, cipherSuite: cs },
    { extraProposals: proposals, ratchetTreeExtension: true },
  );
  return {
    bytes: encodeMlsMessage(r.commit),
    welcomeBytes:
      r.welcome === undefined
        ? undefined
        : encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: r.welcome }),
    newState: r.newState,
  };
}

/** Processes a commit given as bytes; returns the new epoch's state. */
export async function tsMlsProcessCommit(
  cs: CiphersuiteImpl,
  state: ClientState,
  bytes: Uint8Array,
): Promise<ClientState> {
  const m = tsMlsDecode(bytes);
  if (m.wireformat !== 'mls_private_message' && m.wireformat !== 'mls_public_message') {
    throw new Error(`expected a framed message, got ${m.wireformat}`);
  }
  const r = await processMessage(m, state, emptyPskIndex, acceptAll, cs);
  if (r.kind !== 'newState') throw new Error('ts-mls: expected a commit');
  return r.newState;
}

/** An application message as bytes, and the state after sending it. */
export async function tsMlsSend(
  cs: CiphersuiteImpl,
  state: ClientState,
  data: Uint8Array,
): Promise<{ bytes: Uint8Array; state: ClientState }> {
  const r = await createApplicationMessage(state, data, cs);
  return {
    bytes: encodeMlsMessage({
      version: 'mls10',
      wireformat: 'mls_private_message',
      privateMessage: r.privateMessage,
    }),
    state: r.newState,
  };
}

/** Receives an application message given as bytes. */
export async function tsMlsReceive(
  cs: CiphersuiteImpl,
  state: ClientState,
  bytes: Uint8Array,
): Promise<{ data: Uint8Array; state: ClientState }> {
  const m = tsMlsDecode(bytes);
  if (m.wireformat !== 'mls_private_message') throw new Error(`got ${m.wireformat}`);
  const r = await processMessage(m, state, emptyPskIndex, acceptAll, cs);
  if (r.kind !== 'applicationMessage') throw new Error('ts-mls: expected application data');
  return { data: r.message, state: r.newState };
}
