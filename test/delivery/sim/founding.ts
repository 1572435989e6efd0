/**
 * The founding of a run's group, done once per set of founding names and reused by every seed
 * with that many members: MLS clients with their signature keys, and each founder's epoch-1 group
 * state as storage records (`encodeGroupState`), which each run decodes into fresh states.
 *
 * Why: founding is the costliest step of a small run (a commit adding up to eleven members and
 * eleven joins that verify the whole tree), and it is not what the simulation tests. Everything
 * after epoch 1 (commits, paths, messages) is made fresh in each run.
 */
import type { CipherSuite } from '../../../src-core/crypto/types.js';
import { MlsClient } from '../../../src-core/mls/client/index.js';
import { CredentialType } from '../../../src-core/mls/credential.js';
import { encodeGroupState } from '../../../src-core/mls/storage/index.js';

export interface Founding {
  readonly clients: ReadonlyMap<string, MlsClient>;
  /** Each founder's state at epoch 1, as storage records (never handed out to be changed). */
  readonly records: ReadonlyMap<string, ReadonlyMap<string, Uint8Array>>;
}

const cache = new Map<string, Founding>();

export function newClient(suite: CipherSuite, name: string): MlsClient {
  return new MlsClient({
    suite,
    credential: {
      credentialType: CredentialType.basic,
      identity: new TextEncoder().encode(name),
    },
    signatureKeyPair: suite.generateSignatureKeyPair(),
  });
}

/** The founded group of `names` (the first creates it and adds the others in one commit). */
export function founding(suite: CipherSuite, names: readonly string[]): Founding {
  const key = `${suite.id}:${names.join(',')}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const clients = new Map(names.map((n) => [n, newClient(suite, n)]));
  const client = (n: string): MlsClient => clients.get(n) as MlsClient;
  const [first, ...rest] = names;
  if (first === undefined) throw new RangeError('a group needs a founder');
  const group = client(first).createGroup();
  const records = new Map<string, ReadonlyMap<string, Uint8Array>>();
  if (rest.length > 0) {
    const kps = rest.map((n) => client(n).createKeyPackages({ count: 1, lastResort: false }));
    const out = group.add(kps.map((b) => (b.oneTime[0] as { message: Uint8Array }).message));
    group.merge(out.pending);
    for (const n of rest) {
      const joined = client(n).joinGroup(out.welcome as Uint8Array);
      records.set(n, encodeGroupState(joined.state));
      joined.destroy();
    }
  }
  records.set(first, encodeGroupState(group.state));
  group.destroy();
  const f: Founding = { clients, records };
  cache.set(key, f);
  return f;
}
