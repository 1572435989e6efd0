import { decode, encode } from '../../../src-core/codec/index.js';
import type { Codec } from '../../../src-core/codec/index.js';
import { commitCodec } from '../../../src-core/mls/commit.js';
import { ContentType, WireFormat } from '../../../src-core/mls/framing/framedContent.js';
import type { MlsMessage } from '../../../src-core/mls/framing/mlsMessage.js';
import { mlsMessageCodec } from '../../../src-core/mls/framing/mlsMessage.js';
import {
  addCodec,
  externalInitCodec,
  groupContextExtensionsCodec,
  preSharedKeyCodec,
  reInitCodec,
  removeCodec,
  updateCodec,
} from '../../../src-core/mls/proposal.js';
import { ratchetTreeCodec } from '../../../src-core/mls/ratchetTreeExtension.js';
import { groupSecretsCodec } from '../../../src-core/mls/welcome.js';
import { hex, toHex } from '../../support/shared.js';
import type { VectorCheck } from '../registry.js';

interface Case {
  mls_welcome: string;
  mls_group_info: string;
  mls_key_package: string;
  ratchet_tree: string;
  group_secrets: string;
  add_proposal: string;
  update_proposal: string;
  remove_proposal: string;
  pre_shared_key_proposal: string;
  re_init_proposal: string;
  external_init_proposal: string;
  group_context_extensions_proposal: string;
  commit: string;
  public_message_application: string;
  public_message_proposal: string;
  public_message_commit: string;
  private_message: string;
}

/** What an MLSMessage field must be, beyond decoding: its wire format and, if framed, its content. */
type Expect = (m: MlsMessage) => string | undefined;

function wireFormat(want: number): Expect {
  return (m) => (m.wireFormat === want ? undefined : `wire_format ${m.wireFormat}, want ${want}`);
}

function publicWith(contentType: number): Expect {
  return (m) => {
    if (m.wireFormat !== WireFormat.publicMessage)
      return `wire_format ${m.wireFormat}, want public message`;
    const got = m.publicMessage.content.contentType;
    return got === contentType ? undefined : `content_type ${got}, want ${contentType}`;
  };
}

// Every field of the vector file, each with the structure test-vectors.md names for it.
const structs: { readonly [K in keyof Case]: Codec<unknown> } = {
  mls_welcome: mlsMessageCodec,
  mls_group_info: mlsMessageCodec,
  mls_key_package: mlsMessageCodec,
  ratchet_tree: ratchetTreeCodec,
  group_secrets: groupSecretsCodec,
  add_proposal: addCodec,
  update_proposal: updateCodec,
  remove_proposal: removeCodec,
  pre_shared_key_proposal: preSharedKeyCodec,
  re_init_proposal: reInitCodec,
  external_init_proposal: externalInitCodec,
  group_context_extensions_proposal: groupContextExtensionsCodec,
  commit: commitCodec,
  public_message_application: mlsMessageCodec,
  public_message_proposal: mlsMessageCodec,
  public_message_commit: mlsMessageCodec,
  private_message: mlsMessageCodec,
};

const messageExpectations: { readonly [K in keyof Case]?: Expect } = {
  mls_welcome: wireFormat(WireFormat.welcome),
  mls_group_info: wireFormat(WireFormat.groupInfo),
  mls_key_package: wireFormat(WireFormat.keyPackage),
  public_message_application: publicWith(ContentType.application),
  public_message_proposal: publicWith(ContentType.proposal),
  public_message_commit: publicWith(ContentType.commit),
  private_message: wireFormat(WireFormat.privateMessage),
};

const FIELDS = Object.keys(structs) as (keyof Case)[];

const check: VectorCheck<Case> = {
  file: 'mls-test-vectors/messages.json',
  label: (_tc, i) => `#${i}`,
  check(tc) {
    const unknownFields = Object.keys(tc).filter((k) => !(k in structs));
    if (unknownFields.length > 0)
      throw new Error(`fields without a check: ${unknownFields.join(', ')}`);
    for (const field of FIELDS) {
      const want = tc[field];
      if (typeof want !== 'string') throw new Error(`${field}: missing`);
      const codec = structs[field];
      let value: unknown;
      try {
        value = decode(codec, hex(want));
      } catch (e) {
        throw new Error(`${field}: does not decode: ${(e as Error).message}`, { cause: e });
      }
      const expectation = messageExpectations[field];
      const problem = expectation?.(value as MlsMessage);
      if (problem !== undefined) throw new Error(`${field}: ${problem}`);
      const got = toHex(encode(codec, value));
      if (got !== want) throw new Error(`${field}: re-encodes to different bytes`);
    }
  },
};

export default check;
