import type { QrMatrix } from '../../../src-core/app/api.js';
import { fromBase64Url } from './bytes.js';

/** One SVG path for the dark modules, drawn as unit squares: no library, no inline markup. */
export function qrPath(qr: QrMatrix): string {
  const modules = fromBase64Url(qr.modules);
  const parts: string[] = [];
  for (let y = 0; y < qr.size; y++) {
    for (let x = 0; x < qr.size; x++) {
      if (modules[y * qr.size + x]) parts.push(`M${x} ${y}h1v1h-1z`);
    }
  }
  return parts.join('');
}
