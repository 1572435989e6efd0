// Node 20 lacks Promise.withResolvers, which libp2p 3 and its dependencies call.
import '../../src-core/polyfill.js';
