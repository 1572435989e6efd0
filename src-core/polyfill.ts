import { WebSocket } from 'ws';

// Node 20 has no Promise.withResolvers; libp2p 3 calls it. Electron's Node and Node 22+ have it.
interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const promiseCtor = Promise as PromiseConstructor & { withResolvers?: <T>() => Resolvers<T> };
if (typeof promiseCtor.withResolvers !== 'function') {
  promiseCtor.withResolvers = function withResolvers<T>(): Resolvers<T> {
    let resolve!: Resolvers<T>['resolve'];
    let reject!: Resolvers<T>['reject'];
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

// Node 20 has no global WebSocket (Node 22 and Electron do); @libp2p/websockets dials with it.
// `ws` is the implementation its listener already uses, and follows the same browser API.
const g = globalThis as { WebSocket?: unknown };
g.WebSocket ??= WebSocket;

export {};
