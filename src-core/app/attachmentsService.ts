/**
 * `attachments.*` of the app API. A file is cut into 256 KiB chunks, each sealed under a fresh
 * per-file key and stored as a content-addressed blob; the manifest (key, size, chunk hashes,
 * name, type) goes to the group inside an MLS application message. Members fetch the chunks from
 * any online member that holds them over the `'chunks'` request, resuming where they stopped,
 * with `attachment.progress` events. See groups/chunkTransfers.ts and groups/attachmentCrypto.ts.
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import type { AttachmentSource, Transfer } from './api.js';
import type { AppContext } from './appContext.js';
import { CONTENT_ID_BYTES, CONTENT_LIMITS, ContentType } from './content/index.js';
import { fromBase64Url, toBase64Url } from './dto.js';
import { mapped } from './errorMapping.js';
import { AppError } from './errors.js';
import { attachmentRefs } from './groups/attachmentRefs.js';
import { GroupHub } from './groups/groupHub.js';
import type { AttachmentsService } from './services.js';

/** Largest attachment `preview` returns whole. */
export const PREVIEW_MAX_BYTES = 4 * 1024 * 1024;

export interface AttachmentsServiceImpl extends AttachmentsService {
  /** Writes a complete attachment, decrypted, to `path` (CLI `save`, tests). */
  saveTo(p: { attachmentId: string; path: string }): Promise<void>;
  /** Resolves once a transfer ended (done or failed). */
  settled(p: { transferId: string }): Promise<Transfer>;
}

function clip(s: string, bytes: number, fallback: string): string {
  const t = s.length === 0 ? fallback : s;
  let out = t;
  while (Buffer.byteLength(out) > bytes) out = out.slice(0, -1);
  return out;
}

export function createAttachmentsService(ctx: AppContext): AttachmentsServiceImpl {
  const hub = GroupHub.of(ctx);

  return {
    send: (p) =>
      mapped('attachments.send', async () => {
        const e = hub.active(p.groupId);
        const src: AttachmentSource = p.source;
        const upload =
          src.kind === 'path'
            ? await hub.chunks.upload(
                e,
                { kind: 'path', path: src.path },
                clip(basename(src.path), CONTENT_LIMITS.nameBytes, 'file'),
                'application/octet-stream',
              )
            : await hub.chunks.upload(
                e,
                { kind: 'bytes', bytes: fromBase64Url(src.bytes, 'source.bytes') },
                clip(src.name, CONTENT_LIMITS.nameBytes, 'file'),
                clip(src.mime, CONTENT_LIMITS.mimeBytes, 'application/octet-stream'),
              );
        const caption = p.caption ?? '';
        if (Buffer.byteLength(caption) > CONTENT_LIMITS.captionBytes) {
          throw new AppError('bad_request', 'caption too long');
        }
        const change = await hub.send(e, {
          messageId: new Uint8Array(randomBytes(CONTENT_ID_BYTES)),
          sentAtMs: BigInt(ctx.nowMs()),
          body: { type: ContentType.attachment, manifest: upload.manifest, caption },
        });
        if (change.kind !== 'added') throw new AppError('internal', 'the attachment was not kept');
        hub.views.emitLedger(e, change);
        return {
          message: await hub.views.message(e, change.seq, change.message),
          transfer: upload.transfer,
        };
      }),

    fetch: (p) =>
      mapped('attachments.fetch', async () => {
        const e = hub.get(p.groupId);
        // The record names the group that stored it last; the references name every group.
        const found = await hub.chunks.find(p.attachmentId);
        const refs = attachmentRefs(hub.session.store);
        if (found.groupHex !== e.hex && !(await refs.carriedIn(p.attachmentId, e.hex)))
          throw new AppError('not_found', 'not an attachment of this group');
        return hub.chunks.fetch(e, p.attachmentId);
      }),

    progress: (p) => mapped('attachments.progress', async () => hub.chunks.transfer(p.transferId)),

    preview: (p) =>
      mapped('attachments.preview', async () => {
        const { manifest } = await hub.chunks.find(p.attachmentId);
        if (!manifest.mime.startsWith('image/')) throw new AppError('bad_request', 'not an image');
        const { mime, bytes } = await hub.chunks.readSmall(p.attachmentId, PREVIEW_MAX_BYTES);
        return { mime, bytes: toBase64Url(bytes) };
      }),

    saveTo: (p) => mapped('attachments.saveTo', () => hub.chunks.exportTo(p.attachmentId, p.path)),

    settled: (p) => mapped('attachments.settled', () => hub.chunks.settled(p.transferId)),
  };
}
