/**
 * The app API: the one contract the UI (Electron or browser mode), the `parley` CLI and the tests
 * use. It is a contract only: the messenger behind it lives in the app implementation, and the
 * RPC layer (rpc/) carries it across process boundaries with every call and event validated.
 *
 * Everything that crosses the boundary is plain data: strings, numbers, booleans, null, arrays
 * and objects of those. Bytes are base64url strings (no padding), times are milliseconds since
 * the Unix epoch, ids are opaque strings chosen by the app (never parsed by the UI).
 *
 * Every method takes at most one params object and returns a promise, so one RPC frame maps to
 * one call. Errors are `AppError`s (errors.ts) with a code the UI can act on (`locked` → show the
 * unlock screen, `not_found` → drop a stale cache entry, ...).
 */

/** Bytes at the boundary: base64url without padding. */
export type Base64Url = string;
/** Milliseconds since the Unix epoch. */
export type Millis = number;

export type UserId = string;
export type DeviceId = string;
export type GroupId = string;
export type MessageId = string;
/** Content address of an attachment (the hash of its encrypted chunks' manifest). */
export type AttachmentId = string;
export type TransferId = string;
/** Opaque paging position handed back by the app; the UI never builds one. */
export type Cursor = string;

// ---------------------------------------------------------------------------------------------
// Profile

/** `keychain`: the database key sits in the OS keychain; `passphrase`: the user types one. */
export type KeyProtection = 'keychain' | 'passphrase';

export interface ProfileStatus {
  state: 'absent' | 'locked' | 'unlocked';
  keyProtection: KeyProtection;
}

export interface CreateProfileParams {
  displayName: string;
  deviceName: string;
  /** Required when keyProtection is `passphrase`, refused otherwise. */
  passphrase?: string;
}

export interface UnlockParams {
  passphrase?: string;
}

// ---------------------------------------------------------------------------------------------
// Identity

/** A QR symbol as a module matrix (row-major, 1 = dark), so the UI draws it without a library. */
export interface QrMatrix {
  size: number;
  /** size × size bytes, one per module. */
  modules: Base64Url;
}

export interface Me {
  userId: UserId;
  displayName: string;
  deviceId: DeviceId;
  deviceName: string;
  /** What a person gives to others to be added as a contact. */
  inviteCode: string;
  inviteQr: QrMatrix;
  /** This user's half of every safety number (30 digits), for reading aloud. */
  fingerprint: string;
}

// ---------------------------------------------------------------------------------------------
// Devices

export interface Device {
  deviceId: DeviceId;
  name: string;
  current: boolean;
  linkedAt: Millis;
  /** Now for this device and for our devices connected now; null otherwise (no history kept). */
  lastSeenAt: Millis | null;
}

/** Shown on the device that already belongs to the user; typed or scanned on the new one. */
export interface LinkOffer {
  code: string;
  qr: QrMatrix;
  expiresAt: Millis;
}

// ---------------------------------------------------------------------------------------------
// Contacts

/**
 * `unverified`: key pinned on first use; `verified`: safety number compared; `key_changed`: the
 * contact now presents a different user key, which nothing accepts until the user says so.
 */
export type Verification = 'unverified' | 'verified' | 'key_changed';

export interface Contact {
  userId: UserId;
  displayName: string;
  verification: Verification;
  online: boolean;
  /** Seen on the LAN directory topic. */
  onLan: boolean;
  addedAt: Millis;
}

export interface SafetyNumberView {
  userId: UserId;
  /** 60 digits, identical on both sides. */
  digits: string;
  /** The 12 groups of five, in display order. */
  groups: string[];
  qr: QrMatrix;
}

/** Someone announcing themselves on the LAN directory topic who is not a contact yet. */
export interface NearbyUser {
  userId: UserId;
  displayName: string;
  inviteCode: string;
}

export type SafetyCheck =
  'match' | 'their_key_differs' | 'our_key_differs' | 'both_differ' | 'unreadable';

export interface VerifyParams {
  userId: UserId;
  /**
   * The contact's scanned QR payload. Without it the user confirms a comparison made by reading
   * the digits, and the contact is marked verified.
   */
  scannedQr?: Base64Url;
}

export interface VerifyResult {
  contact: Contact;
  check: SafetyCheck | 'confirmed_by_user';
}

// ---------------------------------------------------------------------------------------------
// Groups

export type Role = 'admin' | 'member';

export interface MessagePreview {
  messageId: MessageId;
  senderName: string;
  /** The text, or an attachment's caption (may be empty). */
  text: string;
  sentAt: Millis;
  /** The file name when the message carries an attachment (shown as e.g. "📎 photo.png"). */
  attachmentName: string | null;
}

export interface GroupSummary {
  groupId: GroupId;
  name: string;
  epoch: number;
  memberCount: number;
  myRole: Role;
  /** `removed`: someone removed us; `left`: we left. Both keep the history readable. */
  state: 'active' | 'removed' | 'left';
  unread: number;
  lastMessage: MessagePreview | null;
}

export interface Member {
  userId: UserId;
  displayName: string;
  role: Role;
  verification: Verification;
  isMe: boolean;
  /** The user's devices in the group: each is a separate MLS member, shown as one person. */
  devices: number;
  online: boolean;
}

export type MembershipChange =
  | 'created'
  | 'added'
  | 'removed'
  | 'left'
  | 'renamed'
  | 'role_changed'
  | 'keys_updated'
  | 'device_added'
  | 'device_removed'
  | 'policy_changed';

export interface MembershipLogEntry {
  epoch: number;
  at: Millis;
  change: MembershipChange;
  actorUserId: UserId;
  actorName: string;
  subjectUserId: UserId | null;
  subjectName: string | null;
  /**
   * The new name for `renamed`, the new role for `role_changed`, the changed fields for
   * `policy_changed` (`disappearAfterMs=3600000, removeIdleAfterMs=off`).
   */
  detail: string | null;
}

export interface EpochCode {
  groupId: GroupId;
  epoch: number;
  /** 20 digits; members compare them out of band. */
  code: string;
  groups: string[];
}

/**
 * The group's rules, kept in the group's MLS context so every member enforces the same ones.
 * Durations in milliseconds; null turns a rule off.
 */
export interface GroupPolicy {
  /** Who may add and remove members. */
  membership: 'admins' | 'everyone';
  /** Each member updates its keys after this long or this many sent messages, whichever first. */
  keyUpdateAfterMs: number;
  keyUpdateAfterMessages: number;
  /**
   * Members (devices) not seen for longer (no key update, message or commit) are removed by an
   * admin; at least twice `keyUpdateAfterMs` (app/groups/README.md, idle members).
   */
  removeIdleAfterMs: number | null;
  /** Messages disappear this long after they arrived on each device. */
  disappearAfterMs: number | null;
}

export interface GroupRef {
  groupId: GroupId;
}

export interface PageParams {
  /** Start from the newest when absent. */
  before?: Cursor;
  limit?: number;
}

export interface MembershipLogPage {
  entries: MembershipLogEntry[];
  /** Older entries start here; null when the log is exhausted. */
  nextCursor: Cursor | null;
}

// ---------------------------------------------------------------------------------------------
// Messages and attachments

export interface Reaction {
  emoji: string;
  count: number;
  mine: boolean;
}

export interface AttachmentInfo {
  attachmentId: AttachmentId;
  name: string;
  mime: string;
  size: number;
  /** All chunks are stored locally. */
  complete: boolean;
}

export interface Message {
  messageId: MessageId;
  groupId: GroupId;
  senderUserId: UserId;
  senderName: string;
  mine: boolean;
  sentAt: Millis;
  /** Empty once deleted. */
  text: string;
  replyTo: MessagePreview | null;
  editedAt: Millis | null;
  deleted: boolean;
  reactions: Reaction[];
  attachment: AttachmentInfo | null;
  /** For own messages: `pending` until the group accepted it. Others' are `delivered`. */
  delivery: 'pending' | 'delivered' | 'failed';
  read: boolean;
}

export interface HistoryPage {
  /** Oldest first. */
  messages: Message[];
  nextCursor: Cursor | null;
}

export interface SearchHit {
  message: Message;
  groupName: string;
}

export type AttachmentSource =
  { kind: 'path'; path: string } | { kind: 'bytes'; name: string; mime: string; bytes: Base64Url };

export interface Transfer {
  transferId: TransferId;
  /** Null while an upload is still being sealed: the id is the hash of the finished manifest. */
  attachmentId: AttachmentId | null;
  groupId: GroupId;
  direction: 'upload' | 'download';
  bytesDone: number;
  bytesTotal: number;
  state: 'running' | 'done' | 'failed';
  /** An AppError code when failed. */
  failure: string | null;
}

export interface AttachmentSent {
  message: Message;
  transfer: Transfer;
}

export interface AttachmentPreview {
  mime: string;
  bytes: Base64Url;
}

// ---------------------------------------------------------------------------------------------
// Network

export interface SyncProgress {
  /** Null for the sync of all groups together. */
  groupId: GroupId | null;
  done: number;
  total: number;
}

export interface NetworkStatus {
  online: boolean;
  peerId: string;
  listenAddrs: string[];
  connectedPeers: number;
  lanDiscovery: boolean;
  /** Reached through a circuit relay by at least one peer. */
  relayed: boolean;
  sync: SyncProgress[];
}

export interface Peer {
  peerId: string;
  userId: UserId | null;
  displayName: string | null;
  addr: string;
  transport: 'tcp' | 'websockets' | 'webrtc' | 'relay' | 'other';
  direction: 'inbound' | 'outbound';
}

// ---------------------------------------------------------------------------------------------
// The calls

export interface ParleyCalls {
  profile: {
    status(): Promise<ProfileStatus>;
    create(p: CreateProfileParams): Promise<Me>;
    unlock(p: UnlockParams): Promise<Me>;
    lock(): Promise<void>;
  };
  identity: {
    me(): Promise<Me>;
    setDisplayName(p: { displayName: string }): Promise<Me>;
  };
  devices: {
    list(): Promise<Device[]>;
    /** On a device already linked: a short-lived code for the new one. */
    offerLink(): Promise<LinkOffer>;
    /**
     * On the new device (its own fresh profile): join the user that made the offer. The user's
     * groups follow as Welcomes (the device that made the offer adds this one to each, now or when
     * both are next online), with the same names and roles. The new device reads only what is
     * sent after it joined a group: MLS gives it no key to earlier messages, so the history from
     * before is not there, and the UI should say so rather than show an empty past as complete.
     */
    acceptLink(p: { code: string; deviceName: string }): Promise<Me>;
    /**
     * Removes the device from every group and the user's device list. Members who see the new
     * record refuse its messages at once and remove it where the group's rules let them; the
     * revoked device closes its groups when it learns (keeping the history it has).
     */
    revoke(p: { deviceId: DeviceId }): Promise<void>;
  };
  contacts: {
    list(): Promise<Contact[]>;
    addByInviteCode(p: { code: string }): Promise<Contact>;
    /** People on this LAN (when LAN discovery is on) who are not contacts yet. */
    nearby(): Promise<NearbyUser[]>;
    safetyNumber(p: { userId: UserId }): Promise<SafetyNumberView>;
    verify(p: VerifyParams): Promise<VerifyResult>;
    /** The only way a changed key is accepted; the contact goes back to `unverified`. */
    acceptKeyChange(p: { userId: UserId }): Promise<Contact>;
    /**
     * The user keeps the pinned key: the new key's claim is dropped and the contact returns to
     * the verification it had before the change (`conflict` when there is no change to reject).
     */
    rejectKeyChange(p: { userId: UserId }): Promise<Contact>;
  };
  groups: {
    list(): Promise<GroupSummary[]>;
    create(p: { name: string; members: UserId[] }): Promise<GroupSummary>;
    /** Adds a person who is not a contact yet, by their invite code. */
    invite(p: { groupId: GroupId; inviteCode: string }): Promise<GroupSummary>;
    add(p: { groupId: GroupId; userIds: UserId[] }): Promise<GroupSummary>;
    remove(p: { groupId: GroupId; userIds: UserId[] }): Promise<GroupSummary>;
    leave(p: GroupRef): Promise<void>;
    rename(p: { groupId: GroupId; name: string }): Promise<GroupSummary>;
    setRole(p: { groupId: GroupId; userId: UserId; role: Role }): Promise<Member>;
    updateKeys(p: GroupRef): Promise<GroupSummary>;
    members(p: GroupRef): Promise<Member[]>;
    membershipLog(p: GroupRef & PageParams): Promise<MembershipLogPage>;
    epochCode(p: GroupRef): Promise<EpochCode>;
    policy(p: GroupRef): Promise<GroupPolicy>;
    /** A commit like any other: refused with `forbidden` unless the policy lets us change it. */
    setPolicy(p: { groupId: GroupId; policy: GroupPolicy }): Promise<GroupPolicy>;
  };
  messages: {
    history(p: GroupRef & PageParams): Promise<HistoryPage>;
    /** One message as it stands now (after an edit, delete or reaction event). */
    get(p: { groupId: GroupId; messageId: MessageId }): Promise<Message>;
    send(p: { groupId: GroupId; text: string }): Promise<Message>;
    reply(p: { groupId: GroupId; replyTo: MessageId; text: string }): Promise<Message>;
    edit(p: { groupId: GroupId; messageId: MessageId; text: string }): Promise<Message>;
    delete(p: { groupId: GroupId; messageId: MessageId }): Promise<void>;
    react(p: {
      groupId: GroupId;
      messageId: MessageId;
      emoji: string;
      on: boolean;
    }): Promise<Message>;
    /** Marks everything up to and including `upTo` read; returns the group's unread count. */
    markRead(p: { groupId: GroupId; upTo: MessageId }): Promise<{ unread: number }>;
    search(p: { query: string; groupId?: GroupId; limit?: number }): Promise<SearchHit[]>;
  };
  attachments: {
    send(p: {
      groupId: GroupId;
      source: AttachmentSource;
      caption?: string;
    }): Promise<AttachmentSent>;
    /** Starts (or resumes) fetching the chunks from any member that has them. */
    fetch(p: { groupId: GroupId; attachmentId: AttachmentId }): Promise<Transfer>;
    progress(p: { transferId: TransferId }): Promise<Transfer>;
    /** The bytes of a complete image attachment small enough to preview. */
    preview(p: { attachmentId: AttachmentId }): Promise<AttachmentPreview>;
  };
  network: {
    status(): Promise<NetworkStatus>;
    peers(): Promise<Peer[]>;
    setLanDiscovery(p: { enabled: boolean }): Promise<NetworkStatus>;
  };
}

// ---------------------------------------------------------------------------------------------
// Events

export interface ParleyEventMap {
  'message.received': { message: Message };
  'message.edited': { message: Message };
  'message.deleted': { groupId: GroupId; messageId: MessageId };
  'message.reaction': { groupId: GroupId; messageId: MessageId; reactions: Reaction[] };
  /** Created, renamed, unread count moved, we were removed, ... : the new summary. */
  'group.changed': { group: GroupSummary };
  'group.member_changed': { groupId: GroupId; entry: MembershipLogEntry };
  /**
   * The group's rules changed (a GroupContextExtensions commit was merged): its admins and
   * policy now. `byUserId`: who committed it (null when unknown).
   */
  'group.rules_changed': {
    groupId: GroupId;
    admins: UserId[];
    policy: GroupPolicy;
    byUserId: UserId | null;
  };
  'contact.changed': { contact: Contact };
  /**
   * A contact presents a different user key. The UI shows this loudly in every place the contact
   * appears, until the user accepts the change or removes the contact.
   */
  'contact.key_changed': {
    userId: UserId;
    displayName: string;
    previousFingerprint: string;
    newFingerprint: string;
    groupIds: GroupId[];
  };
  'sync.progress': SyncProgress;
  'attachment.progress': { transfer: Transfer };
  'network.status': { status: NetworkStatus };
  'profile.locked': { reason: 'user' | 'idle' | 'shutdown' };
}

export type ParleyEventName = keyof ParleyEventMap;

export type ParleyEvent = {
  [K in ParleyEventName]: { event: K; data: ParleyEventMap[K] };
}[ParleyEventName];

export type Unsubscribe = () => void;

/** The calls plus the event stream. */
export interface ParleyApi extends ParleyCalls {
  onEvent(listener: (e: ParleyEvent) => void): Unsubscribe;
}

// ---------------------------------------------------------------------------------------------
// Method names, derived from the calls so that the RPC table cannot drift from them.

export type GroupName = keyof ParleyCalls;

export type MethodName = {
  [G in GroupName]: `${G}.${keyof ParleyCalls[G] & string}`;
}[GroupName];

type MethodOf<N extends MethodName> = N extends `${infer G}.${infer M}`
  ? G extends GroupName
    ? M extends keyof ParleyCalls[G]
      ? ParleyCalls[G][M]
      : never
    : never
  : never;

/** `undefined` for calls without params. */
export type MethodParams<N extends MethodName> =
  MethodOf<N> extends (...args: infer A) => unknown ? (A extends [] ? undefined : A[0]) : never;

export type MethodResult<N extends MethodName> =
  MethodOf<N> extends (...args: never[]) => Promise<infer R> ? R : never;
