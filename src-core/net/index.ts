// src-core/net: the peer-to-peer network that replaces servers. Bytes, peers and topics only;
// what travels (MLS messages, records) is the delivery layer's business.
export { NetError, isNetError } from './errors.js';
export type { NetErrorCode } from './errors.js';
export { defaultNetConfig, loopbackNetConfig, validateNetConfig } from './config.js';
export type {
  NetConfig,
  NetConfigOverrides,
  GossipConfig,
  RequestConfig,
  ReconnectConfig,
  InviteConfig,
  ConnectionsConfig,
  MdnsConfig,
  RelayServerConfig,
  TransportsConfig,
  WebRtcConfig,
} from './config.js';
export {
  FilePeerIdentityStore,
  MemoryPeerIdentityStore,
  decodePeerKey,
  loadOrCreatePeerKey,
} from './identity.js';
export type { PeerIdentityStore } from './identity.js';
export {
  MAX_ADDRS_PER_PEER,
  MemoryPeerAddressBook,
  forgetPeer,
  rememberPeer,
} from './addressBook.js';
export type { PeerAddressBook, PeerRecord } from './addressBook.js';
export { NetEventEmitter } from './events.js';
export type { NetEventListener, NetEventName, NetEvents } from './events.js';
export { ENVELOPE_VERSION, Gossip, messageIdFor } from './gossip.js';
export type { GossipMessage, GossipVerdict, TopicHandlers } from './gossip.js';
export {
  FRAMING_VERSION,
  RemoteRequestError,
  RequestRefused,
  RequestResponse,
  protocolId,
} from './reqresp.js';
export type {
  HandleOptions,
  IncomingRequest,
  OutgoingBody,
  RequestHandler,
  RequestOptions,
  Response,
} from './reqresp.js';
export {
  INVITE_TEXT_PREFIX,
  decodeInvite,
  encodeInvite,
  inviteQrSvg,
  inviteQrTerminal,
} from './inviteCode.js';
export type { InviteCode } from './inviteCode.js';
export { INVITE_PROTOCOL, Invites } from './invites.js';
export type { CreatedInvite, RedeemHandler, RedeemedInvite } from './invites.js';
export { ParleyNode, createParleyNode } from './node.js';
export type { ConnectionInfo, ParleyNodeOptions, TransportKind } from './node.js';
