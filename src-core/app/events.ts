/**
 * The app's typed event stream (api.ts `ParleyEventMap`). Services emit; the UI, the CLI and the
 * RPC server listen through `ParleyApi.onEvent`. A listener that throws is reported and does not
 * stop the others: a UI bug must not stall the messenger.
 */
import type { ParleyEvent, ParleyEventMap, ParleyEventName, Unsubscribe } from './api.js';

export type ParleyEventListener = (e: ParleyEvent) => void;

export class AppEvents {
  readonly #listeners = new Set<ParleyEventListener>();

  on(listener: ParleyEventListener): Unsubscribe {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  emit<K extends ParleyEventName>(event: K, data: ParleyEventMap[K]): void {
    const e = { event, data } as ParleyEvent;
    for (const listener of [...this.#listeners]) {
      try {
        listener(e);
      } catch (err) {
        console.error(`app: a '${event}' listener threw`, err instanceof Error ? err.name : err);
      }
    }
  }

  /** Resolves with the first event `name` whose data satisfies `match` (tests, CLI `watch`). */
  next<K extends ParleyEventName>(
    name: K,
    match: (data: ParleyEventMap[K]) => boolean = () => true,
  ): Promise<ParleyEventMap[K]> {
    return new Promise((resolve) => {
      const off = this.on((e) => {
        if (e.event !== name) return;
        const data = e.data as ParleyEventMap[K];
        if (!match(data)) return;
        off();
        resolve(data);
      });
    });
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }
}
