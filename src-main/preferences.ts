/**
 * Desktop preferences that belong to this machine, not to the profile: whether notifications
 * show message content, and how the profile's database key was protected when it was created
 * (so an existing profile keeps it; see keychain.ts `chooseKeyProtection`). A small JSON file in
 * userData, read as untrusted input: anything invalid gives the defaults.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import type { KeyProtection } from '../src-core/app/api.js';

export interface Preferences {
  /** Default false: a notification says a message arrived, not who sent what. */
  notificationContent: boolean;
  /** Recorded when no profile exists yet; null when never recorded. */
  keyProtection: KeyProtection | null;
}

export const DEFAULT_PREFERENCES: Preferences = {
  notificationContent: false,
  keyProtection: null,
};

const schema = z.strictObject({
  version: z.literal(1),
  notificationContent: z.boolean(),
  keyProtection: z.enum(['keychain', 'passphrase']).nullable(),
});

export function parsePreferences(text: string): Preferences {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ...DEFAULT_PREFERENCES };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ...DEFAULT_PREFERENCES };
  return {
    notificationContent: parsed.data.notificationContent,
    keyProtection: parsed.data.keyProtection,
  };
}

export async function loadPreferences(path: string): Promise<Preferences> {
  try {
    const text = await readFile(path, 'utf8');
    return text.length > 4096 ? { ...DEFAULT_PREFERENCES } : parsePreferences(text);
  } catch {
    return { ...DEFAULT_PREFERENCES };
  }
}

export async function savePreferences(path: string, prefs: Preferences): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ version: 1, ...prefs })}\n`, { mode: 0o600 });
  await rename(tmp, path);
}
