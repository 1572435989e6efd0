// The node's libp2p key: its peer id is how contacts find it again, so it is created once and
// kept. The storage layer keeps it (encrypted at rest) through PeerIdentityStore; net only knows
// the interface. A stored key that does not parse is an error, never a reason to make a new one:
// a silent new key would be a new peer id that no contact knows.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { NetError } from './errors.js';

export interface PeerIdentityStore {
  /** The stored key in libp2p's protobuf encoding, or undefined when none was saved yet. */
  load(): Promise<Uint8Array | undefined>;
  save(encodedKey: Uint8Array): Promise<void>;
}

/** For tests and throwaway nodes: the key lives as long as the object. */
export class MemoryPeerIdentityStore implements PeerIdentityStore {
  #key: Uint8Array | undefined;

  async load(): Promise<Uint8Array | undefined> {
    return this.#key?.slice();
  }

  async save(encodedKey: Uint8Array): Promise<void> {
    this.#key?.fill(0);
    this.#key = encodedKey.slice();
  }
}

/**
 * One file, written atomically (temporary file, then rename) with owner-only permissions. The
 * key is not encrypted here: this is for the CLI and tests; the app's store encrypts at rest.
 */
export class FilePeerIdentityStore implements PeerIdentityStore {
  constructor(readonly path: string) {}

  async load(): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.path));
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new NetError('storage_failed', `cannot read the peer key file ${this.path}`, { cause });
    }
  }

  async save(encodedKey: Uint8Array): Promise<void> {
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await writeFile(tmp, encodedKey, { mode: 0o600 });
      await rename(tmp, this.path);
    } catch (cause) {
      throw new NetError('storage_failed', `cannot write the peer key file ${this.path}`, {
        cause,
      });
    }
  }
}

/** Decodes a stored key; only Ed25519 keys are accepted (the kind this module creates). */
export function decodePeerKey(encoded: Uint8Array): PrivateKey {
  let key: PrivateKey;
  try {
    key = privateKeyFromProtobuf(encoded);
  } catch (cause) {
    throw new NetError('identity_invalid', 'the stored peer key does not parse', { cause });
  }
  if (key.type !== 'Ed25519') {
    throw new NetError('identity_invalid', `the stored peer key is ${key.type}, not Ed25519`);
  }
  return key;
}

/** Returns the stored key, or creates, saves and returns a new Ed25519 key on first use. */
export async function loadOrCreatePeerKey(store: PeerIdentityStore): Promise<PrivateKey> {
  const stored = await store.load();
  if (stored !== undefined) {
    try {
      return decodePeerKey(stored);
    } finally {
      stored.fill(0);
    }
  }
  const key = await generateKeyPair('Ed25519');
  const encoded = privateKeyToProtobuf(key);
  try {
    await store.save(encoded);
  } finally {
    encoded.fill(0);
  }
  return key;
}
