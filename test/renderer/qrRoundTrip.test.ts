/**
 * Every QR the app shows, drawn to pixels and read back by jsQR (the decoder the UI's camera
 * scanner uses): the bytes that come out are the bytes that went in. The other tests check the
 * payloads and the module matrices; this checks that what is drawn is a symbol a scanner reads.
 *
 * Payloads: an invite code and a device-link code as the app ships them to the UI (`qrOfText`,
 * alphanumeric mode) and as the CLI prints them (qrcode's own mode choice, as `inviteQrSvg` and
 * `inviteQrTerminal` use), and a safety-number payload (binary, byte mode), which must then
 * compare as a match on the other side.
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { ed25519 } from '@noble/curves/ed25519.js';
import jsqr from 'jsqr';
import { create as createQr } from 'qrcode';
import { describe, expect, it } from 'vitest';
import type { QrMatrix } from '../../src-core/app/api.js';
import { LINK_CODE_PREFIX } from '../../src-core/app/devicesService.js';
import { qrOfText } from '../../src-core/app/dto.js';
import {
  compareSafetyQr,
  safetyNumber,
  safetyQrMatrix,
  safetyQrPayload,
} from '../../src-core/identity/safetyNumber.js';
import { encodeInvite, INVITE_SECRET_BYTES } from '../../src-core/net/inviteCode.js';
import { greyToRgba, qrToGrey } from './qrImage.js';
import type { QrModules } from './qrImage.js';

// jsqr is CommonJS whose module object is the function, with `.default` pointing at itself;
// under NodeNext the default import is typed as the module object.
const jsQR = jsqr.default;

/** Pixels per module: a small on-screen QR and a comfortable one. */
const SCALES = [2, 5];

function modulesOf(qr: QrMatrix): QrModules {
  return { size: qr.size, modules: Buffer.from(qr.modules, 'base64url') };
}

/** Draws the symbol, decodes it, and returns what jsQR read (it throws if nothing). */
function scan(qr: QrModules, scale: number): { text: string; bytes: Uint8Array } {
  const grey = qrToGrey(qr, scale);
  const found = jsQR(greyToRgba(grey), grey.width, grey.height, {
    inversionAttempts: 'dontInvert',
  });
  if (found === null) throw new Error(`jsQR found no symbol at ${scale} px per module`);
  return { text: found.data, bytes: Uint8Array.from(found.binaryData) };
}

async function realInviteCode(prefix = ''): Promise<string> {
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
  // What a node on loopback advertises: TCP and WebSockets on v4 and v6.
  const addrs = [
    '/ip4/127.0.0.1/tcp/40123',
    '/ip4/127.0.0.1/tcp/40124/ws',
    '/ip6/::1/tcp/40125',
    '/ip6/::1/tcp/40126/ws',
  ];
  const secret = crypto.getRandomValues(new Uint8Array(INVITE_SECRET_BYTES));
  return prefix + encodeInvite({ peerId, addrs, secret, expiresAtMs: Date.now() + 3_600_000 });
}

describe('QR codes drawn and scanned back', () => {
  it('an invite code, as the UI draws it and as the CLI prints it', async () => {
    const code = await realInviteCode();
    const expected = new TextEncoder().encode(code);
    const drawnByUi = modulesOf(qrOfText(code));
    const auto = createQr(code, { errorCorrectionLevel: 'M' });
    const printed = { size: auto.modules.size, modules: auto.modules.data };
    for (const qr of [drawnByUi, printed]) {
      for (const scale of SCALES) {
        const read = scan(qr, scale);
        expect(read.text).toBe(code);
        expect(read.bytes).toEqual(expected);
      }
    }
  });

  it('a device-link code', async () => {
    const code = await realInviteCode(LINK_CODE_PREFIX);
    for (const scale of SCALES) {
      const read = scan(modulesOf(qrOfText(code)), scale);
      expect(read.text).toBe(code);
      expect(read.bytes).toEqual(new TextEncoder().encode(code));
    }
  });

  it('a safety-number payload: the same bytes, and a match on the other side', () => {
    const alice = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
    const bob = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
    const shown = safetyQrPayload(safetyNumber(alice, bob));
    for (const scale of SCALES) {
      const read = scan(safetyQrMatrix(shown), scale);
      expect(read.bytes).toEqual(shown);
      expect(compareSafetyQr(read.bytes, safetyNumber(bob, alice))).toEqual({ kind: 'match' });
    }
    // A payload that differs in one bit reads back as drawn, and then as a mismatch.
    const altered = shown.slice();
    altered[10]! ^= 1;
    const read = scan(safetyQrMatrix(altered), SCALES[0]!);
    expect(read.bytes).toEqual(altered);
    expect(compareSafetyQr(read.bytes, safetyNumber(bob, alice))).toMatchObject({
      kind: 'mismatch',
      theirKeyDiffers: true,
    });
  });

  it('a picture with no symbol reads as nothing', () => {
    const blank = { size: 21, modules: new Uint8Array(21 * 21) };
    expect(() => scan(blank, 4)).toThrow('jsQR found no symbol');
  });
});
