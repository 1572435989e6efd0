/**
 * The RPC boundary of the app API: one zod schema for every call's params and result and every
 * event's data, and the versioned frame format that carries them.
 *
 *   request   {v: 1, id, method, params?}
 *   response  {v: 1, id, ok: true, result?} | {v: 1, id, ok: false, error: {code, message}}
 *   event     {v: 1, event, data}
 *
 * Frames are JSON text on every carrier (WebSocket, MessagePort), so one size limit and one parser
 * apply everywhere. Parsing never executes anything: it turns text into a checked request or an
 * `AppError` (with the request id when one could be read, so the caller can match the answer).
 */
import { z } from 'zod';
import type {
  MethodName,
  MethodParams,
  MethodResult,
  ParleyEvent,
  ParleyEventMap,
  ParleyEventName,
} from '../api.js';
import { APP_ERROR_CODES, AppError } from '../errors.js';
import * as d from './dtoSchemas.js';

export const PROTOCOL_VERSION = 1;
/** Default bound on one frame's text: inline attachment bytes plus the frame around them. */
export const DEFAULT_MAX_FRAME_BYTES = d.LIMITS.inlineBytes + 64 * 1024;

const none = z.undefined();
const nothing = z.void();

export const METHODS = {
  'profile.status': { params: none, result: d.profileStatus },
  'profile.create': { params: d.createProfileParams, result: d.me },
  'profile.unlock': { params: d.unlockParams, result: d.me },
  'profile.lock': { params: none, result: nothing },

  'identity.me': { params: none, result: d.me },
  'identity.setDisplayName': { params: z.strictObject({ displayName: d.name }), result: d.me },

  'devices.list': { params: none, result: z.array(d.device) },
  'devices.offerLink': { params: none, result: d.linkOffer },
  'devices.acceptLink': {
    params: z.strictObject({ code: z.string().min(1).max(d.LIMITS.code), deviceName: d.name }),
    result: d.me,
  },
  'devices.revoke': { params: z.strictObject({ deviceId: d.id }), result: nothing },

  'contacts.list': { params: none, result: z.array(d.contact) },
  'contacts.addByInviteCode': {
    params: z.strictObject({ code: z.string().trim().min(1).max(d.LIMITS.code) }),
    result: d.contact,
  },
  'contacts.nearby': { params: none, result: z.array(d.nearbyUser) },
  'contacts.safetyNumber': { params: z.strictObject({ userId: d.id }), result: d.safetyNumberView },
  'contacts.verify': { params: d.verifyParams, result: d.verifyResult },
  'contacts.acceptKeyChange': { params: z.strictObject({ userId: d.id }), result: d.contact },
  'contacts.rejectKeyChange': { params: z.strictObject({ userId: d.id }), result: d.contact },

  'groups.list': { params: none, result: z.array(d.groupSummary) },
  'groups.create': {
    params: z.strictObject({ name: d.name, members: z.array(d.id).max(d.LIMITS.listItems) }),
    result: d.groupSummary,
  },
  'groups.invite': {
    params: z.strictObject({
      groupId: d.id,
      inviteCode: z.string().trim().min(1).max(d.LIMITS.code),
    }),
    result: d.groupSummary,
  },
  'groups.add': {
    params: z.strictObject({ groupId: d.id, userIds: d.ids }),
    result: d.groupSummary,
  },
  'groups.remove': {
    params: z.strictObject({ groupId: d.id, userIds: d.ids }),
    result: d.groupSummary,
  },
  'groups.leave': { params: d.groupRef, result: nothing },
  'groups.rename': {
    params: z.strictObject({ groupId: d.id, name: d.name }),
    result: d.groupSummary,
  },
  'groups.setRole': {
    params: z.strictObject({ groupId: d.id, userId: d.id, role: d.role }),
    result: d.member,
  },
  'groups.updateKeys': { params: d.groupRef, result: d.groupSummary },
  'groups.members': { params: d.groupRef, result: z.array(d.member) },
  'groups.membershipLog': { params: d.pagedGroupParams, result: d.membershipLogPage },
  'groups.epochCode': { params: d.groupRef, result: d.epochCode },
  'groups.policy': { params: d.groupRef, result: d.groupPolicy },
  'groups.setPolicy': {
    params: z.strictObject({ groupId: d.id, policy: d.groupPolicy }),
    result: d.groupPolicy,
  },

  'messages.history': { params: d.pagedGroupParams, result: d.historyPage },
  'messages.get': { params: z.strictObject({ groupId: d.id, messageId: d.id }), result: d.message },
  'messages.send': { params: z.strictObject({ groupId: d.id, text: d.text }), result: d.message },
  'messages.reply': {
    params: z.strictObject({ groupId: d.id, replyTo: d.id, text: d.text }),
    result: d.message,
  },
  'messages.edit': {
    params: z.strictObject({ groupId: d.id, messageId: d.id, text: d.text }),
    result: d.message,
  },
  'messages.delete': {
    params: z.strictObject({ groupId: d.id, messageId: d.id }),
    result: nothing,
  },
  'messages.react': {
    params: z.strictObject({
      groupId: d.id,
      messageId: d.id,
      emoji: z.string().min(1).max(d.LIMITS.emoji),
      on: z.boolean(),
    }),
    result: d.message,
  },
  'messages.markRead': {
    params: z.strictObject({ groupId: d.id, upTo: d.id }),
    result: z.strictObject({ unread: d.count }),
  },
  'messages.search': {
    params: z.strictObject({
      query: z.string().trim().min(1).max(d.LIMITS.query),
      groupId: d.id.optional(),
      limit: z.number().int().min(1).max(d.LIMITS.pageSize).optional(),
    }),
    result: z.array(d.searchHit),
  },

  'attachments.send': {
    params: z.strictObject({
      groupId: d.id,
      source: d.attachmentSource,
      caption: z.string().max(d.LIMITS.text).optional(),
    }),
    result: d.attachmentSent,
  },
  'attachments.fetch': {
    params: z.strictObject({ groupId: d.id, attachmentId: d.id }),
    result: d.transfer,
  },
  'attachments.progress': { params: z.strictObject({ transferId: d.id }), result: d.transfer },
  'attachments.preview': {
    params: z.strictObject({ attachmentId: d.id }),
    result: d.attachmentPreview,
  },

  'network.status': { params: none, result: d.networkStatus },
  'network.peers': { params: none, result: z.array(d.peer) },
  'network.setLanDiscovery': {
    params: z.strictObject({ enabled: z.boolean() }),
    result: d.networkStatus,
  },
} as const satisfies Record<MethodName, { params: z.ZodType; result: z.ZodType }>;

export const EVENTS = {
  'message.received': z.strictObject({ message: d.message }),
  'message.edited': z.strictObject({ message: d.message }),
  'message.deleted': z.strictObject({ groupId: d.id, messageId: d.id }),
  'message.reaction': z.strictObject({
    groupId: d.id,
    messageId: d.id,
    reactions: z.array(d.reaction),
  }),
  'group.changed': z.strictObject({ group: d.groupSummary }),
  'group.member_changed': z.strictObject({ groupId: d.id, entry: d.membershipLogEntry }),
  'group.rules_changed': z.strictObject({
    groupId: d.id,
    admins: z.array(d.id),
    policy: d.groupPolicy,
    byUserId: d.id.nullable(),
  }),
  'contact.changed': z.strictObject({ contact: d.contact }),
  'contact.key_changed': z.strictObject({
    userId: d.id,
    displayName: z.string(),
    previousFingerprint: z.string(),
    newFingerprint: z.string(),
    groupIds: z.array(d.id),
  }),
  'sync.progress': d.syncProgress,
  'attachment.progress': z.strictObject({ transfer: d.transfer }),
  'network.status': z.strictObject({ status: d.networkStatus }),
  'profile.locked': z.strictObject({ reason: z.enum(['user', 'idle', 'shutdown']) }),
} as const satisfies Record<ParleyEventName, z.ZodType>;

// The schemas must produce exactly the contract's types (both directions), or this fails to
// compile and names the method or event that drifted.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type AllTrue<T extends Record<string, true>> = T;
export type ParamsMatch = AllTrue<{
  [N in MethodName]: Same<z.output<(typeof METHODS)[N]['params']>, MethodParams<N>>;
}>;
export type ResultsMatch = AllTrue<{
  [N in MethodName]: Same<z.output<(typeof METHODS)[N]['result']>, MethodResult<N>>;
}>;
export type EventsMatch = AllTrue<{
  [E in ParleyEventName]: Same<z.output<(typeof EVENTS)[E]>, ParleyEventMap[E]>;
}>;

export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];
export const EVENT_NAMES = Object.keys(EVENTS) as ParleyEventName[];

export function isMethodName(s: string): s is MethodName {
  return Object.hasOwn(METHODS, s);
}

export function isEventName(s: string): s is ParleyEventName {
  return Object.hasOwn(EVENTS, s);
}

// ---------------------------------------------------------------------------------------------
// Frames

export type FrameId = number | string;

const frameId = z.union([
  z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  z.string().min(1).max(64),
]);

export const requestFrame = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  id: frameId,
  method: z.string().min(1).max(64),
  params: z.unknown().optional(),
});

const errorBody = z.strictObject({
  code: z.enum(APP_ERROR_CODES),
  message: z.string().max(1000),
});

export const responseFrame = z.discriminatedUnion('ok', [
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    id: frameId,
    ok: z.literal(true),
    result: z.unknown().optional(),
  }),
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    id: frameId.nullable(),
    ok: z.literal(false),
    error: errorBody,
  }),
]);

export const eventFrame = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  event: z.string().min(1).max(64),
  data: z.unknown(),
});

/** Any frame the client side may receive. */
export const serverFrame = z.union([responseFrame, eventFrame]);

export type RequestFrame = z.output<typeof requestFrame>;
export type ResponseFrame = z.output<typeof responseFrame>;
export type EventFrame = z.output<typeof eventFrame>;

/** The first frame on a WebSocket: a one-time token, or a session from an earlier exchange. */
export const HELLO_METHOD = 'session.hello';
export const helloParams = z.union([
  z.strictObject({ token: d.b64u.min(16).max(256) }),
  z.strictObject({ session: d.b64u.min(16).max(256) }),
]);
export const helloResult = z.strictObject({ session: d.b64u });

// ---------------------------------------------------------------------------------------------
// Parsing

/** Path and expectation of each issue; never the offending value (it may be a secret). */
export function describeIssues(error: z.ZodError): string {
  const parts = error.issues.slice(0, 5).map((i) => {
    const path = i.path.length > 0 ? i.path.map(String).join('.') : '(root)';
    return `${path}: ${i.code}${i.code === 'invalid_type' ? ` (expected ${i.expected})` : ''}`;
  });
  if (error.issues.length > 5) parts.push(`and ${error.issues.length - 5} more`);
  return parts.join('; ');
}

const encoder = new TextEncoder();

export function frameBytes(text: string): number {
  return encoder.encode(text).length;
}

/** Text → JSON value, bounded. */
export function parseFrameText(text: unknown, maxBytes: number): unknown {
  if (typeof text !== 'string') throw new AppError('bad_request', 'frame is not text');
  // A string of n UTF-16 units has at least n UTF-8 bytes: refuse before encoding a huge one.
  if (text.length > maxBytes || frameBytes(text) > maxBytes) {
    throw new AppError('too_large', `frame over ${maxBytes} bytes`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AppError('bad_request', 'frame is not JSON');
  }
}

export type ParsedRequest =
  | { ok: true; id: FrameId; method: MethodName; params: unknown }
  | { ok: false; id: FrameId | null; error: AppError };

/** A JSON value → a request whose params match its method's schema, or the error to answer. */
export function parseRequest(raw: unknown): ParsedRequest {
  const frame = requestFrame.safeParse(raw);
  if (!frame.success) {
    const maybeId = frameId.safeParse((raw as { id?: unknown } | null)?.id);
    return {
      ok: false,
      id: maybeId.success ? maybeId.data : null,
      error: new AppError('bad_request', `malformed request frame: ${describeIssues(frame.error)}`),
    };
  }
  const { id, method } = frame.data;
  if (!isMethodName(method)) {
    return { ok: false, id, error: new AppError('unknown_method', `no method ${method}`) };
  }
  const params = METHODS[method].params.safeParse(frame.data.params);
  if (!params.success) {
    return {
      ok: false,
      id,
      error: new AppError('bad_request', `${method} params: ${describeIssues(params.error)}`),
    };
  }
  return { ok: true, id, method, params: params.data };
}

/** Checks an event's data against its schema. */
export function checkEvent(e: { event: string; data: unknown }): ParleyEvent {
  if (!isEventName(e.event)) throw new AppError('bad_request', `no event ${e.event}`);
  const data = EVENTS[e.event].safeParse(e.data);
  if (!data.success) {
    throw new AppError('bad_request', `${e.event} data: ${describeIssues(data.error)}`);
  }
  return { event: e.event, data: data.data } as ParleyEvent;
}

/** Checks a method's result against its schema. */
export function checkResult<N extends MethodName>(method: N, result: unknown): MethodResult<N> {
  const checked = METHODS[method].result.safeParse(result);
  if (!checked.success) {
    throw new AppError('internal', `${method} result: ${describeIssues(checked.error)}`);
  }
  return checked.data as MethodResult<N>;
}

export function errorFrame(id: FrameId | null, error: AppError): string {
  return JSON.stringify({
    v: PROTOCOL_VERSION,
    id,
    ok: false,
    error: { code: error.code, message: error.detail.slice(0, 1000) },
  });
}

export function resultFrame(id: FrameId, result: unknown): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, id, ok: true, result });
}

export function eventFrameText(e: ParleyEvent): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, event: e.event, data: e.data });
}
