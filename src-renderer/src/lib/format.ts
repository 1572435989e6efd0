const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const date = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatTime(ms: number): string {
  const d = new Date(ms);
  return Date.now() - ms < 86_400_000 ? time.format(d) : date.format(d);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function percent(done: number, total: number): number {
  return total === 0 ? 100 : Math.min(100, Math.floor((done / total) * 100));
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A duration in the largest whole unit that fits it exactly: "1 day", "36 hours", "90 minutes". */
export function formatDuration(ms: number): string {
  const [n, unit] =
    ms % DAY === 0
      ? [ms / DAY, 'day']
      : ms % HOUR === 0
        ? [ms / HOUR, 'hour']
        : [Math.round(ms / MINUTE), 'minute'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
