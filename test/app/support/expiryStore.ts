/**
 * A real level store in a temp folder and the stored attachments and contents that the
 * disappearing-message and attachment-reference tests expire (test/app/policyDisappearing,
 * attachmentExpiryRefs).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { AppContent, AttachmentManifest } from '../../../src-core/app/content/index.js';
import { ContentType } from '../../../src-core/app/content/index.js';
import type { Store } from '../../../src-core/store/index.js';
import { openStore, rawKeySource } from '../../../src-core/store/index.js';

/** Registers cleanup after each test and returns a function opening a fresh store. */
export function useTempStore(prefix: string): () => Promise<Store> {
  let store: Store | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await store?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    store = undefined;
    dir = undefined;
  });
  return async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    store = await openStore({
      path: join(dir, 'db'),
      keySource: rawKeySource(new Uint8Array(32).fill(5)),
    });
    return store;
  };
}

export const messageId = (): Uint8Array => new Uint8Array(randomBytes(16));

/** Two stored chunks and the manifest naming them. */
export async function storedFile(
  s: Store,
  name = 'a.bin',
  mime = 'application/octet-stream',
): Promise<AttachmentManifest> {
  const hashes: Uint8Array[] = [];
  await s.write((tx) => {
    for (let i = 0; i < 2; i++) hashes.push(s.blobs.put(tx, new Uint8Array(randomBytes(64))));
  });
  return {
    fileKey: new Uint8Array(32).fill(9),
    size: 8_000n,
    chunkSize: 4_096,
    chunkHashes: new Uint8Array(Buffer.concat(hashes)),
    name,
    mime,
  };
}

export const textContent = (t: string): AppContent => ({
  messageId: messageId(),
  sentAtMs: 1n,
  body: { type: ContentType.text, text: t },
});

export const fileContent = (m: AttachmentManifest, caption = ''): AppContent => ({
  messageId: messageId(),
  sentAtMs: 1n,
  body: { type: ContentType.attachment, manifest: m, caption },
});
