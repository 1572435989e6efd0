/**
 * Verifying many signatures on several cores: the one verification per member that dominates
 * joining a large group (RFC 9420 §12.4.3.1: every leaf's signature) is spread over worker
 * threads, with the calling thread verifying a share too.
 *
 * Both paths accept exactly the same signatures. The calling thread decides, with the same code
 * as `SignatureScheme.verify`, everything about the bytes (lengths, strict DER, r and s in range);
 * a worker only imports the key the way nodeKeys.ts does and asks OpenSSL, as the synchronous
 * `auto` backend does. Workers are used only when the scheme is the node:crypto one (the noble
 * backend's Ed25519 check is cofactored, OpenSSL's is not) and worker_threads exists; otherwise
 * every check runs on the calling thread through `scheme.verify`.
 *
 * Work goes out in small chunks, each worker getting its fair share up front (see `dispatch`); the
 * calling thread takes chunks from the back of the queue between its own awaits and yields to the
 * event loop after each one, so workers are refilled as they finish. Idle workers are unref'd (a forgotten
 * verifier keeps no process alive); `close()` terminates them.
 */
import type * as NodeOs from 'node:os';
import type * as WorkerThreads from 'node:worker_threads';
import { activeBackend } from './backend.js';
import { BATCH_VERIFY_WORKER_SOURCE } from './batchVerifyWorker.js';
import { decodeDerSignature, toP1363 } from './signature/der.js';
import { ECDSA_SPECS } from './signature/ecdsa.js';
import { makeSignatureScheme } from './signature/index.js';
import type { SignatureScheme } from './types.js';

/** One signature to check: `scheme.verify(publicKey, message, signature)`. */
export interface SignatureCheck {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

export interface BatchVerifier {
  /** One result per check, in order: what `scheme.verify` returns for it. Never rejects. */
  verify(checks: readonly SignatureCheck[], options?: VerifyOptions): Promise<boolean[]>;
  /** Terminates the workers; later calls verify on the calling thread. */
  close(): Promise<void>;
  /** The number of worker threads used (0: everything on the calling thread). */
  readonly workerCount: number;
}

export interface VerifyOptions {
  /**
   * Whether the calling thread verifies queued chunks itself while it waits (default true). A
   * caller with its own work to do between submissions (decrypting the next messages) passes
   * false: the workers take everything, and the calling thread stays free. Without workers the
   * calling thread verifies regardless.
   */
  readonly help?: boolean;
}

export interface BatchVerifierOptions {
  /** Worker threads to use; default os.availableParallelism(). 0 verifies on the calling thread. */
  readonly workers?: number;
}

/** What a worker needs to import a key and verify (see batchVerifyWorker.ts). */
type WorkerScheme =
  | { readonly kind: 'okp'; readonly crv: 'Ed25519' | 'Ed448' }
  | { readonly kind: 'ec'; readonly crv: string; readonly hash: string; readonly spki: string };

interface SchemePlan {
  readonly worker: WorkerScheme;
  /** The bytes the worker gets for a check, or undefined when the check fails on its form. */
  prepare(check: SignatureCheck): SignatureCheck | undefined;
}

/** SPKI DER prefixes of uncompressed EC points (as nodeKeys.ts imports P-384 and P-521). */
const EC_SPKI_PREFIX: Readonly<Record<string, string>> = {
  'P-256': '',
  'P-384': '3076301006072a8648ce3d020106052b81040022036200',
  'P-521': '30819b301006072a8648ce3d020106052b8104002303818600',
};

function okpPlan(crv: 'Ed25519' | 'Ed448', keySize: number, signatureSize: number): SchemePlan {
  return {
    worker: { kind: 'okp', crv },
    prepare: (c) =>
      c.publicKey.length === keySize && c.signature.length === signatureSize ? c : undefined,
  };
}

function ecPlan(curve: keyof typeof ECDSA_SPECS): SchemePlan {
  const spec = ECDSA_SPECS[curve];
  return {
    worker: { kind: 'ec', crv: curve, hash: spec.hash, spki: EC_SPKI_PREFIX[curve]! },
    // The checks of ecdsa.ts's verify before the backend is asked, with its own DER decoder.
    prepare(c) {
      const pk = c.publicKey;
      if (pk.length !== 1 + 2 * spec.scalarSize || pk[0] !== 0x04) return undefined;
      const sig = decodeDerSignature(c.signature);
      if (sig === undefined) return undefined;
      if (sig.r <= 0n || sig.r >= spec.order || sig.s <= 0n || sig.s >= spec.order) {
        return undefined;
      }
      return { publicKey: pk, message: c.message, signature: toP1363(sig, spec.scalarSize) };
    },
  };
}

const PLANS: Readonly<Record<number, () => SchemePlan>> = {
  0x0807: () => okpPlan('Ed25519', 32, 64),
  0x0808: () => okpPlan('Ed448', 57, 114),
  0x0403: () => ecPlan('P-256'),
  0x0503: () => ecPlan('P-384'),
  0x0603: () => ecPlan('P-521'),
};

interface NodeRuntime {
  readonly threads: typeof WorkerThreads;
  readonly cores: number;
}

function nodeRuntime(): NodeRuntime | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function') return undefined;
  try {
    const threads = proc.getBuiltinModule('node:worker_threads') as typeof WorkerThreads;
    const os = proc.getBuiltinModule('node:os') as typeof NodeOs | undefined;
    if (typeof threads?.Worker !== 'function') return undefined;
    const cores =
      typeof os?.availableParallelism === 'function'
        ? os.availableParallelism()
        : (os?.cpus().length ?? 1);
    return { threads, cores: Math.max(1, cores) };
  } catch {
    return undefined;
  }
}

/** The scheme's plan when its verify is node:crypto's, so that workers give the same answers. */
function workerPlan(scheme: SignatureScheme): SchemePlan | undefined {
  const plan = PLANS[scheme.id];
  if (plan === undefined || activeBackend('auto') !== 'node:crypto') return undefined;
  return makeSignatureScheme(scheme.id, 'auto') === scheme ? plan() : undefined;
}

const CHUNK = 64;
const IN_FLIGHT_PER_WORKER = 2;

interface Batch {
  readonly checks: readonly SignatureCheck[];
  readonly results: boolean[];
  pending: number;
  readonly done: Promise<void>;
  resolve(): void;
}

interface Chunk {
  readonly batch: Batch;
  readonly from: number;
  readonly to: number;
}

interface Slot {
  readonly worker: WorkerThreads.Worker;
  /** Chunks sent, by job id, with the positions within the chunk that were sent. */
  readonly inFlight: Map<number, { chunk: Chunk; sent: number[] }>;
  dead: boolean;
}

const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });

class WorkerBatchVerifier implements BatchVerifier {
  private readonly queue: Chunk[] = [];
  private slots: Slot[] | undefined;
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly scheme: SignatureScheme,
    private readonly plan: SchemePlan | undefined,
    private readonly runtime: NodeRuntime | undefined,
    readonly workerCount: number,
  ) {}

  async verify(checks: readonly SignatureCheck[], options: VerifyOptions = {}): Promise<boolean[]> {
    const results = new Array<boolean>(checks.length).fill(false);
    if (checks.length === 0) return results;
    const help = options.help !== false || this.workers().every((s) => s.dead);
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const chunks = Math.ceil(checks.length / CHUNK);
    const batch: Batch = { checks, results, pending: chunks, done, resolve };
    for (let i = 0; i < chunks; i++) {
      this.queue.push({ batch, from: i * CHUNK, to: Math.min(checks.length, (i + 1) * CHUNK) });
    }
    this.dispatch();
    while (batch.pending > 0) {
      const chunk = help ? this.queue.pop() : undefined;
      if (chunk === undefined) {
        await batch.done;
        break;
      }
      this.verifyHere(chunk);
      if (batch.pending > 0) await yieldToEventLoop();
    }
    return results;
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots ?? [];
    this.slots = [];
    for (const slot of slots) this.retire(slot);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private verifyHere(chunk: Chunk): void {
    const { batch } = chunk;
    for (let i = chunk.from; i < chunk.to; i++) {
      const c = batch.checks[i]!;
      batch.results[i] = this.scheme.verify(c.publicKey, c.message, c.signature);
    }
    this.finished(chunk);
  }

  private finished(chunk: Chunk): void {
    if (--chunk.batch.pending === 0) chunk.batch.resolve();
  }

  private workers(): Slot[] {
    if (this.slots === undefined) {
      this.slots = [];
      if (!this.closed && this.runtime !== undefined && this.plan !== undefined) {
        for (let i = 0; i < this.workerCount; i++) this.slots.push(this.spawn(this.runtime));
      }
    }
    return this.slots;
  }

  private spawn(runtime: NodeRuntime): Slot {
    const worker = new runtime.threads.Worker(BATCH_VERIFY_WORKER_SOURCE, { eval: true });
    const slot: Slot = { worker, inFlight: new Map(), dead: false };
    worker.on('message', (m: { id: number; ok: Uint8Array }) => this.received(slot, m));
    worker.on('error', () => this.retire(slot));
    worker.on('exit', () => this.retire(slot));
    // After the listeners: a 'message' listener refs the worker's port again, and a worker that
    // never got work would then keep the process alive.
    worker.unref();
    return slot;
  }

  /** A worker that failed or was closed: what it had in hand is verified here instead. */
  private retire(slot: Slot): void {
    if (slot.dead) return;
    slot.dead = true;
    const lost = [...slot.inFlight.values()];
    slot.inFlight.clear();
    for (const { chunk } of lost) this.verifyHere(chunk);
    this.dispatch();
    // No worker left: what is queued would wait forever for a caller that does not help.
    if ((this.slots ?? []).every((s) => s.dead)) {
      for (let c = this.queue.shift(); c !== undefined; c = this.queue.shift()) this.verifyHere(c);
    }
  }

  private received(slot: Slot, m: { id: number; ok: Uint8Array }): void {
    const job = slot.inFlight.get(m.id);
    if (job === undefined) return;
    slot.inFlight.delete(m.id);
    const { chunk, sent } = job;
    if (m.ok.length !== sent.length) {
      this.verifyHere(chunk);
    } else {
      for (let k = 0; k < sent.length; k++) chunk.batch.results[sent[k]!] = m.ok[k] === 1;
      this.finished(chunk);
    }
    if (slot.inFlight.size === 0) slot.worker.unref();
    this.dispatch();
  }

  /**
   * Sends each worker queued chunks up to its fair share of all outstanding work (the calling
   * thread counting as one more), at least IN_FLIGHT_PER_WORKER. A caller that hands over a whole
   * tree and then runs JavaScript for a while (building the tree) cannot refill the workers
   * meanwhile, so they get their share up front; whoever finishes first takes what is still queued.
   */
  private dispatch(): void {
    if (this.closed || this.plan === undefined) return;
    const slots = this.workers().filter((s) => !s.dead);
    let outstanding = this.queue.length;
    for (const slot of slots) outstanding += slot.inFlight.size;
    const share = Math.max(IN_FLIGHT_PER_WORKER, Math.ceil(outstanding / (slots.length + 1)));
    for (const slot of slots) {
      while (!slot.dead && slot.inFlight.size < share && this.queue.length > 0) {
        this.send(slot, this.queue.shift()!, this.plan);
      }
    }
  }

  private send(slot: Slot, chunk: Chunk, plan: SchemePlan): void {
    const prepared: SignatureCheck[] = [];
    const sent: number[] = [];
    let size = 0;
    for (let i = chunk.from; i < chunk.to; i++) {
      const p = plan.prepare(chunk.batch.checks[i]!);
      if (p === undefined) continue; // stays false
      prepared.push(p);
      sent.push(i);
      size += 12 + p.publicKey.length + p.message.length + p.signature.length;
    }
    if (prepared.length === 0) {
      this.finished(chunk);
      return;
    }
    const buf = new ArrayBuffer(size);
    const view = new DataView(buf);
    const bytes = new Uint8Array(buf);
    let at = 0;
    for (const p of prepared) {
      view.setUint32(at, p.publicKey.length);
      view.setUint32(at + 4, p.message.length);
      view.setUint32(at + 8, p.signature.length);
      at += 12;
      for (const part of [p.publicKey, p.message, p.signature]) {
        bytes.set(part, at);
        at += part.length;
      }
    }
    const id = this.nextId++;
    slot.inFlight.set(id, { chunk, sent });
    slot.worker.ref();
    slot.worker.postMessage({ id, scheme: plan.worker, buf, count: prepared.length }, [buf]);
  }
}

/**
 * A verifier for `scheme`'s signatures. Uses worker threads when the scheme is node:crypto's and
 * the runtime has worker_threads (spawned on first use), else verifies on the calling thread.
 */
export function createBatchVerifier(
  scheme: SignatureScheme,
  options: BatchVerifierOptions = {},
): BatchVerifier {
  const plan = workerPlan(scheme);
  const runtime = plan === undefined ? undefined : nodeRuntime();
  const wanted = options.workers ?? runtime?.cores ?? 0;
  const count = runtime === undefined ? 0 : Math.max(0, Math.floor(wanted));
  return new WorkerBatchVerifier(scheme, count > 0 ? plan : undefined, runtime, count);
}
