import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import {
  DEFAULT_POLICY,
  parleyCapabilities,
  parleyProposalPolicy,
  rulesExtension,
  userIdOfCredential,
} from '../../src-core/app/groups/groupRules.js';
import type { UserKeyPair } from '../../src-core/identity/index.js';
import {
  generateDeviceKey,
  generateUserKey,
  issueDeviceCertificate,
  newLeafCredential,
  parseParleyCredential,
  userKeyFingerprint,
} from '../../src-core/identity/index.js';
import { MlsClient } from '../../src-core/mls/client/index.js';
import type { Group } from '../../src-core/mls/client/index.js';
import { CredentialType } from '../../src-core/mls/credential.js';
import { MlsError } from '../../src-core/mls/errors.js';

const suite = cipherSuite(1);
const now = BigInt(Math.floor(Date.now() / 1000));
const config = { proposalPolicy: parleyProposalPolicy };

/** One device of `user`: its own device key and leaf, the same user key as its siblings. */
function device(user: UserKeyPair, name: string, rogue = false) {
  const key = generateDeviceKey();
  const cert = issueDeviceCertificate(user, {
    deviceKey: key.publicKey,
    deviceName: name,
    createdAt: now - 10n,
    expiresAt: now + 86_400n,
  });
  const leaf = newLeafCredential({
    suite,
    userKey: user.publicKey,
    deviceCertificate: cert,
    deviceKey: key,
    notBefore: now - 10n,
    notAfter: now + 86_400n,
  });
  const client = new MlsClient({
    suite,
    credential: leaf.credential,
    signatureKeyPair: leaf.signatureKeyPair,
    config: rogue ? {} : config,
  });
  const keyPackage = () =>
    client.createKeyPackages({
      count: 1,
      lastResort: false,
      capabilities: parleyCapabilities(suite, CredentialType.basic),
    }).oneTime[0]!.message;
  return { client, deviceKey: key.publicKey, keyPackage };
}

const idOf = (user: UserKeyPair): string =>
  Buffer.from(userKeyFingerprint(user.publicKey)).toString('hex');

const leafOfDevice = (g: Group, deviceKey: Uint8Array): number =>
  g
    .members()
    .find(
      (m) =>
        Buffer.compare(
          parseParleyCredential(m.credential).deviceCertificate.deviceKey,
          deviceKey,
        ) === 0,
    )!.leafIndex;

/**
 * Alice (admin) and Bob, Carol (members, membership = admins); Bob's laptop is in the group, his
 * phone and tablet are not yet. `rogueBob`: Bob's laptop ignores the rules (the others must not).
 */
function setup(rogueBob = false) {
  const [alice, bob, carol, dave] = [0, 1, 2, 3].map(() => generateUserKey()) as [
    UserKeyPair,
    UserKeyPair,
    UserKeyPair,
    UserKeyPair,
  ];
  const aliceLaptop = device(alice, 'laptop');
  const bobLaptop = device(bob, 'laptop', rogueBob);
  const bobPhone = device(bob, 'phone');
  const carolLaptop = device(carol, 'laptop');
  const daveLaptop = device(dave, 'laptop');
  const a = aliceLaptop.client.createGroup({
    capabilities: parleyCapabilities(suite, CredentialType.basic),
    extensions: [rulesExtension({ admins: [idOf(alice)], policy: DEFAULT_POLICY })],
    config,
  });
  const out = a.add([bobLaptop.keyPackage(), carolLaptop.keyPackage()]);
  a.merge(out.pending);
  const b = bobLaptop.client.joinGroup(out.welcome!, { config: rogueBob ? {} : config });
  const c = carolLaptop.client.joinGroup(out.welcome!, { config });
  return { a, b, c, bob, bobPhone, carolLaptop, daveLaptop };
}

/** Every other member takes `commit` (and merges it). */
function accept(commit: Uint8Array, ...groups: Group[]): void {
  for (const g of groups) {
    const ev = g.process(commit);
    expect(ev.kind).toBe('commit');
    if (ev.kind === 'commit') g.merge(ev.commit);
  }
}

describe('group rules: a user’s own devices', () => {
  it('a plain member adds a device of its own user and removes it again; every member agrees', () => {
    const { a, b, c, bob, bobPhone } = setup();
    const add = b.add([bobPhone.keyPackage()]);
    accept(add.commit, a, c);
    b.merge(add.pending);
    const bobLeaves = a.members().filter((m) => userIdOfCredential(m.credential) === idOf(bob));
    expect(bobLeaves).toHaveLength(2);
    const removal = b.remove([leafOfDevice(b, bobPhone.deviceKey)]);
    accept(removal.commit, a, c);
    expect(a.members()).toHaveLength(3);
  });

  it('the exception covers the sender’s own user only: others stay the admins’ to add or remove', () => {
    const { b, carolLaptop, daveLaptop } = setup();
    expect(() => b.add([daveLaptop.keyPackage()])).toThrow(MlsError);
    expect(() => b.remove([leafOfDevice(b, carolLaptop.deviceKey)])).toThrow(MlsError);
    // A rogue Bob's commit adding Dave, or removing Carol, is refused where it arrives.
    const rogue = setup(true);
    const addDave = rogue.b.add([rogue.daveLaptop.keyPackage()]);
    const removeCarol = rogue.b.remove([leafOfDevice(rogue.b, rogue.carolLaptop.deviceKey)]);
    for (const commit of [addDave.commit, removeCarol.commit]) {
      expect(() => rogue.a.process(commit)).toThrow(
        expect.objectContaining({ code: 'proposal_rejected_by_policy' }),
      );
    }
  });
});
