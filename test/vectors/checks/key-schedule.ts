import { encode } from '../../../src-core/codec/index.js';
import { cipherSuite } from '../../../src-core/crypto/index.js';
import type { CipherSuiteId } from '../../../src-core/crypto/types.js';
import { PROTOCOL_VERSION_MLS10, groupContextCodec } from '../../../src-core/mls/groupContext.js';
import { deriveEpoch } from '../../../src-core/mls/keySchedule.js';
import { hex, toHex } from '../../support/shared.js';
import type { VectorCheck } from '../registry.js';

interface Epoch {
  tree_hash: string;
  commit_secret: string;
  psk_secret: string;
  confirmed_transcript_hash: string;
  group_context: string;
  joiner_secret: string;
  welcome_secret: string;
  init_secret: string;
  sender_data_secret: string;
  encryption_secret: string;
  exporter_secret: string;
  epoch_authenticator: string;
  external_secret: string;
  confirmation_key: string;
  membership_key: string;
  resumption_psk: string;
  external_pub: string;
  exporter: { label: string; context: string; length: number; secret: string };
}

interface Case {
  cipher_suite: number;
  group_id: string;
  initial_init_secret: string;
  epochs: Epoch[];
}

function expectHex(what: string, got: Uint8Array, want: string): void {
  const g = toHex(got);
  if (g !== want) throw new Error(`${what}: got ${g}, want ${want}`);
}

const check: VectorCheck<Case> = {
  file: 'mls-test-vectors/key-schedule.json',
  label: (tc, i) => `#${i} suite ${tc.cipher_suite}, ${tc.epochs.length} epochs`,
  check(tc) {
    const suite = cipherSuite(tc.cipher_suite as CipherSuiteId);
    let initSecret = hex(tc.initial_init_secret);
    tc.epochs.forEach((e, i) => {
      const at = (what: string): string => `epoch ${i} ${what}`;
      const groupContext = encode(groupContextCodec, {
        version: PROTOCOL_VERSION_MLS10,
        cipherSuite: tc.cipher_suite,
        groupId: hex(tc.group_id),
        epoch: BigInt(i),
        treeHash: hex(e.tree_hash),
        confirmedTranscriptHash: hex(e.confirmed_transcript_hash),
        extensions: [],
      });
      expectHex(at('group_context'), groupContext, e.group_context);
      const next = deriveEpoch(suite, {
        initSecret,
        commitSecret: hex(e.commit_secret),
        pskSecret: hex(e.psk_secret),
        groupContext,
      });
      const ep = next.epoch;
      expectHex(at('joiner_secret'), next.joinerSecret, e.joiner_secret);
      expectHex(at('welcome_secret'), next.welcomeSecret, e.welcome_secret);
      expectHex(at('init_secret'), ep.initSecret, e.init_secret);
      expectHex(at('sender_data_secret'), ep.senderDataSecret, e.sender_data_secret);
      expectHex(at('encryption_secret'), ep.encryptionSecret, e.encryption_secret);
      expectHex(at('exporter_secret'), ep.exporterSecret, e.exporter_secret);
      expectHex(at('epoch_authenticator'), ep.epochAuthenticator, e.epoch_authenticator);
      expectHex(at('external_secret'), ep.externalSecret, e.external_secret);
      expectHex(at('confirmation_key'), ep.confirmationKey, e.confirmation_key);
      expectHex(at('membership_key'), ep.membershipKey, e.membership_key);
      expectHex(at('resumption_psk'), ep.resumptionPsk, e.resumption_psk);
      expectHex(at('external_pub'), ep.externalPub, e.external_pub);
      // The vector's exporter label is a string that happens to look like hex: it is used as is.
      const x = e.exporter;
      expectHex(at('exporter'), ep.exporter(x.label, hex(x.context), x.length), x.secret);
      // Hand the next init_secret over and end the epoch, as a member merging a commit would.
      initSecret = ep.take('init');
      ep.destroy();
    });
  },
};

export default check;
