import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { hexOf } from '../../src-core/delivery/ciphertextLog.js';
import {
  KeyPackageHolder,
  KeyPackagePublisher,
  SPENT_NOTICE_LABEL,
  checkKeyPackage,
  fetchKeyPackage,
} from '../../src-core/delivery/keyPackageDirectory.js';
import { MlsClient } from '../../src-core/mls/client/index.js';
import { basicCredential } from '../mls/groupHarness.js';
import { MemoryRequestNet } from './storeForwardFixture.js';

const suite = cipherSuite(1);
/** The holders' clock starts at the real time: the MLS client stamps lifetimes from it. */
const NOW = BigInt(Math.floor(Date.now() / 1000));

function person(name: string) {
  const signatureKeyPair = suite.generateSignatureKeyPair();
  const client = new MlsClient({ suite, credential: basicCredential(name), signatureKeyPair });
  return { client, signatureKeyPair, owner: signatureKeyPair.publicKey };
}

function setup(limits = {}) {
  const net = new MemoryRequestNet();
  const holders = ['h1', 'h2'].map(
    (h) => new KeyPackageHolder({ requests: net.port(h), suite, now: () => NOW, limits }),
  );
  const alice = person('alice');
  const publisher = new KeyPackagePublisher({ ...alice, requests: net.port('alice') });
  return {
    net,
    holders,
    alice,
    publisher,
  };
}

describe('key-package directory', () => {
  it('holders serve one-time packages once each, then the last-resort one; an adder uses it and the owner joins', async () => {
    const { net, holders, alice, publisher } = setup();
    const reports = await publisher.distribute(['h1', 'h2'], 3);
    expect(reports.map((r) => r.error)).toEqual([undefined, undefined]);
    expect(reports.map((r) => r.accepted)).toEqual([4, 4]);
    const carol = person('carol');
    const port = net.port('carol');
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await fetchKeyPackage(port, suite, ['h1'], alice.owner));
    expect(got.map((k) => k.lastResort)).toEqual([false, false, false, true]);
    expect(new Set(got.map((k) => hexOf(k.ref))).size).toBe(4);
    // h1's slice and h2's are disjoint.
    const fromH2 = await fetchKeyPackage(port, suite, ['h2'], alice.owner);
    expect(got.some((k) => hexOf(k.ref) === hexOf(fromH2.ref))).toBe(false);
    expect(holders[0]!.held(alice.owner)).toEqual({ oneTime: 0, lastResort: true });
    // The package works: carol adds alice, alice joins from the Welcome.
    const g = carol.client.createGroup();
    const added = g.add([got[0]!.message]);
    g.merge(added.pending);
    const joined = alice.client.joinGroup(added.welcome!);
    expect(hexOf(joined.epochAuthenticator())).toBe(hexOf(g.epochAuthenticator()));
  });

  it('a spent notice signed by the owner drops the package everywhere; a forged one is refused', async () => {
    const { net, holders, alice, publisher } = setup();
    await publisher.distribute(['h1'], 2);
    // bob got one of the packages h1 holds directly from alice (in person) and uses it.
    const onShelf = alice.client.keyPackageList().find((p) => !p.lastResort)!;
    const bob = person('bob').client.createGroup();
    const added = bob.add([onShelf.message]);
    bob.merge(added.pending);
    alice.client.joinGroup(added.welcome!);
    expect(holders[0]!.held(alice.owner).oneTime).toBe(2);
    const mallory = net.port('mallory');
    const forged = await mallory
      .request('h1', 'keypackages', encodeSpent(alice.owner, [onShelf.ref], new Uint8Array(64)))
      .catch((e: unknown) => e);
    expect(forged).toMatchObject({ code: 'peer_refused' });
    expect(holders[0]!.held(alice.owner).oneTime).toBe(2);
    const r = await publisher.announceSpent(['h1', 'offline']);
    expect(r.map((x) => x.error)).toEqual([undefined, 'peer_unreachable']);
    expect(holders[0]!.held(alice.owner).oneTime).toBe(1);
    // The spent package cannot be deposited again.
    const again = await mallory.request('h1', 'keypackages', encodeDeposit([onShelf.message]));
    expect(again[2]).toBe(0); // accepted = 0 (uint16 high byte is at 2, low at 3)
    expect(again[3]).toBe(0);
  });

  it('refuses invalid, mixed-owner and non-contact deposits without changing anything', async () => {
    const net = new MemoryRequestNet();
    const alice = person('alice');
    const bob = person('bob');
    const holder = new KeyPackageHolder({
      requests: net.port('h'),
      suite,
      acceptDeposit: (from) => from === 'alice',
    });
    const port = net.port('alice');
    const a = alice.client.createKeyPackages({ count: 1 }).oneTime[0]!.message;
    const b = bob.client.createKeyPackages({ count: 1 }).oneTime[0]!.message;
    const broken = a.slice();
    broken[broken.length - 5]! ^= 1; // the signature no longer verifies
    for (const body of [
      encodeDeposit([a, b]),
      encodeDeposit([broken]),
      new Uint8Array([1, 1, 9]),
      new Uint8Array([7]),
    ]) {
      await expect(port.request('h', 'keypackages', body)).rejects.toMatchObject({
        code: 'peer_refused',
      });
    }
    await expect(
      net.port('eve').request('h', 'keypackages', encodeDeposit([a])),
    ).rejects.toMatchObject({
      code: 'peer_refused',
    });
    expect(holder.held(alice.owner)).toEqual({ oneTime: 0, lastResort: false });
    await port.request('h', 'keypackages', encodeDeposit([a]));
    expect(holder.held(alice.owner).oneTime).toBe(1);
    await expect(fetchKeyPackage(port, suite, ['h'], bob.owner)).rejects.toMatchObject({
      code: 'keypackage_unavailable',
    });
  });

  it('drops expired packages and tops up holders that run low', async () => {
    const net = new MemoryRequestNet();
    let now = NOW;
    const holder = new KeyPackageHolder({ requests: net.port('h'), suite, now: () => now });
    const alice = person('alice');
    const publisher = new KeyPackagePublisher({ ...alice, requests: net.port('alice') });
    const short = alice.client.createKeyPackages({
      count: 2,
      lastResort: false,
      now: NOW - 10n,
      validFor: 3600n,
    });
    await net
      .port('alice')
      .request('h', 'keypackages', encodeDeposit(short.oneTime.map((p) => p.message)));
    expect(holder.held(alice.owner).oneTime).toBe(2);
    now += 7200n;
    expect(holder.held(alice.owner).oneTime).toBe(0);
    now = NOW;
    const reports = await publisher.topUp(['h'], { lowWater: 2, perHolder: 5 });
    expect(reports[0]).toMatchObject({ accepted: 5, oneTimeHeld: 5 });
    expect((await publisher.topUp(['h'], { lowWater: 2, perHolder: 5 }))[0]).toMatchObject({
      oneTimeHeld: 5,
    });
    expect(holder.held(alice.owner).oneTime).toBe(5);
  });

  it('bounds what one owner can park', async () => {
    const { net, holders, alice } = setup({ maxOneTimePerOwner: 3, maxPerDeposit: 4 });
    const kps = alice.client
      .createKeyPackages({ count: 5, lastResort: false })
      .oneTime.map((p) => p.message);
    await expect(
      net.port('alice').request('h1', 'keypackages', encodeDeposit(kps)),
    ).rejects.toMatchObject({ code: 'peer_refused' });
    await net.port('alice').request('h1', 'keypackages', encodeDeposit(kps.slice(0, 4)));
    expect(holders[0]!.held(alice.owner).oneTime).toBe(3);
    expect(checkKeyPackage(suite, kps[0]!, BigInt(Math.floor(Date.now() / 1000))).owner).toEqual(
      alice.owner,
    );
    expect(SPENT_NOTICE_LABEL).toBe('Parley SpentKeyPackages');
  });
});

// Hand-built wire bodies, as a peer that does not use this module would send them.
import { encode, opaque, struct, uint8, vector } from '../../src-core/codec/index.js';

function encodeDeposit(kps: Uint8Array[]): Uint8Array {
  return encode(struct({ v: uint8, t: uint8, kps: vector(opaque) }), { v: 1, t: 1, kps });
}

function encodeSpent(owner: Uint8Array, refs: Uint8Array[], signature: Uint8Array): Uint8Array {
  return encode(struct({ v: uint8, t: uint8, owner: opaque, refs: vector(opaque), sig: opaque }), {
    v: 1,
    t: 3,
    owner,
    refs,
    sig: signature,
  });
}
