/** The chat list's last-message line. */
import { describe, expect, it } from 'vitest';
import { previewText } from '../../src-renderer/src/lib/previewText.js';

const base = { messageId: 'm1', senderName: 'Alice', sentAt: 1 };

describe('a message preview in one line', () => {
  it('text as is; an attachment by its file name, with its caption if any', () => {
    expect(previewText({ ...base, text: 'hi', attachmentName: null })).toBe('hi');
    expect(previewText({ ...base, text: '', attachmentName: 'photo.png' })).toBe('📎 photo.png');
    expect(previewText({ ...base, text: 'the crag', attachmentName: 'photo.png' })).toBe(
      '📎 photo.png the crag',
    );
  });
});
