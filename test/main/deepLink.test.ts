import { describe, expect, it } from 'vitest';
import { MAX_INVITE_CODE_LENGTH, findDeepLink, parseDeepLink } from '../../src-main/deepLink.js';

const BODY = 'CIAQEIBVGCPKGDWP3O5RQGHDQ7L2SZ6F';

describe('parseDeepLink', () => {
  it.each([
    [`parley://invite/PARLEY:1:${BODY}`],
    [`parley://invite/${BODY}`],
    [`PARLEY://INVITE/parley:1:${BODY.toLowerCase()}`],
    [`parley://invite/PARLEY%3A1%3A${BODY}`],
    [`parley://invite/${BODY}/`],
  ])('accepts %s', (link) => {
    expect(parseDeepLink(link)).toEqual({ kind: 'invite', code: `PARLEY:1:${BODY}` });
  });

  it.each([
    ['another scheme', `https://invite/${BODY}`],
    ['another host', `parley://group/${BODY}`],
    ['no code', 'parley://invite/'],
    ['no path', 'parley://invite'],
    ['a query', `parley://invite/${BODY}?x=1`],
    ['a fragment', `parley://invite/${BODY}#x`],
    ['user info', `parley://me@invite/${BODY}`],
    ['a port', `parley://invite:80/${BODY}`],
    ['extra segments', `parley://invite/${BODY}/more`],
    ['dot segments', `parley://invite/../${BODY}`],
    ['characters outside base32', 'parley://invite/PARLEY:1:ABC0189'],
    ['script', 'parley://invite/%3Cscript%3E'],
    ['quotes', "parley://invite/AB'%22)"],
    ['a bad escape', 'parley://invite/%E0%A4%A'],
    ['a newer version', `parley://invite/PARLEY:2:${BODY}`],
    ['too long', `parley://invite/${'A'.repeat(MAX_INVITE_CODE_LENGTH)}`],
    ['not a URL', 'invite me'],
    ['empty', ''],
  ])('refuses %s', (_what, link) => {
    expect(parseDeepLink(link)).toBeNull();
  });

  it('refuses non-strings', () => {
    expect(parseDeepLink(undefined)).toBeNull();
    expect(parseDeepLink({ href: `parley://invite/${BODY}` })).toBeNull();
  });
});

describe('findDeepLink (a second instance argv)', () => {
  it('finds the link among other arguments, skipping invalid ones', () => {
    const argv = [
      '/usr/bin/parley',
      '--no-sandbox',
      'parley://invite/<bad>',
      `parley://invite/${BODY}`,
    ];
    expect(findDeepLink(argv)).toEqual({ kind: 'invite', code: `PARLEY:1:${BODY}` });
    expect(findDeepLink(['/usr/bin/parley', '.'])).toBeNull();
  });
});
