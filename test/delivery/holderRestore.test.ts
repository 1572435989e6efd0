/**
 * The holders' persistence hooks (app/holdings.ts stores what they report): `onChange` names the
 * owner or recipient whose holding changed and is awaited before the answer goes out; `shelf` /
 * `mailbox` give it to store; `restore` takes it back, checking every package again (expired,
 * foreign or spent ones are dropped) and dropping expired or mismatched mail.
 */
import { describe, expect, it } from 'vitest';
import { cipherSuite } from '../../src-core/crypto/index.js';
import { hexOf } from '../../src-core/delivery/ciphertextLog.js';
import {
  KeyPackageHolder,
  KeyPackagePublisher,
  fetchKeyPackage,
} from '../../src-core/delivery/keyPackageDirectory.js';
import type { HeldMail } from '../../src-core/delivery/mailbox.js';
import { MailboxHolder, depositMail } from '../../src-core/delivery/mailbox.js';
import { MlsClient } from '../../src-core/mls/client/index.js';
import { basicCredential } from '../mls/groupHarness.js';
import { MemoryRequestNet } from './storeForwardFixture.js';

const suite = cipherSuite(1);
const NOW = BigInt(Math.floor(Date.now() / 1000));

function person(name: string) {
  const signatureKeyPair = suite.generateSignatureKeyPair();
  const client = new MlsClient({ suite, credential: basicCredential(name), signatureKeyPair });
  return { client, signatureKeyPair, owner: signatureKeyPair.publicKey };
}

describe('holders: change reports and restore', () => {
  it('a KeyPackage shelf is reported on each change and restored checked', async () => {
    const net = new MemoryRequestNet();
    const changes: string[] = [];
    let now = NOW;
    const holder = new KeyPackageHolder({
      requests: net.port('h'),
      suite,
      now: () => now,
      onChange: (owner) => {
        changes.push(hexOf(owner));
      },
    });
    const alice = person('alice');
    await new KeyPackagePublisher({ ...alice, requests: net.port('alice') }).distribute(['h'], 3);
    expect(changes).toEqual([hexOf(alice.owner)]);
    const taken = await fetchKeyPackage(net.port('carol'), suite, ['h'], alice.owner);
    expect(changes).toHaveLength(2);
    const stored = holder.shelf(alice.owner)!;
    expect(stored.oneTime).toHaveLength(2);
    expect(stored.spent.has(hexOf(taken.ref))).toBe(true);

    // A fresh holder (a restart) takes it back; a package of someone else slipped into the shelf
    // and the spent one are refused.
    const bob = person('bob');
    const bobs = bob.client.createKeyPackages({ count: 1, lastResort: false }).oneTime;
    const fresh = new KeyPackageHolder({ requests: net.port('h2'), suite, now: () => now });
    const kept = fresh.restore({
      ...stored,
      oneTime: [...stored.oneTime, bobs[0]!.message, taken.message],
    });
    expect(kept).toBe(3); // two one-time packages and the last-resort one
    expect(fresh.held(alice.owner)).toEqual({ oneTime: 2, lastResort: true });
    expect(fresh.held(bob.owner)).toEqual({ oneTime: 0, lastResort: false });
    const next = await fetchKeyPackage(net.port('carol'), suite, ['h2'], alice.owner);
    expect(hexOf(next.ref)).not.toBe(hexOf(taken.ref));

    // Past their lifetime, nothing comes back.
    now = taken.notAfter + 1n;
    const late = new KeyPackageHolder({ requests: net.port('h3'), suite, now: () => now });
    expect(late.restore(stored)).toBe(0);
    expect(late.held(alice.owner)).toEqual({ oneTime: 0, lastResort: false });
  });

  it('a mailbox is reported before the deposit is answered and restored without bad items', async () => {
    const net = new MemoryRequestNet();
    let now = NOW;
    let saved: HeldMail[] = [];
    const recipient = suite.generateSignatureKeyPair().publicKey;
    const holder: MailboxHolder = new MailboxHolder({
      requests: net.port('h'),
      self: 'h',
      now: () => now,
      onChange: async (r) => {
        await new Promise((res) => setTimeout(res, 5));
        saved = holder.mailbox(r);
      },
    });
    const reports = await depositMail(net.port('alice'), ['h'], recipient, new Uint8Array([1, 2]));
    expect(reports).toEqual([{ holder: 'h' }]);
    expect(saved).toHaveLength(1); // stored before the depositor heard "held"

    const forged: HeldMail = { ...saved[0]!, payload: new Uint8Array([9]) }; // id no longer fits
    const expired: HeldMail = {
      ...saved[0]!,
      id: saved[0]!.id.map((b) => b ^ 1),
      expiresAt: now - 1n,
    };
    const fresh = new MailboxHolder({ requests: net.port('h2'), self: 'h2', now: () => now });
    expect(fresh.restore(recipient, [saved[0]!, forged, expired, saved[0]!])).toBe(1);
    expect(fresh.count(recipient)).toBe(1);
    now = saved[0]!.expiresAt + 1n;
    expect(fresh.count(recipient)).toBe(0);
  });
});
