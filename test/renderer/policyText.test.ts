/** The membership log's rule changes and durations as the group screen words them. */
import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../src-renderer/src/lib/format.js';
import { describePolicyChange } from '../../src-renderer/src/lib/policyText.js';

describe('rule changes in words', () => {
  it('durations in the largest exact unit', () => {
    expect(formatDuration(86_400_000)).toBe('1 day');
    expect(formatDuration(7 * 86_400_000)).toBe('7 days');
    expect(formatDuration(36 * 3_600_000)).toBe('36 hours');
    expect(formatDuration(3_600_000)).toBe('1 hour');
    expect(formatDuration(90 * 60_000)).toBe('90 minutes');
  });

  it('each field the app writes, and an unknown one as written', () => {
    expect(describePolicyChange('disappearAfterMs=3600000, removeIdleAfterMs=off')).toBe(
      'changed the rules: messages disappear after 1 hour; idle members are no longer removed',
    );
    expect(describePolicyChange('membership=everyone')).toBe(
      'changed the rules: everyone may add and remove members',
    );
    expect(describePolicyChange('keyUpdateAfterMs=172800000, keyUpdateAfterMessages=500')).toBe(
      'changed the rules: keys are updated every 2 days; keys are updated after 500 messages',
    );
    expect(describePolicyChange('removeIdleAfterMs=2592000000, disappearAfterMs=off')).toBe(
      'changed the rules: members offline for 30 days are removed; messages no longer disappear',
    );
    expect(describePolicyChange('futureRule=7, disappearAfterMs=soon')).toBe(
      'changed the rules: futureRule=7; disappearAfterMs=soon',
    );
    expect(describePolicyChange(null)).toBe('changed the rules');
  });
});
