/**
 * Attachment chunks on disk and on the wire. Uploading reads the file a chunk at a time, seals
 * each chunk (attachmentCrypto.ts) and stores it as a blob, a few chunks per transaction; the file
 * is never whole in memory. Fetching asks the group's online peers for each missing chunk over
 * the `'chunks'` request, checks it against the hash the manifest names, and stores it; chunks
 * already held are skipped, so a fetch that stopped resumes where it was. Exporting opens the
 * chunks in order into a file.
 *
 * ```
 * struct { uint16 version = 1; opaque hash[32]; } ChunkRequest;
 * struct { uint16 version = 1; optional<opaque> chunk; } ChunkResponse;  // absent: not held
 * ```
 * A chunk is served to any peer that names its hash: chunks are sealed under a key only members
 * received, and hashes are only in the members' manifests, so a peer learns nothing it could not
 * already read.
 *
 * When an attachment is deleted (disappearing messages, delete for everyone: attachmentRefs.ts
 * says when), its transfers are forgotten and a download still running stops before it stores
 * another chunk.
 */
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { decode, encode, fixedBytes, opaque, optional, struct, uint16 } from '../../codec/index.js';
import type { Codec } from '../../codec/index.js';
import { DeliveryError } from '../../delivery/errors.js';
import type { Transfer } from '../api.js';
import type { AttachmentManifest } from '../content/index.js';
import { CHUNK_HASH_BYTES, chunkCount, chunkHash } from '../content/index.js';
import { AppError } from '../errors.js';
import {
  attachmentIdOf,
  DEFAULT_CHUNK_SIZE,
  openChunk,
  sealChunk,
  sha256,
} from './attachmentCrypto.js';
import { attachmentRefs } from './attachmentRefs.js';
import type { GroupEntry, GroupHub } from './groupHub.js';
import { ATTACHMENTS_NS, decodeStoredAttachment } from './groupRecords.js';
import type { StoredAttachment } from './groupRecords.js';

export const CHUNKS_PROTOCOL = 'chunks';
const CHUNKS_VERSION = 1;
/** Chunks per store transaction while uploading or fetching. */
export const CHUNKS_PER_BATCH = 8;
export const FETCH_PARALLEL = 4;
/**
 * The most chunk buffers one download holds at once: each worker fetches one chunk at a time and
 * waits for the batch it fills to be written before fetching again, so at most every worker's
 * batch is being written and none is filling (or one fewer is written and one is filling).
 */
export const DOWNLOAD_MAX_HELD_CHUNKS = FETCH_PARALLEL * CHUNKS_PER_BATCH;

/**
 * Chunk buffers the transfers hold in memory now and at most so far: from a chunk's read (upload),
 * fetch (download) or load (export) until its batch is written or its plaintext is on disk.
 * Memory must not grow with the file; tests check the high-water mark against the bounds above.
 */
export class HeldChunks {
  #now = 0;
  #peak = 0;

  take(n = 1): void {
    this.#now += n;
    if (this.#now > this.#peak) this.#peak = this.#now;
  }

  release(n = 1): void {
    this.#now -= n;
  }

  get now(): number {
    return this.#now;
  }

  get peak(): number {
    return this.#peak;
  }

  /** Starts a new high-water mark from the current count. */
  resetPeak(): void {
    this.#peak = this.#now;
  }
}

const requestCodec: Codec<{ version: number; hash: Uint8Array }> = struct({
  version: uint16,
  hash: fixedBytes(CHUNK_HASH_BYTES),
});
const responseCodec: Codec<{ version: number; chunk: Uint8Array | undefined }> = struct({
  version: uint16,
  chunk: optional(opaque),
});

/** Where an upload reads from. */
export type UploadSource =
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array };

export class ChunkTransfers {
  readonly #transfers = new Map<string, Transfer>();
  readonly #complete = new Set<string>();
  readonly #running = new Map<string, Promise<void>>();
  /** Downloads stopped because their attachment was deleted (expired or deleted for everyone). */
  readonly #stopped = new Set<string>();
  /** Chunk buffers alive in transfers (tests read it: memory independent of file size). */
  readonly held = new HeldChunks();

  constructor(private readonly hub: GroupHub) {}

  serve(): () => void {
    const s = this.hub.session;
    const offDeleted = attachmentRefs(s.store).onCollected((id) => this.#forget(id));
    const offRequests = s.ports.requests.handle(CHUNKS_PROTOCOL, async (body) => {
      let hash: Uint8Array;
      try {
        hash = decode(requestCodec, body).hash;
      } catch (cause) {
        throw new DeliveryError('decode_failed', 'chunk request does not parse', { cause });
      }
      const chunk = await s.store.blobs.get(hash);
      return encode(responseCodec, { version: CHUNKS_VERSION, chunk });
    });
    return () => {
      offRequests();
      offDeleted();
    };
  }

  /**
   * The attachment's record and chunks were deleted: it is not complete any more, its finished
   * transfers are forgotten (failed ones stay, for `settled`), and a download of it stops (failed, `not_found`) before it stores
   * another chunk.
   */
  #forget(attachmentId: string): void {
    this.#complete.delete(attachmentId);
    for (const [transferId, t] of this.#transfers) {
      if (t.attachmentId !== attachmentId) continue;
      if (t.state === 'done') {
        this.#transfers.delete(transferId);
        continue;
      }
      if (t.state !== 'running') continue;
      this.#stopped.add(transferId);
      t.state = 'failed';
      t.failure = 'not_found';
      this.#progress({ ...t });
    }
  }

  /** Whether a download must not store chunks: stopped, or its attachment's deletion is being written. */
  #refused(t: Transfer): boolean {
    return (
      this.#stopped.has(t.transferId) ||
      (t.attachmentId !== null &&
        attachmentRefs(this.hub.session.store).isCollecting(t.attachmentId))
    );
  }

  transfer(id: string): Transfer {
    const t = this.#transfers.get(id);
    if (t === undefined) throw new AppError('not_found', 'no such transfer');
    return { ...t };
  }

  #progress(t: Transfer): void {
    this.#transfers.set(t.transferId, t);
    this.hub.ctx.events.emit('attachment.progress', { transfer: { ...t } });
  }

  async find(attachmentId: string): Promise<StoredAttachment> {
    const bytes = await this.hub.session.store.namespace(ATTACHMENTS_NS).get(attachmentId);
    if (bytes === undefined) throw new AppError('not_found', 'no such attachment');
    return decodeStoredAttachment(bytes);
  }

  async complete(m: AttachmentManifest): Promise<boolean> {
    const id = attachmentIdOf(m);
    if (this.#complete.has(id)) return true;
    const blobs = this.hub.session.store.blobs;
    const n = m.chunkHashes.length / CHUNK_HASH_BYTES;
    for (let i = 0; i < n; i++) if (!(await blobs.has(chunkHash(m, i)))) return false;
    this.#complete.add(id);
    return true;
  }

  /** Seals and stores a file's chunks; returns its manifest (the caller sends it). */
  async upload(
    e: GroupEntry,
    source: UploadSource,
    name: string,
    mime: string,
    chunkSize = DEFAULT_CHUNK_SIZE,
  ): Promise<{ manifest: AttachmentManifest; transfer: Transfer }> {
    const s = this.hub.session;
    const fileKey = new Uint8Array(randomBytes(32));
    const file = source.kind === 'path' ? await open(source.path, 'r') : undefined;
    try {
      const size = BigInt(
        file === undefined
          ? source.kind === 'bytes'
            ? source.bytes.length
            : 0
          : (await file.stat()).size,
      );
      const count = chunkCount(size, chunkSize);
      const hashes = new Uint8Array(count * CHUNK_HASH_BYTES);
      const transfer: Transfer = {
        transferId: randomBytes(16).toString('hex'),
        attachmentId: null,
        groupId: e.hex,
        direction: 'upload',
        bytesDone: 0,
        bytesTotal: Number(size),
        state: 'running',
        failure: null,
      };
      const buffer = new Uint8Array(chunkSize);
      let tx = s.store.transaction();
      let queued = 0;
      const commitQueued = async (options: { sync?: boolean }): Promise<void> => {
        try {
          await tx.commit(options);
        } finally {
          this.held.release(queued);
          queued = 0;
        }
      };
      try {
        for (let i = 0; i < count; i++) {
          const want = Math.min(chunkSize, Number(size) - i * chunkSize);
          let plain: Uint8Array;
          if (file !== undefined) {
            let got = 0;
            while (got < want) {
              const r = await file.read(buffer, got, want - got, i * chunkSize + got);
              if (r.bytesRead === 0)
                throw new AppError('conflict', 'the file shrank while reading');
              got += r.bytesRead;
            }
            plain = buffer.subarray(0, want);
          } else {
            const bytes = (source as { bytes: Uint8Array }).bytes;
            plain = bytes.subarray(i * chunkSize, i * chunkSize + want);
          }
          const sealed = sealChunk(fileKey, i, size, chunkSize, plain);
          hashes.set(s.store.blobs.put(tx, sealed), i * CHUNK_HASH_BYTES);
          this.held.take();
          queued++;
          transfer.bytesDone += want;
          if (queued === CHUNKS_PER_BATCH) {
            await commitQueued({ sync: false });
            tx = s.store.transaction();
            this.#progress({ ...transfer });
          }
        }
        await commitQueued({});
      } catch (err) {
        tx.abort();
        this.held.release(queued);
        queued = 0;
        throw err;
      } finally {
        buffer.fill(0);
      }
      const manifest: AttachmentManifest = {
        fileKey,
        size,
        chunkSize,
        chunkHashes: hashes,
        name,
        mime,
      };
      transfer.attachmentId = attachmentIdOf(manifest);
      transfer.state = 'done';
      this.#complete.add(transfer.attachmentId);
      this.#progress({ ...transfer });
      return { manifest, transfer: { ...transfer } };
    } finally {
      await file?.close();
    }
  }

  /** Starts (or joins) fetching the missing chunks of an attachment. */
  async fetch(e: GroupEntry, attachmentId: string): Promise<Transfer> {
    const { manifest } = await this.find(attachmentId);
    for (const t of this.#transfers.values()) {
      if (t.attachmentId === attachmentId && t.direction === 'download' && t.state === 'running') {
        return { ...t };
      }
    }
    const t: Transfer = {
      transferId: randomBytes(16).toString('hex'),
      attachmentId,
      groupId: e.hex,
      direction: 'download',
      bytesDone: 0,
      bytesTotal: Number(manifest.size),
      state: 'running',
      failure: null,
    };
    this.#transfers.set(t.transferId, t);
    const run = this.#download(e, manifest, t).catch((err: unknown) => {
      if (this.#stopped.has(t.transferId)) return; // already reported by #forget
      t.state = 'failed';
      t.failure = err instanceof AppError ? err.code : 'unavailable';
      this.#progress({ ...t });
    });
    this.#running.set(t.transferId, run);
    void run.finally(() => {
      this.#running.delete(t.transferId);
      this.#stopped.delete(t.transferId);
    });
    return { ...t };
  }

  /** Resolves when a transfer has ended (tests, CLI). */
  async settled(transferId: string): Promise<Transfer> {
    await this.#running.get(transferId);
    return this.transfer(transferId);
  }

  async #download(e: GroupEntry, m: AttachmentManifest, t: Transfer): Promise<void> {
    const s = this.hub.session;
    const count = m.chunkHashes.length / CHUNK_HASH_BYTES;
    const plainOf = (i: number): number => Math.min(m.chunkSize, Number(m.size) - i * m.chunkSize);
    const missing: number[] = [];
    for (let i = 0; i < count; i++) {
      if (await s.store.blobs.has(chunkHash(m, i))) t.bytesDone += plainOf(i);
      else missing.push(i);
    }
    this.#progress({ ...t });
    let next = 0;
    let pending: Uint8Array[] = [];
    let failure: { readonly err: unknown } | undefined;
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      try {
        const tx = s.store.transaction();
        for (const c of batch) s.store.blobs.put(tx, c);
        // Checked with no await before the commit starts: an expiry marks the deletion before it
        // commits (attachmentRefs.ts), so chunks never land after the deletion of their manifest.
        if (this.#refused(t)) {
          tx.abort();
          throw new AppError('not_found', 'the attachment was deleted');
        }
        await tx.commit({ sync: false });
      } finally {
        this.held.release(batch.length);
      }
      this.#progress({ ...t });
    };
    const worker = async (): Promise<void> => {
      try {
        while (next < missing.length && failure === undefined && !this.#refused(t)) {
          const i = missing[next++]!;
          const chunk = await this.#fetchChunk(e, chunkHash(m, i));
          // After the await: `pending` may be a new array by now (a flush took the old one).
          pending.push(chunk);
          this.held.take();
          t.bytesDone += plainOf(i);
          // The worker that fills a batch waits for its write before fetching again: that is
          // the backpressure that keeps a download's memory bounded (DOWNLOAD_MAX_HELD_CHUNKS).
          if (pending.length >= CHUNKS_PER_BATCH) await flush();
        }
      } catch (err) {
        // The other workers stop at their next chunk instead of fetching the rest for nothing.
        failure ??= { err };
      }
    };
    await Promise.all(Array.from({ length: FETCH_PARALLEL }, worker));
    if (failure === undefined) {
      try {
        await flush();
      } catch (err) {
        failure = { err };
      }
    }
    if (failure !== undefined) {
      this.held.release(pending.length);
      pending = [];
      throw failure.err;
    }
    if (this.#refused(t)) throw new AppError('not_found', 'the attachment was deleted');
    t.state = 'done';
    if (t.attachmentId !== null) this.#complete.add(t.attachmentId);
    this.#progress({ ...t });
  }

  /** One chunk from the first online member that has it and whose bytes match the hash. */
  async #fetchChunk(e: GroupEntry, hash: Uint8Array): Promise<Uint8Array> {
    const s = this.hub.session;
    const body = encode(requestCodec, { version: CHUNKS_VERSION, hash });
    for (const peer of this.hub.onlinePeers(e)) {
      try {
        const res = decode(
          responseCodec,
          await s.ports.requests.request(peer, CHUNKS_PROTOCOL, body, { timeoutMs: 30_000 }),
        );
        if (res.chunk === undefined) continue;
        // A copy: the decoded bytes may be a view of a transport buffer that is reused later.
        const chunk = res.chunk.slice();
        if (Buffer.from(sha256(chunk)).equals(Buffer.from(hash))) return chunk;
      } catch {
        // Offline, refused or malformed: ask the next member.
      }
    }
    throw new AppError('unavailable', 'no online member has a chunk of this attachment');
  }

  /** Writes the decrypted file to `path`, a chunk at a time. */
  async exportTo(attachmentId: string, path: string): Promise<void> {
    const { manifest: m } = await this.find(attachmentId);
    const blobs = this.hub.session.store.blobs;
    const out = await open(path, 'w');
    try {
      const count = m.chunkHashes.length / CHUNK_HASH_BYTES;
      for (let i = 0; i < count; i++) {
        const sealed = await blobs.get(chunkHash(m, i));
        if (sealed === undefined) throw new AppError('conflict', 'the attachment is not complete');
        const plain = openChunk(m.fileKey, i, m.size, m.chunkSize, sealed);
        this.held.take();
        try {
          // Awaited: the next chunk is read only once this one is in the file (no write queue).
          await out.write(plain);
        } finally {
          plain.fill(0);
          this.held.release();
        }
      }
    } finally {
      await out.close();
    }
  }

  /** The whole plaintext of a small complete attachment (previews). */
  async readSmall(
    attachmentId: string,
    limit: number,
  ): Promise<{ mime: string; bytes: Uint8Array }> {
    const { manifest: m } = await this.find(attachmentId);
    if (m.size > BigInt(limit)) throw new AppError('bad_request', 'too large to preview');
    const out = new Uint8Array(Number(m.size));
    const count = m.chunkHashes.length / CHUNK_HASH_BYTES;
    for (let i = 0; i < count; i++) {
      const sealed = await this.hub.session.store.blobs.get(chunkHash(m, i));
      if (sealed === undefined) throw new AppError('conflict', 'the attachment is not complete');
      out.set(openChunk(m.fileKey, i, m.size, m.chunkSize, sealed), i * m.chunkSize);
    }
    return { mime: m.mime, bytes: out };
  }
}
