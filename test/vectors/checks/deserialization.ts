import { Reader, Writer, readVarint, writeVarint } from '../../../src-core/codec/index.js';
import { hex, toHex } from '../../support/shared.js';
import type { VectorCheck } from '../registry.js';

interface Case {
  vlbytes_header: string;
  length: number;
}

const check: VectorCheck<Case> = {
  file: 'mls-test-vectors/deserialization.json',
  label: (tc, i) => `#${i} length ${tc.length}`,
  check(tc) {
    const r = new Reader(hex(tc.vlbytes_header));
    const got = readVarint(r);
    r.expectEnd();
    if (got !== tc.length) throw new Error(`decoded ${got}, want ${tc.length}`);
    const w = new Writer();
    writeVarint(w, tc.length);
    const enc = toHex(w.finish());
    if (enc !== tc.vlbytes_header) throw new Error(`encoded ${enc}, want ${tc.vlbytes_header}`);
  },
};

export default check;
