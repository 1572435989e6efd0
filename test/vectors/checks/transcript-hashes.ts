import { decode } from '../../../src-core/codec/index.js';
import { cipherSuite } from '../../../src-core/crypto/index.js';
import type { CipherSuiteId } from '../../../src-core/crypto/types.js';
import {
  authenticatedContentCodec,
  verifyConfirmationTag,
} from '../../../src-core/mls/framing/authenticatedContent.js';
import { ContentType } from '../../../src-core/mls/framing/framedContent.js';
import { nextTranscriptHashes } from '../../../src-core/mls/framing/transcriptHash.js';
import { hex, toHex } from '../../support/shared.js';
import type { VectorCheck } from '../registry.js';

interface Case {
  cipher_suite: number;
  confirmation_key: string;
  authenticated_content: string;
  interim_transcript_hash_before: string;
  confirmed_transcript_hash_after: string;
  interim_transcript_hash_after: string;
}

const check: VectorCheck<Case> = {
  file: 'mls-test-vectors/transcript-hashes.json',
  label: (tc, i) => `#${i} suite ${tc.cipher_suite}`,
  check(tc) {
    const suite = cipherSuite(tc.cipher_suite as CipherSuiteId);
    const ac = decode(authenticatedContentCodec, hex(tc.authenticated_content));
    if (ac.content.contentType !== ContentType.commit) {
      throw new Error(
        `authenticated_content has content type ${ac.content.contentType}, want commit`,
      );
    }
    // Throws MlsError('invalid_confirmation_tag') on a mismatch.
    verifyConfirmationTag(
      suite,
      hex(tc.confirmation_key),
      hex(tc.confirmed_transcript_hash_after),
      ac.auth.confirmationTag,
    );
    const got = nextTranscriptHashes(suite, hex(tc.interim_transcript_hash_before), ac);
    const confirmed = toHex(got.confirmedTranscriptHash);
    if (confirmed !== tc.confirmed_transcript_hash_after) {
      throw new Error(
        `confirmed_transcript_hash ${confirmed}, want ${tc.confirmed_transcript_hash_after}`,
      );
    }
    const interim = toHex(got.interimTranscriptHash);
    if (interim !== tc.interim_transcript_hash_after) {
      throw new Error(
        `interim_transcript_hash ${interim}, want ${tc.interim_transcript_hash_after}`,
      );
    }
  },
};

export default check;
