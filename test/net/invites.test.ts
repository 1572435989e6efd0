import { randomBytes } from 'node:crypto';
import { create as qrCreate } from 'qrcode';
import { afterEach, describe, expect, it } from 'vitest';
import {
  INVITE_TEXT_PREFIX,
  RequestRefused,
  decodeInvite,
  encodeInvite,
  inviteQrSvg,
} from '../../src-core/net/index.js';
import { bytes, startNode, stopAll, text, waitFor } from './helpers.js';

afterEach(stopAll);

const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA';

function sample(overrides: Partial<Parameters<typeof encodeInvite>[0]> = {}) {
  return {
    peerId: PEER,
    addrs: ['/ip4/192.168.1.20/tcp/4001', '/ip4/192.168.1.20/tcp/4002/ws'],
    secret: new Uint8Array(randomBytes(16)),
    expiresAtMs: Date.now() + 60_000,
    ...overrides,
  };
}

describe('invite codes', () => {
  it('round-trip as text, tolerating spaces, line breaks and lower case', () => {
    const inv = sample();
    const code = encodeInvite(inv);
    expect(code.startsWith(INVITE_TEXT_PREFIX)).toBe(true);
    expect(code).toMatch(/^PARLEY:1:[A-Z2-7]+$/);
    const messy = code.toLowerCase().replace(/(.{20})/g, '$1 \n');
    const back = decodeInvite(messy);
    expect(back.peerId).toBe(PEER);
    expect(back.addrs).toEqual(inv.addrs.map((a) => `${a}/p2p/${PEER}`));
    expect(back.secret).toEqual(inv.secret);
    expect(back.expiresAtMs).toBe(inv.expiresAtMs);
  });

  it('fit the QR alphanumeric mode, so the image stays small', async () => {
    const code = encodeInvite(sample());
    const qr = qrCreate(code, { errorCorrectionLevel: 'M' });
    expect(qr.segments.map((s) => s.mode.id)).toEqual(['Alphanumeric']);
    expect(qr.version).toBeLessThanOrEqual(10);
    expect(await inviteQrSvg(code)).toMatch(/^<svg/);
  });

  it('reject typos, other formats, expiry and addresses naming another peer', () => {
    const code = encodeInvite(sample());
    const i = INVITE_TEXT_PREFIX.length + 10;
    const typo = code.slice(0, i) + (code[i] === 'A' ? 'B' : 'A') + code.slice(i + 1);
    expect(() => decodeInvite(typo)).toThrow(expect.objectContaining({ code: 'invite_invalid' }));
    expect(() => decodeInvite('hello')).toThrow(
      expect.objectContaining({ code: 'invite_invalid' }),
    );
    expect(() => decodeInvite('PARLEY:1:!!!!')).toThrow(
      expect.objectContaining({ code: 'invite_invalid' }),
    );
    expect(() => decodeInvite('PARLEY:9:AAAA')).toThrow(
      expect.objectContaining({ code: 'unsupported_version' }),
    );
    expect(() => decodeInvite(code.slice(0, code.length - 3))).toThrow(
      expect.objectContaining({ code: 'invite_invalid' }),
    );
    const old = encodeInvite(sample({ expiresAtMs: Date.now() - 10 * 60_000 }));
    expect(() => decodeInvite(old)).toThrow(expect.objectContaining({ code: 'invite_expired' }));
    expect(() =>
      encodeInvite(
        sample({
          addrs: ['/ip4/10.0.0.1/tcp/1/p2p/12D3KooWA1J1u2kNt5E7ZNRTN3N6T9JdsGa8spYaYXnHm9ee3d1R'],
        }),
      ),
    ).toThrow(expect.objectContaining({ code: 'invite_invalid' }));
    expect(() => encodeInvite(sample({ secret: new Uint8Array(8) }))).toThrow();
  });
});

describe('redeeming an invite', () => {
  it('makes inviter and invitee contacts, exchanging introductions', async () => {
    const inviter = await startNode();
    const invitee = await startNode();
    const seen: string[] = [];
    inviter.invites.setRedeemHandler((peerId, payload) => {
      seen.push(`${peerId}:${text(payload)}`);
      return bytes('welcome');
    });
    const { code } = inviter.invites.create();
    const redeemedEvent = inviter.events.once('invite:redeemed', (e) => e.role === 'inviter');
    const result = await invitee.invites.redeem(code, bytes('hello, I am the invitee'));
    expect(result.peerId).toBe(inviter.peerId);
    expect(text(result.payload)).toBe('welcome');
    expect(seen).toEqual([`${invitee.peerId}:hello, I am the invitee`]);
    expect((await redeemedEvent).peerId).toBe(invitee.peerId);
    expect((await inviter.addressBook.get(invitee.peerId))?.contact).toBe(true);
    expect((await invitee.addressBook.get(inviter.peerId))?.contact).toBe(true);
    expect(inviter.invites.pendingCount).toBe(0);
  });

  it('is single-use by default, and a wrong secret gets the same refusal', async () => {
    const inviter = await startNode();
    const first = await startNode();
    const second = await startNode();
    const { code } = inviter.invites.create();
    await first.invites.redeem(code);
    await expect(second.invites.redeem(code)).rejects.toMatchObject({ code: 'invite_rejected' });
    expect(await inviter.addressBook.get(second.peerId).then((r) => r?.contact ?? false)).toBe(
      false,
    );

    // A forged code: right peer and addresses, secret guessed.
    const real = decodeInvite(inviter.invites.create().code);
    const forged = encodeInvite({ ...real, secret: new Uint8Array(randomBytes(16)) });
    await expect(second.invites.redeem(forged)).rejects.toMatchObject({ code: 'invite_rejected' });
    expect(inviter.invites.pendingCount).toBe(1);
  });

  it("the inviter enforces its own expiry, whatever the invitee's clock says", async () => {
    const inviter = await startNode();
    const invitee = await startNode();
    const { code, expiresAtMs } = inviter.invites.create({ ttlMs: 150 });
    await waitFor(() => Date.now() > expiresAtMs + 20, 'the invite to expire');
    // The invitee's own check is skipped by claiming an earlier time: the inviter still refuses.
    await expect(
      invitee.invites.redeem(code, undefined, { nowMs: expiresAtMs - 100 }),
    ).rejects.toMatchObject({ code: 'invite_rejected' });
  });

  it('lets the layer above refuse, keeping the invite usable', async () => {
    const inviter = await startNode();
    const invitee = await startNode();
    let allow = false;
    inviter.invites.setRedeemHandler(() => {
      if (!allow) throw new RequestRefused('not_now');
      return new Uint8Array(0);
    });
    const { code } = inviter.invites.create();
    await expect(invitee.invites.redeem(code)).rejects.toMatchObject({ code: 'invite_rejected' });
    allow = true;
    await expect(invitee.invites.redeem(code)).resolves.toMatchObject({ peerId: inviter.peerId });
  });

  it('leaves loopback addresses out of codes unless configured', async () => {
    const node = await startNode({ config: { invites: { includeLoopback: false } } });
    expect(() => node.invites.create()).toThrow(expect.objectContaining({ code: 'not_started' }));
  });
});
