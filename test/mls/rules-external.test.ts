/**
 * RFC 9420 §12.2 (the proposal list of an external commit) and §12.4.3.2 / §8.3 (joining by
 * external commit), as the members check them: one forged external commit per rule an outsider
 * could break. Frank builds his commit from the public GroupInfo data of the epoch
 * (test/support/evilCommitter.ts) with everything else right; every member rejects it with the
 * rule's own code and is left exactly as before, and an honest commit goes through afterwards.
 */
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../src-core/mls/credential.js';
import type { MlsErrorCode } from '../../src-core/mls/errors.js';
import { WireFormat } from '../../src-core/mls/framing/framedContent.js';
import type { FramingWireFormat } from '../../src-core/mls/framing/framedContent.js';
import { processMessage, proposeRemove } from '../../src-core/mls/group/index.js';
import { externalInitSend } from '../../src-core/mls/keySchedule.js';
import type { Proposal } from '../../src-core/mls/proposal.js';
import { ProposalType } from '../../src-core/mls/proposal.js';
import type { ForgeCommitOptions } from '../support/evilCommitter.js';
import { byRef, byValue, forgeCommit } from '../support/evilCommitter.js';
import type { RuleGroupOptions } from '../support/ruleHarness.js';
import { expectRejected, expectStillWorks, ruleGroup } from '../support/ruleHarness.js';
import { toHex } from '../support/shared.js';
import type { World } from './groupHarness.js';
import { wire } from './groupHarness.js';

type Forge = (w: World, wireFormat: FramingWireFormat) => Uint8Array;

interface Rule {
  readonly section: string;
  readonly rule: string;
  readonly code: MlsErrorCode;
  readonly forge: Forge;
  readonly group?: RuleGroupOptions;
}

const remove = (removed: number): Proposal => ({
  proposalType: ProposalType.remove,
  remove: { removed },
});

/** Frank's external commit (§12.4.3.2), made from the public GroupInfo data of Bob's epoch. */
function frank(options: (w: World) => Omit<ForgeCommitOptions, 'external'> = () => ({})): Forge {
  return (w) =>
    forgeCommit(w.state('bob'), {
      external: {
        signature: w.client('frank').signature,
        credential: w.client('frank').credential,
      },
      ...options(w),
    }).bytes;
}

function frankWith(ext: { kemOutput?: Uint8Array; externalInits?: number }): Forge {
  return (w) =>
    forgeCommit(w.state('bob'), {
      external: {
        signature: w.client('frank').signature,
        credential: w.client('frank').credential,
        ...ext,
      },
    }).bytes;
}

function sameIdentity(a: Credential, b: Credential): boolean {
  return 'identity' in a && 'identity' in b && toHex(a.identity) === toHex(b.identity);
}

const rules: Rule[] = [
  {
    section: '12.2',
    rule: 'external commit without ExternalInit',
    code: 'invalid_external_commit',
    forge: frankWith({ externalInits: 0 }),
  },
  {
    section: '12.2',
    rule: 'external commit with two ExternalInits',
    code: 'invalid_external_commit',
    forge: frankWith({ externalInits: 2 }),
  },
  {
    section: '12.2',
    rule: 'external commit with an Add',
    code: 'invalid_external_commit',
    forge: frank((w) => ({
      proposals: byValue({
        proposalType: ProposalType.add,
        add: { keyPackage: w.keyPackage('gina').keyPackage },
      }),
    })),
  },
  {
    section: '12.2',
    rule: 'external commit with two Removes',
    code: 'invalid_external_commit',
    forge: frank(() => ({ proposals: byValue(remove(3), remove(4)) })),
  },
  {
    section: '12.2',
    rule: 'external commit with a proposal by reference',
    code: 'invalid_external_commit',
    forge: (w) => {
      // A proposal every member has cached: the reference itself resolves.
      const sent = wire(proposeRemove(w.state('alice'), 3).message);
      let ref: Uint8Array | undefined;
      for (const n of ['bob', 'carol', 'dave', 'erin']) {
        const got = processMessage(w.state(n), sent);
        if (got.kind === 'proposal') ref = got.ref;
      }
      return frank(() => ({ proposals: byRef(ref!) }))(w, WireFormat.publicMessage);
    },
  },
  {
    section: '12.4.3.2',
    rule: 'external commit without a path (no key to verify the joiner by)',
    code: 'invalid_sender',
    forge: frank(() => ({ path: 'none' })),
  },
  {
    section: '8.3',
    rule: 'external commit: kem_output to another external_pub',
    code: 'invalid_confirmation_tag',
    forge: (w) => {
      const other = w.suite.generateHpkeKeyPair().publicKey;
      const { kemOutput } = externalInitSend(w.suite, other);
      return frankWith({ kemOutput })(w, WireFormat.publicMessage);
    },
  },
  {
    section: '8.3',
    rule: 'external commit: kem_output that is no KEM output',
    code: 'invalid_kem_output',
    forge: frankWith({ kemOutput: new Uint8Array(5) }),
  },
  {
    section: '12.2',
    rule: "external commit: a resync Remove of another client's leaf (identity check)",
    code: 'credential_rejected',
    group: {
      config: {
        validateCredential: (c, _k, ctx) =>
          ctx.previous === undefined || sameIdentity(ctx.previous, c),
      },
    },
    forge: frank(() => ({ proposals: byValue(remove(3)) })),
  },
];

describe('§12.2/§12.4.3.2 external commit rules', () => {
  it.each(rules.map((r) => [`§${r.section} ${r.rule} -> ${r.code}`, r] as const))(
    '%s',
    (_title, rule) => {
      const w = ruleGroup(rule.group);
      const message = rule.forge(w, WireFormat.publicMessage);
      // An outsider's commit: every member must reject it.
      expectRejected(w, message, rule.code, []);
      expectStillWorks(w, 'bob');
    },
  );

  it('external commit with a resync Remove: accepted', () => {
    const w = ruleGroup();
    const dave = w.client('dave');
    const forged = forgeCommit(w.state('bob'), {
      external: { signature: dave.signature, credential: dave.credential },
      proposals: byValue(remove(3)),
    });
    // The control: the forger's external commit, told to break nothing, is accepted.
    for (const n of ['alice', 'bob', 'carol', 'erin']) {
      const got = processMessage(w.state(n), forged.bytes);
      if (got.kind !== 'commit') throw new Error('not a commit');
      expect(got.staged.removed).toEqual([3]);
      expect(got.staged.epochAuthenticator()).toEqual(forged.epochAuthenticator);
    }
  });
});
