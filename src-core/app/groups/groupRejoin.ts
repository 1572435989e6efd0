/**
 * Rejoining a group by external commit (delivery/externalRejoin.ts), wired into the app: a member
 * whose state cannot follow its group any more — killed between sending a commit and merging it
 * (MLS cannot process its own commit after a restart), or past its fork window on a branch that
 * lost — takes its own leaf back with a resync commit ordered by the leader, instead of waiting
 * for the leader to remove and re-add it.
 *
 * Three parts:
 * - a GroupInfo server on our request port ('groupinfo'): the delivery layer serves only a
 *   requester whose leaf key is in the group's current tree and who proves holding it; we narrow
 *   that to a peer that is a device of the very user that leaf belongs to (a contact, or one of our
 *   own devices), and serve nothing for a group whose session is rejoining itself;
 * - the session's `rejoin` option: a fetcher asking the group's channel peers first, then the
 *   connected devices of its members, and the `sameMember` rule (same signature key, or the same
 *   user's same device, not revoked: another user's device never takes a leaf);
 * - after `rejoined`: the new state is stored in the group's next batch (one transaction, as any
 *   epoch change) with a `keys_updated` membership entry of ours (detail `rejoined`): a resync
 *   renews our leaf, and nobody left or joined, so the others log no removal or addition.
 */
import type { ExternalRejoinOptions } from '../../delivery/externalRejoin.js';
import { GroupInfoServer, fetchGroupInfo } from '../../delivery/groupInfoService.js';
import type { GroupSession } from '../../delivery/groupSession.js';
import type { PeerIdString } from '../../delivery/ports.js';
import type { IdentityRecordSource } from '../../identity/index.js';
import { isRevoked, parseParleyCredential } from '../../identity/index.js';
import type { GroupMember } from '../../mls/client/index.js';
import type { GroupEntry, GroupHub } from './groupHub.js';
import { userIdOfCredential } from './groupRules.js';
import { hexOf } from './messageLedger.js';

/** How long one peer may take over one 'groupinfo' request (ms). */
const FETCH_TIMEOUT_MS = 5_000;
/** Peers asked per fetch at most (the delivery layer retries with a fresh fetch). */
const FETCH_PEERS = 8;

/** The detail of the membership entry a rejoin leaves in our own log. */
export const REJOINED_DETAIL = 'rejoined';

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);

/**
 * Whether `joiner` may take `removed`'s leaf by a resync: the same leaf signature key (only its
 * holder can sign with it), or the same user key and the same device key (a device whose leaf key
 * changed), as the credential validator's `previous` rule says, and that device not revoked in
 * the newest record we hold. Anything else — another user, another device of the same user, a
 * credential that is no Parley identity — is refused.
 */
export function sameParleyMember(
  records: IdentityRecordSource,
): (removed: GroupMember, joiner: GroupMember) => boolean {
  return (removed, joiner) => {
    if (equalBytes(removed.signatureKey, joiner.signatureKey)) return true;
    try {
      const before = parseParleyCredential(removed.credential);
      const after = parseParleyCredential(joiner.credential);
      const deviceKey = after.deviceCertificate.deviceKey;
      if (!equalBytes(before.userKey, after.userKey)) return false;
      if (!equalBytes(before.deviceCertificate.deviceKey, deviceKey)) return false;
      const record = records.newestRecord(after.userKey);
      return record === undefined || !isRevoked(record, deviceKey);
    } catch {
      return false;
    }
  };
}

export class GroupRejoin {
  constructor(private readonly hub: GroupHub) {}

  /** Serves GroupInfos of our groups over 'groupinfo'; returns the way to stop. */
  serve(): () => void {
    const s = this.hub.session;
    const server = new GroupInfoServer({
      requests: s.ports.requests,
      self: s.node.peerId,
      clock: s.ports.clock,
      group: (groupId) => {
        const e = this.hub.groups.get(hexOf(groupId));
        const session = e?.session;
        if (e === undefined || e.meta.state !== 'active' || session === undefined) return undefined;
        // A session rejoining is not on a state worth handing out (delivery README).
        return session.isRunning && !session.isRejoining ? session.group : undefined;
      },
      mayServe: (requester, from) => this.#requesterIsPeer(requester, from),
    });
    return () => server.close();
  }

  /**
   * The asking peer is a device of the user whose leaf holds `requester` in one of our groups:
   * a member's key alone does not make any peer that presents it one we talk to.
   */
  #requesterIsPeer(requester: Uint8Array, from: PeerIdString): boolean {
    const user = this.hub.session.contacts.contactOfPeer(from);
    if (user === undefined) return false;
    for (const e of this.hub.groups.values()) {
      const group = e.session?.group;
      if (group === undefined || !group.isActive) continue;
      const leaf = group.members().find((m) => equalBytes(m.signatureKey, requester));
      if (leaf !== undefined && userIdOfCredential(leaf.credential) === user) return true;
    }
    return false;
  }

  /** The session's `rejoin` option for group `e`. */
  options(e: GroupEntry): ExternalRejoinOptions {
    return {
      fetchGroupInfo: async (group) => {
        const answers = await fetchGroupInfo(
          this.hub.session.ports.requests,
          this.#peers(e),
          group,
          {
            timeoutMs: FETCH_TIMEOUT_MS,
            maxPeers: FETCH_PEERS,
          },
        );
        return answers.flatMap((a) => (a.groupInfo === undefined ? [] : [a.groupInfo]));
      },
      sameMember: sameParleyMember(this.hub.session.records),
    };
  }

  /** The group channel's peers first (they follow the group now), then members' other devices. */
  #peers(e: GroupEntry): PeerIdString[] {
    const s = this.hub.session;
    const out = new Set<PeerIdString>();
    for (const p of this.hub.onlinePeers(e)) if (this.hub.sync.authorized(p, e.hex)) out.add(p);
    for (const p of s.node.connectedPeers()) if (this.hub.sync.authorized(p, e.hex)) out.add(p);
    out.delete(s.node.peerId);
    return [...out];
  }

  /**
   * After a rejoin the session runs on a new group state (the stuck one is destroyed): it is ours
   * at once, and stored with our log entry in the group's next batch.
   */
  attach(e: GroupEntry, session: GroupSession): () => void {
    return session.on('rejoined', (ev) => {
      e.group = session.group;
      e.committer = undefined;
      // The external commit's path renewed our leaf: as good as a key update of ours.
      e.meta.sentSinceUpdate = 0;
      e.meta.lastUpdateMs = this.hub.ctx.nowMs();
      const me = this.hub.myUserId;
      void this.hub
        .persist(e, (tx) =>
          this.hub.logEntry(tx, e, 'keys_updated', me, me, REJOINED_DETAIL, ev.epoch),
        )
        .then((entry) => {
          this.hub.emitLog(e, entry);
          this.hub.views.emitGroup(e);
        })
        .catch(() => undefined);
    });
  }
}
