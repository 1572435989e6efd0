// Device linking: the happy path (with and without carrying the user key), and each way a man in
// the middle or a stale code is stopped, with its typed outcome.
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src-core/codec/index.js';
import type { IdentityErrorCode, LinkSession } from '../../src-core/identity/index.js';
import {
  IdentityError,
  LINK_TEXT_PREFIX,
  acceptLinkGrant,
  confirmLink,
  createLinkOffer,
  createCredentialValidator,
  destroyLinkSession,
  findDevice,
  grantLink,
  linkConfirmCodec,
  linkGrantCodec,
  linkOfferQrSvg,
  newLeafCredential,
  readLinkOffer,
  verifyIdentityRecord,
} from '../../src-core/identity/index.js';
import { DAY, Records, T0, YEAR, makeUser, recordOf, suite1 } from './chainFixtures.js';

function codeOf(f: () => unknown): IdentityErrorCode | 'no error' | 'other error' {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e instanceof IdentityError ? e.code : 'other error';
  }
}

const NOW = T0 + DAY;
const alice = makeUser(0x11, 'Alice', [{ seed: 0x21, name: 'laptop' }]);
const mallory = makeUser(0x41, 'Mallory', [{ seed: 0x51, name: 'laptop' }]);
const address = new TextEncoder().encode('/ip4/127.0.0.1/tcp/4001');

function newSession(): LinkSession {
  return createLinkOffer({ deviceName: 'phone', address, expiresAt: NOW + 600n });
}

function grantFor(session: LinkSession, carryUserKey = false) {
  const { offer, bytes } = readLinkOffer(session.text, NOW);
  return grantLink({
    offer,
    offerBytes: bytes,
    userKey: alice.key,
    currentRecord: recordOf(alice),
    now: NOW,
    deviceExpiresAt: NOW + YEAR,
    carryUserKey,
  });
}

describe('device linking', () => {
  it('links a device: next record lists it, confirmation checks out, credential validates', () => {
    const session = newSession();
    expect(session.text.startsWith(LINK_TEXT_PREFIX)).toBe(true);
    expect(session.text).toMatch(/^[A-Z0-9:-]+$/); // QR alphanumeric mode
    const { grant, pending } = grantFor(session);
    const accepted = acceptLinkGrant(session, grant, NOW);
    expect(accepted.userKey).toBeUndefined();
    expect(accepted.record.sequence).toBe(2n);
    expect(accepted.deviceCertificate.deviceName).toBe('phone');
    const published = confirmLink(pending, accepted.confirm);
    expect(published).toBe(pending.record);
    expect(codeOf(() => verifyIdentityRecord(published))).toBe('no error');
    expect(findDevice(published, session.deviceKey.publicKey)).toBeDefined();
    expect(published.devices).toHaveLength(2);

    // The new device can now make leaves that validate against the published record.
    const leaf = newLeafCredential({
      suite: suite1,
      userKey: published.userKey,
      deviceCertificate: accepted.deviceCertificate,
      deviceKey: session.deviceKey,
      notBefore: NOW,
      notAfter: NOW + 30n * DAY,
    });
    const v = createCredentialValidator({
      records: new Records().put(published),
      now: () => NOW,
    });
    const r = v.checkCredential(leaf.credential, leaf.signatureKeyPair.publicKey);
    expect(r.ok && r.deviceName).toBe('phone');
    destroyLinkSession(session);
    expect(session.offer.linkSecret.every((b) => b === 0)).toBe(true);
  });

  it('carries the user key when asked, encrypted', () => {
    const session = newSession();
    const { grant } = grantFor(session, true);
    const hex = Buffer.from(grant).toString('hex');
    expect(hex.includes(Buffer.from(alice.key.privateKey).toString('hex'))).toBe(false);
    const accepted = acceptLinkGrant(session, grant, NOW);
    expect(accepted.userKey?.publicKey).toEqual(alice.key.publicKey);
    expect(accepted.userKey?.privateKey).toEqual(alice.key.privateKey);
  });

  it('a grant made by someone who saw only part of the code is refused', () => {
    const session = newSession();
    // Mallory saw the device key, name, expiry and address, but not the secret: she grants a code
    // she rebuilt with a guessed secret.
    const guessed = createLinkOffer({
      deviceName: 'phone',
      address,
      expiresAt: NOW + 600n,
      deviceKey: session.deviceKey,
    });
    const { grant } = grantLink({
      offer: guessed.offer,
      offerBytes: guessed.offerBytes,
      userKey: mallory.key,
      currentRecord: recordOf(mallory),
      now: NOW,
      deviceExpiresAt: NOW + YEAR,
    });
    expect(codeOf(() => acceptLinkGrant(session, grant, NOW))).toBe('link_mismatch');
    // Even with the real code's hash put in, the MAC needs the secret.
    const patched = encode(linkGrantCodec, {
      ...decode(linkGrantCodec, grant),
      offerHash: sha256(session.offerBytes),
    });
    expect(codeOf(() => acceptLinkGrant(session, patched, NOW))).toBe('link_bad_mac');
  });

  it('a grant changed in transit is refused: link_bad_mac', () => {
    const session = newSession();
    const { grant } = grantFor(session, true);
    const g = decode(linkGrantCodec, grant);
    const swapped = encode(linkGrantCodec, { ...g, record: recordOf(mallory) });
    expect(codeOf(() => acceptLinkGrant(session, swapped, NOW))).toBe('link_bad_mac');
    const noKey = encode(linkGrantCodec, { ...g, userKey: undefined });
    expect(codeOf(() => acceptLinkGrant(session, noKey, NOW))).toBe('link_bad_mac');
    expect(codeOf(() => acceptLinkGrant(session, grant, NOW))).toBe('no error');
  });

  it('a confirmation needs the secret, the device key, and the right grant', () => {
    const session = newSession();
    const { grant, pending } = grantFor(session);
    const { confirm } = acceptLinkGrant(session, grant, NOW);
    const c = decode(linkConfirmCodec, confirm);
    const badMac = encode(linkConfirmCodec, { ...c, mac: new Uint8Array(32) });
    expect(codeOf(() => confirmLink(pending, badMac))).toBe('link_bad_mac');
    const sig = Uint8Array.from(c.signature);
    sig[0]! ^= 1;
    const badSig = encode(linkConfirmCodec, { ...c, signature: sig });
    expect(codeOf(() => confirmLink(pending, badSig))).toBe('bad_signature');
    const other = encode(linkConfirmCodec, { ...c, grantHash: new Uint8Array(32) });
    expect(codeOf(() => confirmLink(pending, other))).toBe('link_mismatch');
    // A confirmation made for another link does not confirm this one.
    const session2 = newSession();
    const second = grantFor(session2);
    const confirm2 = acceptLinkGrant(session2, second.grant, NOW).confirm;
    expect(codeOf(() => confirmLink(pending, confirm2))).toBe('link_mismatch');
    expect(codeOf(() => confirmLink(pending, confirm))).toBe('no error');
  });

  it('codes: expiry, typos, versions, case and spaces', () => {
    const session = newSession();
    expect(codeOf(() => readLinkOffer(session.text, NOW + 601n))).toBe('link_expired');
    const spaced = session.text.toLowerCase().replace(/(.{8})/g, '$1 ');
    expect(readLinkOffer(spaced, NOW).offer.deviceName).toBe('phone');
    const last = session.text.at(-1) === 'A' ? 'B' : 'A';
    expect(codeOf(() => readLinkOffer(session.text.slice(0, -1) + last, NOW))).toBe('malformed');
    expect(codeOf(() => readLinkOffer('PARLEY-LINK:2:AAAA', NOW))).toBe('unsupported_version');
    expect(codeOf(() => readLinkOffer('PARLEY:1:AAAA', NOW))).toBe('malformed');
    expect(codeOf(() => readLinkOffer(LINK_TEXT_PREFIX + '0189', NOW))).toBe('malformed');
    const { offer, bytes } = readLinkOffer(session.text, NOW);
    expect(
      codeOf(() =>
        grantLink({
          offer,
          offerBytes: bytes,
          userKey: alice.key,
          currentRecord: recordOf(alice),
          now: NOW + 601n,
          deviceExpiresAt: NOW + YEAR,
        }),
      ),
    ).toBe('link_expired');
  });

  it('hostile grant and confirmation bytes give IdentityError only', () => {
    const session = newSession();
    const { grant, pending } = grantFor(session);
    const { confirm } = acceptLinkGrant(session, grant, NOW);
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(), (at, x, cut) => {
        for (const [bytes, run] of [
          [grant, (b: Uint8Array) => acceptLinkGrant(session, b, NOW)],
          [
            confirm,
            (b: Uint8Array) =>
              confirmLink({ ...pending, confirmKey: Uint8Array.from(pending.confirmKey) }, b),
          ],
        ] as const) {
          const flipped = Uint8Array.from(bytes);
          flipped[at % flipped.length]! ^= x;
          for (const b of [flipped, bytes.subarray(0, cut % bytes.length)]) {
            const code = codeOf(() => run(b));
            expect(code).not.toBe('other error');
            expect(code).not.toBe('no error');
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('draws the code as a QR', async () => {
    const svg = await linkOfferQrSvg(newSession().text);
    expect(svg.startsWith('<svg')).toBe(true);
  });
});
