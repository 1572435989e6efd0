/**
 * The delivery layer's `LogStore` on the profile's encrypted store: the ciphertext log of every
 * group (what we relay to members that were offline) in one namespace, entry name
 * `<group id hex>/<message id hex>`, value the log's own versioned encoding. Names and values are
 * encrypted like every record of the store; a batch of the log is one store transaction.
 */
import type { LogStore, LogStoreOp, LogStoreRecord } from '../../delivery/ciphertextLog.js';
import type { Store } from '../../store/index.js';

export const CIPHERTEXT_LOG_NS = 'ciphertext-log';

const HEX = /^[0-9a-f]+$/;

function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function nameOf(group: Uint8Array, id: Uint8Array): string {
  return `${hexOf(group)}/${hexOf(id)}`;
}

export class StoreLogStore implements LogStore {
  /** Entries whose name is not `<hex>/<hex>` (left in place, not loaded). */
  skipped = 0;

  constructor(private readonly store: Store) {}

  async *load(): AsyncGenerator<LogStoreRecord> {
    for await (const [name, value] of this.store.namespace(CIPHERTEXT_LOG_NS).entries()) {
      const [g, id, rest] = name.split('/');
      if (
        g === undefined ||
        id === undefined ||
        rest !== undefined ||
        !HEX.test(g) ||
        !HEX.test(id) ||
        g.length % 2 !== 0 ||
        id.length % 2 !== 0
      ) {
        this.skipped++;
        continue;
      }
      yield {
        group: new Uint8Array(Buffer.from(g, 'hex')),
        id: new Uint8Array(Buffer.from(id, 'hex')),
        value,
      };
    }
  }

  async write(ops: readonly LogStoreOp[]): Promise<void> {
    if (ops.length === 0) return;
    const ns = this.store.namespace(CIPHERTEXT_LOG_NS);
    await this.store.write((tx) => {
      for (const o of ops) {
        if (o.op === 'put') ns.put(tx, nameOf(o.group, o.id), o.value);
        else ns.delete(tx, nameOf(o.group, o.id));
      }
    });
  }
}
