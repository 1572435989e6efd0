/**
 * Rejoining by external commit in the simulation, wired as the app wires it
 * (src-core/app/groups/groupRejoin.ts): each incarnation serves the GroupInfo of its running session
 * on its request port, and the session's `rejoin` option fetches GroupInfos from the peers on the
 * group's channel. The app's narrower serving rule (a device of the member's user) has no
 * counterpart here: every simulated peer is its own user.
 */
import { groupChannel } from '../../../src-core/delivery/channel.js';
import type { ExternalRejoinOptions } from '../../../src-core/delivery/externalRejoin.js';
import { GroupInfoServer, fetchGroupInfo } from '../../../src-core/delivery/groupInfoService.js';
import type { GroupSession } from '../../../src-core/delivery/groupSession.js';
import { bytesEqual } from '../../../src-core/delivery/orderingRecord.js';
import type { DeliveryPorts } from '../../../src-core/delivery/ports.js';

/** Serves our session's group; nothing while it is down, stopped or rejoining itself. */
export function serveGroupInfo(
  ports: DeliveryPorts,
  self: string,
  session: () => GroupSession | undefined,
): GroupInfoServer {
  return new GroupInfoServer({
    requests: ports.requests,
    self,
    clock: ports.clock,
    group: (groupId) => {
      const s = session();
      if (s === undefined || !s.isRunning || s.isRejoining) return undefined;
      return bytesEqual(s.group.groupId, groupId) ? s.group : undefined;
    },
  });
}

/** The session's `rejoin` option: GroupInfos from the group channel's peers. */
export function rejoinOptions(ports: DeliveryPorts, timeoutMs: number): ExternalRejoinOptions {
  return {
    fetchGroupInfo: async (group) => {
      const peers = ports.channels.subscribers(groupChannel(group.groupId));
      const answers = await fetchGroupInfo(ports.requests, peers, group, { timeoutMs });
      return answers.flatMap((a) => (a.groupInfo === undefined ? [] : [a.groupInfo]));
    },
  };
}
