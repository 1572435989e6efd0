/** IPC channel names between main and the preload (nothing else uses IPC). */
/** preload -> main: this page wants its port to the core. */
export const PORT_REQUEST_CHANNEL = 'parley:port-request';
/** main -> preload: the port (in `event.ports[0]`). */
export const PORT_CHANNEL = 'parley:port';
/** main -> preload: the core process is gone. */
export const CORE_GONE_CHANNEL = 'parley:core-gone';
