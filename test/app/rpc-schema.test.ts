/**
 * The RPC schema on its own: every method and event of the contract has a schema (the compiler
 * checks their types match; this checks the tables at run time), and request parsing gives the
 * documented error for each kind of bad frame.
 */
import { describe, expect, it } from 'vitest';
import { APP_ERROR_CODES } from '../../src-core/app/errors.js';
import {
  EVENT_NAMES,
  METHODS,
  METHOD_NAMES,
  checkEvent,
  parseFrameText,
  parseRequest,
} from '../../src-core/app/rpc/schema.js';

describe('rpc schema', () => {
  it('has a params and a result schema for every method, named group.call', () => {
    // profile 4, identity 2, devices 4, contacts 7, groups 14, messages 9, attachments 4, network 3
    expect(METHOD_NAMES.length).toBe(47);
    for (const m of METHOD_NAMES) {
      expect(m).toMatch(
        /^(profile|identity|devices|contacts|groups|messages|attachments|network)\.[a-zA-Z]+$/,
      );
      expect(METHODS[m].params).toBeDefined();
      expect(METHODS[m].result).toBeDefined();
    }
    expect(EVENT_NAMES).toContain('contact.key_changed');
    expect(new Set(APP_ERROR_CODES).size).toBe(APP_ERROR_CODES.length);
  });

  it('parses a good request and refuses bad ones with the right code', () => {
    expect(
      parseRequest({ v: 1, id: 7, method: 'groups.members', params: { groupId: 'g' } }),
    ).toEqual({ ok: true, id: 7, method: 'groups.members', params: { groupId: 'g' } });
    const bad = (raw: unknown) => {
      const r = parseRequest(raw);
      if (r.ok) throw new Error('accepted');
      return [r.id, r.error.code];
    };
    expect(bad({ v: 1, id: 1, method: 'groups.members' })).toEqual([1, 'bad_request']);
    expect(bad({ v: 1, id: 1, method: 'groups.members', params: { groupId: '' } })).toEqual([
      1,
      'bad_request',
    ]);
    expect(bad({ v: 1, id: 1.5, method: 'profile.status' })).toEqual([null, 'bad_request']);
    expect(bad({ v: 1, id: -1, method: 'profile.status' })).toEqual([null, 'bad_request']);
    expect(bad({ v: 1, id: 'x'.repeat(65), method: 'profile.status' })).toEqual([
      null,
      'bad_request',
    ]);
    expect(bad({ v: 1, id: 2, method: 'toString' })).toEqual([2, 'unknown_method']);
    expect(
      bad({
        v: 1,
        id: 3,
        method: 'attachments.send',
        params: {
          groupId: 'g',
          source: { kind: 'bytes', name: 'a', mime: 'text/plain', bytes: '+/=' },
        },
      }),
    ).toEqual([3, 'bad_request']);
    expect(
      bad({
        v: 1,
        id: 4,
        method: 'attachments.send',
        params: { groupId: 'g', source: { kind: 'url', url: 'http://x' } },
      }),
    ).toEqual([4, 'bad_request']);
  });

  it('bounds frame text before parsing it', () => {
    expect(() => parseFrameText('x'.repeat(11), 10)).toThrow(
      expect.objectContaining({ code: 'too_large' }),
    );
    // 4 UTF-16 units, 12 UTF-8 bytes
    expect(() => parseFrameText('"€€€"', 10)).toThrow(
      expect.objectContaining({ code: 'too_large' }),
    );
    expect(() => parseFrameText(new Uint8Array(3), 10)).toThrow(
      expect.objectContaining({ code: 'bad_request' }),
    );
    expect(parseFrameText('{"a":1}', 10)).toEqual({ a: 1 });
  });

  it('checks event data against its event', () => {
    expect(checkEvent({ event: 'profile.locked', data: { reason: 'user' } })).toEqual({
      event: 'profile.locked',
      data: { reason: 'user' },
    });
    expect(() =>
      checkEvent({ event: 'profile.locked', data: { reason: 'user', extra: 1 } }),
    ).toThrow(expect.objectContaining({ code: 'bad_request' }));
    expect(() => checkEvent({ event: 'constructor', data: {} })).toThrow(
      expect.objectContaining({ code: 'bad_request' }),
    );
  });
});
