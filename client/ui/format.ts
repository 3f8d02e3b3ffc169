/**
 * Number formatting for the dashboard: bytes with binary-free SI units, rates, durations,
 * ratios.
 *
 * @example
 * formatBytes(1_536_000); // '1.54 MB'
 * formatRate(12_300); // '12.3 kB/s'
 * formatDuration(3_725_000); // '1 h 02 min'
 */

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '-';
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value.toFixed(0) : value.toPrecision(3)} ${UNITS[unit]}`;
}

/** Bytes per second; '-' when unknown. */
export function formatRate(bytesPerSecond: number | null): string {
  if (bytesPerSecond === null || !Number.isFinite(bytesPerSecond)) return '-';
  return `${formatBytes(bytesPerSecond)}/s`;
}

export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '-';
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/**
 * A duration for people: '0.4 s', '12 s', '3 min 05 s', '1 h 02 min', '2 d 03 h'; '-' when
 * unknown. Below 10 s one decimal (a countdown of a second still moves), then whole units.
 */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '-';
  const clamped = Math.max(0, ms);
  if (clamped < 10_000) return `${(Math.floor(clamped / 100) / 10).toFixed(1)} s`;
  const seconds = Math.floor(clamped / 1000);
  if (seconds < 60) return `${seconds} s`;
  const pad = (n: number): string => String(n).padStart(2, '0');
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${pad(seconds % 60)} s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${pad(minutes % 60)} min`;
  return `${Math.floor(hours / 24)} d ${pad(hours % 24)} h`;
}

/** Time per round: milliseconds below a second ('85 ms'), else as formatDuration ('1.2 s'). */
export function formatPace(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '-';
  return ms < 1000 ? formatMs(ms) : formatDuration(ms);
}

export function formatNumber(value: number | null, digits = 3): string {
  if (value === null || !Number.isFinite(value)) return '-';
  return value.toPrecision(digits);
}

export function formatPercent(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '-';
  return `${(value * 100).toFixed(1)} %`;
}
