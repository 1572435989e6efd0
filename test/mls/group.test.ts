import { describe, expect, it } from 'vitest';
import type { CipherSuiteId } from '../../src-core/crypto/types.js';
import { WireFormat } from '../../src-core/mls/framing/framedContent.js';
import { decodeMlsMessage } from '../../src-core/mls/framing/mlsMessage.js';
import {
  createGroup,
  createGroupInfo,
  joinFromWelcome,
  processMessage,
  proposeAdd,
  sendApplicationMessage,
} from '../../src-core/mls/group/index.js';
import { ExtensionType } from '../../src-core/mls/extension.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import { toHex } from '../support/shared.js';
import {
  World,
  expectMlsError,
  forgeCommit,
  keyPackageFor,
  newClient,
  text,
  untext,
  wire,
} from './groupHarness.js';

describe('two members', () => {
  it.each([1, 2, 3, 5, 7] as CipherSuiteId[])(
    'suite %i: create, add, join, send and receive both ways',
    (suiteId) => {
      const w = new World(suiteId);
      const alice = w.create('alice');
      expect(alice.epoch).toBe(0n);
      expect(alice.memberCount).toBe(1);
      const bobKp = w.keyPackage('bob');
      w.commit(
        'alice',
        { proposals: [{ proposalType: ProposalType.add, add: { keyPackage: bobKp.keyPackage } }] },
        ['bob'],
      );
      const a = w.state('alice');
      const b = w.state('bob');
      expect(a.epoch).toBe(1n);
      expect(b.ownLeaf).toBe(1);
      expect(b.memberCount).toBe(2);
      w.send('alice', 'hello bob');
      w.send('bob', 'hello alice');
      // Both derive the same exporter output; different labels give different values.
      expect(toHex(a.exporter('parley test', text('ctx'), 32))).toBe(
        toHex(b.exporter('parley test', text('ctx'), 32)),
      );
      expect(toHex(a.exporter('other', text('ctx'), 32))).not.toBe(
        toHex(b.exporter('parley test', text('ctx'), 32)),
      );
      // An empty commit by Bob (path required) moves both on.
      w.commit('bob');
      w.send('alice', 'after the update');
    },
  );

  it('joining deletes the KeyPackage init key; a last-resort one keeps it', () => {
    const w = new World();
    w.create('alice');
    const kp = w.keyPackage('bob');
    w.commit(
      'alice',
      { proposals: [{ proposalType: ProposalType.add, add: { keyPackage: kp.keyPackage } }] },
      ['bob'],
    );
    expect(kp.initPrivateKey.every((b) => b === 0)).toBe(true);
    expect(kp.encryptionPrivateKey.every((b) => b === 0)).toBe(true);

    const carol = w.client('carol');
    const last = keyPackageFor(w.suite, carol, { lastResort: true });
    w.pending.set('carol', last);
    w.commit(
      'alice',
      { proposals: [{ proposalType: ProposalType.add, add: { keyPackage: last.keyPackage } }] },
      ['carol'],
    );
    expect(last.initPrivateKey.some((b) => b !== 0)).toBe(true);
    w.send('carol', 'still works');
  });

  it('the tree can travel out of band', () => {
    const w = new World(1, { ratchetTreeInWelcome: false });
    w.create('alice');
    const kp = w.keyPackage('bob');
    const created = w.prepare('alice', {
      proposals: [{ proposalType: ProposalType.add, add: { keyPackage: kp.keyPackage } }],
    });
    const welcome = wire(created.welcome!);
    expectMlsError(() => joinFromWelcome({ welcome, keyPackages: [kp] }), 'missing_ratchet_tree');
    // Nothing was consumed by the failed attempt.
    expect(kp.initPrivateKey.some((b) => b !== 0)).toBe(true);
    const alice = created.staged.merge();
    const bob = joinFromWelcome({ welcome, keyPackages: [kp], ratchetTree: alice.tree.toNodes() });
    expect(toHex(bob.epochAuthenticator())).toBe(toHex(alice.epochAuthenticator()));
  });

  it('a Welcome for someone else, or a tampered one, is rejected', () => {
    const w = new World();
    w.create('alice');
    const kp = w.keyPackage('bob');
    const other = keyPackageFor(w.suite, w.client('mallory'));
    const created = w.prepare('alice', {
      proposals: [{ proposalType: ProposalType.add, add: { keyPackage: kp.keyPackage } }],
    });
    const welcome = wire(created.welcome!);
    expectMlsError(
      () => joinFromWelcome({ welcome, keyPackages: [other] }),
      'no_matching_key_package',
    );
    const bad = welcome.slice();
    bad[bad.length - 3]! ^= 1; // inside encrypted_group_info
    expectMlsError(() => joinFromWelcome({ welcome: bad, keyPackages: [kp] }), 'decryption_failed');
    expectMlsError(
      () => joinFromWelcome({ welcome, keyPackages: [kp], isGroupIdInUse: () => true }),
      'duplicate_group_id',
    );
    const bob = joinFromWelcome({ welcome, keyPackages: [kp] });
    expect(bob.epoch).toBe(1n);
  });

  it('an Add proposal by reference is committed by another member', () => {
    const w = new World();
    w.create('alice');
    w.commit(
      'alice',
      {
        proposals: [
          { proposalType: ProposalType.add, add: { keyPackage: w.keyPackage('bob').keyPackage } },
        ],
      },
      ['bob'],
    );
    const carol = w.keyPackage('carol');
    const sent = proposeAdd(w.state('bob'), carol.keyPackage);
    const got = processMessage(w.state('alice'), wire(sent.message));
    expect(got.kind).toBe('proposal');
    if (got.kind === 'proposal') expect(toHex(got.ref)).toBe(toHex(sent.ref));
    // §12.4: Alice must commit before sending application data.
    expectMlsError(() => sendApplicationMessage(w.state('alice'), text('x')), 'pending_proposals');
    w.commit('alice', {}, ['carol']);
    expect(w.state('carol').memberCount).toBe(3);
    w.send('carol', 'hi all');
  });

  it('PublicMessage handshakes when configured', () => {
    const w = new World(1, { handshakeWireFormat: 'public' });
    w.create('alice');
    const created = w.prepare('alice', {
      proposals: [
        { proposalType: ProposalType.add, add: { keyPackage: w.keyPackage('bob').keyPackage } },
      ],
    });
    expect(created.commit.wireFormat).toBe(WireFormat.publicMessage);
    w.deliver('alice', created, ['bob']);
    // A member that only accepts PrivateMessage handshakes refuses one.
    const strict = new World(1, { acceptedHandshakeWireFormats: ['private'] });
    strict.create('alice');
    const kp = strict.keyPackage('bob');
    strict.commit(
      'alice',
      { proposals: [{ proposalType: ProposalType.add, add: { keyPackage: kp.keyPackage } }] },
      ['bob'],
    );
    const forged = forgeCommit(strict.state('bob'), { proposals: [], path: undefined });
    expectMlsError(
      () => processMessage(strict.state('alice'), wire(forged)),
      'invalid_wire_format',
    );
  });

  it('a GroupInfo for external joins carries external_pub and the tree', () => {
    const w = new World();
    const alice = w.create('alice');
    const gi = decodeMlsMessage(wire(createGroupInfo(alice)));
    if (gi.wireFormat !== WireFormat.groupInfo) throw new Error('not a GroupInfo');
    const types = gi.groupInfo.extensions.map((e) => e.extensionType);
    expect(types).toContain(ExtensionType.externalPub);
    expect(types).toContain(ExtensionType.ratchetTree);
    expect(gi.groupInfo.signer).toBe(0);
  });

  it('creating a group rejects extensions our leaf does not support', () => {
    const w = new World();
    const c = newClient(w.suite, 'alice');
    expectMlsError(
      () =>
        createGroup({
          suite: w.suite,
          credential: c.credential,
          signatureKeyPair: c.signature,
          extensions: [{ extensionType: 0xff00, extensionData: new Uint8Array(0) }],
        }),
      'unsupported_extension',
    );
  });

  it('application data round-trips with authenticated data', () => {
    const w = new World();
    w.create('alice');
    w.commit(
      'alice',
      {
        proposals: [
          { proposalType: ProposalType.add, add: { keyPackage: w.keyPackage('bob').keyPackage } },
        ],
      },
      ['bob'],
    );
    const m = sendApplicationMessage(w.state('alice'), text('body'), {
      authenticatedData: text('aad'),
    });
    const got = processMessage(w.state('bob'), wire(m));
    if (got.kind !== 'application') throw new Error('not application');
    expect(untext(got.data)).toBe('body');
    expect(untext(got.authenticatedData)).toBe('aad');
    // A replay is refused and changes nothing.
    expectMlsError(() => processMessage(w.state('bob'), wire(m)), 'key_already_used');
    // Our own message echoed back is refused as such.
    const echo = sendApplicationMessage(w.state('bob'), text('mine'));
    expectMlsError(() => processMessage(w.state('bob'), wire(echo)), 'key_already_used');
  });

  it('a commit can rotate our leaf signature key', () => {
    const w = new World();
    w.create('alice');
    w.commit(
      'alice',
      {
        proposals: [
          { proposalType: ProposalType.add, add: { keyPackage: w.keyPackage('bob').keyPackage } },
        ],
      },
      ['bob'],
    );
    const fresh = w.suite.generateSignatureKeyPair();
    const created = w.prepare('bob', { leafNode: { signatureKeyPair: fresh } });
    expect(created.staged.hasPath).toBe(true);
    w.clients.set('bob', { ...w.client('bob'), signature: fresh });
    w.deliver('bob', created);
    expect(toHex(w.state('alice').tree.leafNode(1)!.signatureKey)).toBe(toHex(fresh.publicKey));
    w.send('bob', 'signed with the new key');
  });
});
