import { describe, expect, it } from 'vitest';
import { CredentialType } from '../../src-core/mls/credential.js';
import { cipherSuite } from '../../src-core/crypto/index.js';
import type { GroupPolicy } from '../../src-core/app/api.js';
import {
  DEFAULT_POLICY,
  parleyCapabilities,
  parleyProposalPolicy,
  roleOf,
  rulesExtension,
  rulesOf,
  userIdOfCredential,
} from '../../src-core/app/groups/groupRules.js';
import {
  generateDeviceKey,
  generateUserKey,
  issueDeviceCertificate,
  newLeafCredential,
  userKeyFingerprint,
} from '../../src-core/identity/index.js';
import { MlsClient } from '../../src-core/mls/client/index.js';
import type { Group } from '../../src-core/mls/client/index.js';
import { MlsError } from '../../src-core/mls/errors.js';

const suite = cipherSuite(1);
const now = BigInt(Math.floor(Date.now() / 1000));
const config = { proposalPolicy: parleyProposalPolicy };

function person(name: string) {
  const user = generateUserKey();
  const device = generateDeviceKey();
  const cert = issueDeviceCertificate(user, {
    deviceKey: device.publicKey,
    deviceName: `${name}'s laptop`,
    createdAt: now - 10n,
    expiresAt: now + 86_400n,
  });
  const leaf = newLeafCredential({
    suite,
    userKey: user.publicKey,
    deviceCertificate: cert,
    deviceKey: device,
    notBefore: now - 10n,
    notAfter: now + 86_400n,
  });
  const client = new MlsClient({
    suite,
    credential: leaf.credential,
    signatureKeyPair: leaf.signatureKeyPair,
    config,
  });
  const userId = Buffer.from(userKeyFingerprint(user.publicKey)).toString('hex');
  const keyPackage = () =>
    client.createKeyPackages({
      count: 1,
      lastResort: false,
      capabilities: parleyCapabilities(suite, CredentialType.basic),
    }).oneTime[0]!.message;
  return { client, userId, keyPackage };
}

/** Alice (admin) with Bob and Carol (members), everyone at epoch 1. */
function threeMembers(policy: GroupPolicy, rogueBob = false) {
  const [alice, bob, carol, dave] = ['Alice', 'Bob', 'Carol', 'Dave'].map(person);
  const a = alice!.client.createGroup({
    capabilities: parleyCapabilities(suite, CredentialType.basic),
    extensions: [rulesExtension({ admins: [alice!.userId], policy })],
    config,
  });
  const out = a.add([bob!.keyPackage(), carol!.keyPackage()]);
  a.merge(out.pending);
  // A rogue Bob runs a client that ignores the rules; the others must still refuse him.
  const b = bob!.client.joinGroup(out.welcome!, { config: rogueBob ? {} : config });
  const c = carol!.client.joinGroup(out.welcome!, { config });
  return { a, b, c, alice: alice!, bob: bob!, carol: carol!, dave: dave! };
}

const leafOf = (g: Group, userId: string): number =>
  g.members().find((m) => userIdOfCredential(m.credential) === userId)!.leafIndex;

describe('group rules: roles in a GroupContext extension, enforced by every member', () => {
  it('round-trips and tells roles', () => {
    const { b, alice, bob } = threeMembers(DEFAULT_POLICY);
    const rules = rulesOf(b.state.groupContext.extensions)!;
    expect(rules).toEqual({ admins: [alice.userId], policy: DEFAULT_POLICY });
    expect(roleOf(rules, alice.userId)).toBe('admin');
    expect(roleOf(rules, bob.userId)).toBe('member');
  });

  it('membership = admins: a member may not add or remove others; every member refuses it', () => {
    const { b, carol, dave } = threeMembers(DEFAULT_POLICY);
    // Bob's own client refuses to make the commit at all.
    expect(() => b.add([dave.keyPackage()])).toThrow(MlsError);
    expect(() => b.remove([leafOf(b, carol.userId)])).toThrow(MlsError);
    // A rogue Bob's proposal and commit are refused by Alice and Carol when they arrive.
    const rogue = threeMembers(DEFAULT_POLICY, true);
    const victim = leafOf(rogue.b, rogue.carol.userId);
    const proposal = rogue.b.proposeRemove(victim);
    const commit = rogue.b.remove([victim]);
    for (const g of [rogue.a, rogue.c]) {
      for (const message of [proposal.message, commit.commit]) {
        expect(() => g.process(message)).toThrow(
          expect.objectContaining({ code: 'proposal_rejected_by_policy' }),
        );
      }
    }
    expect(rogue.a.members()).toHaveLength(3);
  });

  it('leaving is always allowed; the admin adds and removes', () => {
    const { a, b, c, bob, carol } = threeMembers(DEFAULT_POLICY);
    const leave = c.leave();
    expect(a.process(leave.message).kind).toBe('proposal');
    expect(b.process(leave.message).kind).toBe('proposal');
    const commit = a.commit();
    const ev = b.process(commit.commit);
    expect(ev.kind).toBe('commit');
    a.merge(commit.pending);
    if (ev.kind === 'commit') b.merge(ev.commit);
    expect(a.members().map((m) => userIdOfCredential(m.credential))).not.toContain(carol.userId);
    const removal = a.remove([leafOf(a, bob.userId)]);
    expect(b.process(removal.commit).kind).toBe('commit');
  });

  it('membership = everyone: members add and remove', () => {
    const { a, b, carol } = threeMembers({ ...DEFAULT_POLICY, membership: 'everyone' });
    const removal = b.remove([leafOf(b, carol.userId)]);
    expect(a.process(removal.commit).kind).toBe('commit');
  });

  it('a group without rules lets nobody add or remove others', () => {
    const alice = person('Alice');
    const bob = person('Bob');
    const g = alice.client.createGroup({ config });
    expect(() => g.add([bob.keyPackage()])).toThrow(MlsError);
  });
});
