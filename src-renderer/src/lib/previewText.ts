/** A message preview as one line (chat list, reply quotes): an attachment shows its file name. */
import type { MessagePreview } from '../../../src-core/app/api.js';

export function previewText(p: MessagePreview): string {
  if (p.attachmentName === null) return p.text;
  const file = `📎 ${p.attachmentName}`;
  return p.text.length === 0 ? file : `${file} ${p.text}`;
}
