/**
 * zod schemas of the data that crosses the app boundary (api.ts). Each is checked against its
 * TypeScript type in both directions (schema.ts, `Exact`), so the contract and its validation
 * cannot drift apart.
 *
 * Inputs are bounded (string lengths, list sizes, page sizes), so a hostile renderer or a broken
 * script cannot make the app allocate without limit; results are checked for shape only.
 */
import { z } from 'zod';

/** Limits on what a caller may send. */
export const LIMITS = {
  name: 200,
  text: 64 * 1024,
  id: 512,
  code: 4096,
  passphrase: 1024,
  path: 4096,
  /** Bytes sent inline (base64url characters): larger files go by path or in pieces. */
  inlineBytes: 12 * 1024 * 1024,
  listItems: 10_000,
  pageSize: 500,
  emoji: 32,
  query: 1024,
} as const;

const id = z.string().min(1).max(LIMITS.id);
const name = z.string().trim().min(1).max(LIMITS.name);
const millis = z.number().int().nonnegative();
const count = z.number().int().nonnegative();
const b64u = z.base64url();

/** Characters of unpadded base64url for n bytes. */
const b64uLength = (n: number): number => Math.floor(n / 3) * 4 + (n % 3 === 0 ? 0 : (n % 3) + 1);

/** QR versions 1..40 have 21..177 modules a side. */
export const qrMatrix = z
  .strictObject({ size: z.number().int().min(21).max(177), modules: b64u })
  .refine((q) => q.modules.length === b64uLength(q.size * q.size), {
    message: 'modules must hold size × size bytes',
  });

export const profileStatus = z.strictObject({
  state: z.enum(['absent', 'locked', 'unlocked']),
  keyProtection: z.enum(['keychain', 'passphrase']),
});

export const createProfileParams = z.strictObject({
  displayName: name,
  deviceName: name,
  passphrase: z.string().min(1).max(LIMITS.passphrase).optional(),
});

export const unlockParams = z.strictObject({
  passphrase: z.string().min(1).max(LIMITS.passphrase).optional(),
});

export const me = z.strictObject({
  userId: id,
  displayName: z.string(),
  deviceId: id,
  deviceName: z.string(),
  inviteCode: z.string(),
  inviteQr: qrMatrix,
  fingerprint: z.string(),
});

export const device = z.strictObject({
  deviceId: id,
  name: z.string(),
  current: z.boolean(),
  linkedAt: millis,
  lastSeenAt: millis.nullable(),
});

export const linkOffer = z.strictObject({ code: z.string(), qr: qrMatrix, expiresAt: millis });

export const verification = z.enum(['unverified', 'verified', 'key_changed']);

export const contact = z.strictObject({
  userId: id,
  displayName: z.string(),
  verification,
  online: z.boolean(),
  onLan: z.boolean(),
  addedAt: millis,
});

export const safetyNumberView = z.strictObject({
  userId: id,
  digits: z.string().regex(/^[0-9]{60}$/),
  groups: z.array(z.string().regex(/^[0-9]{5}$/)).length(12),
  qr: qrMatrix,
});

export const verifyParams = z.strictObject({
  userId: id,
  scannedQr: b64u.max(LIMITS.code).optional(),
});

export const verifyResult = z.strictObject({
  contact,
  check: z.enum([
    'match',
    'their_key_differs',
    'our_key_differs',
    'both_differ',
    'unreadable',
    'confirmed_by_user',
  ]),
});

export const role = z.enum(['admin', 'member']);

export const messagePreview = z.strictObject({
  messageId: id,
  senderName: z.string(),
  text: z.string(),
  sentAt: millis,
  attachmentName: z.string().nullable(),
});

export const groupSummary = z.strictObject({
  groupId: id,
  name: z.string(),
  epoch: count,
  memberCount: count,
  myRole: role,
  state: z.enum(['active', 'removed', 'left']),
  unread: count,
  lastMessage: messagePreview.nullable(),
});

export const member = z.strictObject({
  userId: id,
  displayName: z.string(),
  role,
  verification,
  isMe: z.boolean(),
  devices: count,
  online: z.boolean(),
});

export const membershipLogEntry = z.strictObject({
  epoch: count,
  at: millis,
  change: z.enum([
    'created',
    'added',
    'removed',
    'left',
    'renamed',
    'role_changed',
    'keys_updated',
    'device_added',
    'device_removed',
    'policy_changed',
  ]),
  actorUserId: id,
  actorName: z.string(),
  subjectUserId: id.nullable(),
  subjectName: z.string().nullable(),
  detail: z.string().nullable(),
});

export const epochCode = z.strictObject({
  groupId: id,
  epoch: count,
  code: z.string().regex(/^[0-9]{20}$/),
  groups: z.array(z.string().regex(/^[0-9]{5}$/)).length(4),
});

const duration = z
  .number()
  .int()
  .positive()
  .max(10 * 365 * 86_400_000);

export const groupPolicy = z.strictObject({
  membership: z.enum(['admins', 'everyone']),
  keyUpdateAfterMs: duration,
  keyUpdateAfterMessages: z.number().int().positive().max(1_000_000),
  removeIdleAfterMs: duration.nullable(),
  disappearAfterMs: duration.nullable(),
});

export const nearbyUser = z.strictObject({
  userId: id,
  displayName: z.string(),
  inviteCode: z.string(),
});

export const groupRef = z.strictObject({ groupId: id });

export const pagedGroupParams = z.strictObject({
  groupId: id,
  before: id.optional(),
  limit: z.number().int().min(1).max(LIMITS.pageSize).optional(),
});

export const membershipLogPage = z.strictObject({
  entries: z.array(membershipLogEntry),
  nextCursor: id.nullable(),
});

export const reaction = z.strictObject({
  emoji: z.string().min(1).max(LIMITS.emoji),
  count: count,
  mine: z.boolean(),
});

export const attachmentInfo = z.strictObject({
  attachmentId: id,
  name: z.string(),
  mime: z.string(),
  size: count,
  complete: z.boolean(),
});

export const message = z.strictObject({
  messageId: id,
  groupId: id,
  senderUserId: id,
  senderName: z.string(),
  mine: z.boolean(),
  sentAt: millis,
  text: z.string(),
  replyTo: messagePreview.nullable(),
  editedAt: millis.nullable(),
  deleted: z.boolean(),
  reactions: z.array(reaction),
  attachment: attachmentInfo.nullable(),
  delivery: z.enum(['pending', 'delivered', 'failed']),
  read: z.boolean(),
});

export const historyPage = z.strictObject({
  messages: z.array(message),
  nextCursor: id.nullable(),
});

export const searchHit = z.strictObject({ message, groupName: z.string() });

const mime = z
  .string()
  .max(LIMITS.name)
  .regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i);

export const attachmentSource = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('path'), path: z.string().min(1).max(LIMITS.path) }),
  z.strictObject({
    kind: z.literal('bytes'),
    name,
    mime,
    bytes: b64u.max(LIMITS.inlineBytes),
  }),
]);

export const transfer = z.strictObject({
  transferId: id,
  attachmentId: id.nullable(),
  groupId: id,
  direction: z.enum(['upload', 'download']),
  bytesDone: count,
  bytesTotal: count,
  state: z.enum(['running', 'done', 'failed']),
  failure: z.string().nullable(),
});

export const attachmentSent = z.strictObject({ message, transfer });

export const attachmentPreview = z.strictObject({ mime: z.string(), bytes: b64u });

export const syncProgress = z.strictObject({ groupId: id.nullable(), done: count, total: count });

export const networkStatus = z.strictObject({
  online: z.boolean(),
  peerId: z.string(),
  listenAddrs: z.array(z.string()),
  connectedPeers: count,
  lanDiscovery: z.boolean(),
  relayed: z.boolean(),
  sync: z.array(syncProgress),
});

export const peer = z.strictObject({
  peerId: z.string(),
  userId: id.nullable(),
  displayName: z.string().nullable(),
  addr: z.string(),
  transport: z.enum(['tcp', 'websockets', 'webrtc', 'relay', 'other']),
  direction: z.enum(['inbound', 'outbound']),
});

export const text = z.string().min(1).max(LIMITS.text);
export const ids = z.array(id).min(1).max(LIMITS.listItems);
export { id, name, count, b64u };
