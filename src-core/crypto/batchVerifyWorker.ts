/**
 * The source of a batch-verification worker thread, run with `new Worker(source, { eval: true })`.
 *
 * It is plain JavaScript in a string so that it runs as it is in Node and in Electron, with no
 * loader (tsx) and no file next to the compiled module to find at run time. It uses node:crypto
 * only, and does the one step that costs: importing each public key and verifying. Everything
 * that decides which bytes are acceptable (key and signature lengths, strict DER of ECDSA
 * signatures, the range of r and s) happens on the calling thread with the same functions as the
 * synchronous path (batchVerify.ts), so both paths accept exactly the same signatures. Keys are
 * imported the way nodeKeys.ts does it: JWK for OKP keys and P-256, SPKI DER for P-384 and P-521,
 * and the last 256 imported are kept.
 *
 * Message in: { id, scheme, buf, count } where `scheme` is
 *   { kind: 'okp', crv } or { kind: 'ec', crv, hash, spki } (spki: hex prefix, or '' for JWK),
 * and `buf` holds `count` records [u32 pkLen][u32 msgLen][u32 sigLen][pk][msg][sig] (big-endian).
 * Message out: { id, ok } with `ok` a Uint8Array of 0/1, one per record, transferred.
 */
export const BATCH_VERIFY_WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');

function importKey(scheme, pk) {
  if (scheme.kind === 'okp') {
    return crypto.createPublicKey({
      key: { kty: 'OKP', crv: scheme.crv, x: pk.toString('base64url') },
      format: 'jwk',
    });
  }
  if (scheme.spki !== '') {
    const der = Buffer.concat([Buffer.from(scheme.spki, 'hex'), pk]);
    return crypto.createPublicKey({ key: der, format: 'der', type: 'spki' });
  }
  const n = (pk.length - 1) / 2;
  return crypto.createPublicKey({
    key: {
      kty: 'EC',
      crv: scheme.crv,
      x: pk.subarray(1, 1 + n).toString('base64url'),
      y: pk.subarray(1 + n).toString('base64url'),
    },
    format: 'jwk',
  });
}

// Message batches carry a few senders' keys many times over: a small cache of imported keys
// (public, so nothing to wipe) saves the JWK import (~8 µs) on all but the first of each.
const KEY_CACHE_SIZE = 256;
const keys = new Map();

function cachedKey(scheme, pk) {
  const id = scheme.crv + ':' + pk.toString('hex');
  let key = keys.get(id);
  if (key === undefined) {
    key = importKey(scheme, pk);
    if (keys.size >= KEY_CACHE_SIZE) keys.delete(keys.keys().next().value);
    keys.set(id, key);
  }
  return key;
}

function verifyOne(scheme, pk, msg, sig) {
  try {
    const key = cachedKey(scheme, pk);
    if (scheme.kind === 'okp') return crypto.verify(null, msg, key, sig);
    return crypto.verify(scheme.hash, msg, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
}

parentPort.on('message', (job) => {
  const { id, scheme, buf, count } = job;
  const bytes = Buffer.from(buf);
  const view = new DataView(buf);
  const ok = new Uint8Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const pkLen = view.getUint32(at);
    const msgLen = view.getUint32(at + 4);
    const sigLen = view.getUint32(at + 8);
    at += 12;
    const pk = bytes.subarray(at, at + pkLen);
    at += pkLen;
    const msg = bytes.subarray(at, at + msgLen);
    at += msgLen;
    const sig = bytes.subarray(at, at + sigLen);
    at += sigLen;
    ok[i] = verifyOne(scheme, pk, msg, sig) ? 1 : 0;
  }
  parentPort.postMessage({ id, ok }, [ok.buffer]);
});
`;
