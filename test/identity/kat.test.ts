// Known-answer tests: the identity formats are frozen. Keys come from fixed seeds, times are
// fixed, and Ed25519 is deterministic, so each encoding below must come out byte for byte. A
// change to any of them is a new format version, not an edit of these strings.
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { encode } from '../../src-core/codec/index.js';
import {
  decodeDeviceCertificate,
  decodeIdentityRecord,
  decodeLeafCertificate,
  decodeParleyIdentity,
  encodeDeviceCertificate,
  encodeIdentityRecord,
  encodeLeafCertificate,
  nextIdentityRecord,
  parleyCredential,
  parseParleyCredential,
  verifyIdentityRecord,
  verifyParleyChain,
} from '../../src-core/identity/index.js';
import { credentialCodec } from '../../src-core/mls/credential.js';
import { hex, toHex } from '../support/shared.js';
import { DAY, T0, identityOf, leafCert, leafKey, makeUser, recordOf } from './chainFixtures.js';

const USER_KEY = 'd04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737';
const DEVICE_KEY = '884b8857f4eaa1613c61504db34d4beaf346517a0e31de3cddd4d9b4201d9d0b';
const LEAF_KEY = '48075a597e721a156e2e0799de5cc0c5324dc6e7eaf1cdd46250868ec53215dd';

// version 0001 | device_key | "laptop" | created_at | expires_at | signature<64>
const DEVICE_CERT =
  '0001' +
  DEVICE_KEY +
  '066c6170746f70' +
  '000000006b49d200' +
  '000000006d2b0580' +
  '4040' +
  '71e2d01d115dcf912d613cbe7a6fe982623806774ba3f907cda8df840533f72c' +
  '61baf4334bd317d3104ef5ac8255fc18bdc1b4d2f886bb5c1defe09d00097407';

// version 0001 | suite 0001 | signature_key<32> | group_id "group-1" | not_before | not_after | sig
const LEAF_CERT =
  '0001' +
  '0001' +
  '20' +
  LEAF_KEY +
  '0767726f75702d31' +
  '000000006b49d200' +
  '000000006bc07900' +
  '4040' +
  '4634cf940f202235b14d9e354b8b3992177d9d4b3eac817dbefe82675dac3ac1' +
  '66ce92a6b4f00afd6dbe20d32c12581114afd7dda5b92effdc60518adfaf0805';

// version | user_key | sequence 2 | issued_at | "Alice" | devices<0x7b>: the laptop's cert |
// revoked<0x28>: the phone's key, revoked at T0 + 1 day | signature<64>
const RECORD =
  '0001' +
  USER_KEY +
  '0000000000000002' +
  '000000006b4b2380' +
  '05416c696365' +
  '407b' +
  DEVICE_CERT +
  '28' +
  'a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f0' +
  '000000006b4b2380' +
  '4040' +
  '67d33d05f18e49ce600d9f95beb84e316c0c333f7a4d5059b938cdd3f1b9d1d5' +
  '7e454a4bdd2e87a067cc38f67e6e65ff8bb9713964bbac973db2aba3176fac02';

// Credential: credential_type basic (0001) | identity<0x11c> = ParleyIdentity
// (version | user_key | DeviceCertificate | LeafCertificate)
const CREDENTIAL = '0001' + '411c' + '0001' + USER_KEY + DEVICE_CERT + LEAF_CERT;

const alice = makeUser(0x11, 'Alice', [
  { seed: 0x21, name: 'laptop' },
  { seed: 0x22, name: 'phone' },
]);
const laptop = alice.devices[0]!;
const phone = alice.devices[1]!;
const leaf = leafCert(laptop, leafKey(0x31).publicKey, {
  groupId: new TextEncoder().encode('group-1'),
});

describe('identity formats: known answers', () => {
  it('keys from fixed seeds', () => {
    expect(toHex(alice.key.publicKey)).toBe(USER_KEY);
    expect(toHex(laptop.key.publicKey)).toBe(DEVICE_KEY);
    expect(toHex(leafKey(0x31).publicKey)).toBe(LEAF_KEY);
    // The same keys as RFC 8032 Ed25519 computes them independently of our crypto layer.
    expect(toHex(ed25519.getPublicKey(new Uint8Array(32).fill(0x11)))).toBe(USER_KEY);
  });

  it('DeviceCertificate', () => {
    expect(toHex(encodeDeviceCertificate(laptop.cert))).toBe(DEVICE_CERT);
    expect(decodeDeviceCertificate(hex(DEVICE_CERT))).toEqual(laptop.cert);
  });

  it('the device certificate signature is Ed25519 over SignContent("Parley 1.0 DeviceCertificate", TBS)', () => {
    // Built by hand from the struct definitions, not with the codecs under test.
    const label = new TextEncoder().encode('Parley 1.0 DeviceCertificate');
    const tbs = hex(
      USER_KEY + '0001' + DEVICE_KEY + '066c6170746f70000000006b49d200000000006d2b0580',
    );
    expect(label.length).toBeLessThan(64); // a one-byte varint length
    expect(tbs.length).toBe(89); // a two-byte varint length: 0x40 0x59
    const signContent = new Uint8Array([label.length, ...label, 0x40, 0x59, ...tbs]);
    const sig = hex(DEVICE_CERT).subarray(hex(DEVICE_CERT).length - 64);
    expect(ed25519.verify(sig, signContent, hex(USER_KEY))).toBe(true);
  });

  it('LeafCertificate', () => {
    expect(toHex(encodeLeafCertificate(leaf))).toBe(LEAF_CERT);
    expect(decodeLeafCertificate(hex(LEAF_CERT))).toEqual(leaf);
  });

  it('IdentityRecord', () => {
    const r2 = nextIdentityRecord(alice.key, recordOf(alice), {
      revokeDevices: [phone.key.publicKey],
      issuedAt: T0 + DAY,
    });
    expect(toHex(phone.key.publicKey)).toBe(
      'a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f0',
    );
    expect(toHex(encodeIdentityRecord(r2))).toBe(RECORD);
    const decoded = decodeIdentityRecord(hex(RECORD));
    expect(decoded).toEqual(r2);
    expect(() => verifyIdentityRecord(decoded)).not.toThrow();
  });

  it('Credential (BasicCredential holding a ParleyIdentity)', () => {
    const credential = parleyCredential(identityOf(alice, laptop, leaf));
    expect(toHex(encode(credentialCodec, credential))).toBe(CREDENTIAL);
    const identity = parseParleyCredential(credential);
    expect(identity).toEqual(decodeParleyIdentity(hex(CREDENTIAL).subarray(4)));
    expect(() => verifyParleyChain(identity, hex(LEAF_KEY), 1)).not.toThrow();
  });
});
