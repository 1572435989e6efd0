/**
 * What a simulated member's group looks like to the trace: member names from credentials, hex
 * byte strings, and a state's view (what convergence compares).
 */
import type { Group, GroupMember } from '../../../src-core/mls/client/index.js';
import type { StateView } from './trace.js';

const decoder = new TextDecoder();

export function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

export function nameOf(m: GroupMember): string {
  const c = m.credential;
  return 'identity' in c ? decoder.decode(c.identity) : '?';
}

/** A state's view; a state that removed us has no epoch secrets, hence no authenticator. */
export function viewOf(group: Group): StateView {
  const state = group.state;
  return {
    epoch: group.epoch,
    treeHash: hex(state.groupContext.treeHash),
    epochAuthenticator: group.isActive ? hex(group.epochAuthenticator()) : 'none (removed)',
    roster: group.members().map(nameOf).sort(),
  };
}
