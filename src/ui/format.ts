// Number formatting for the status and self-check panels.

const BYTE_UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1 && value % 1024 === 0) {
    value /= 1024;
    unit++;
  }
  return `${value.toLocaleString('en-US')} ${BYTE_UNITS[unit]}`;
}

/** Limits named "...Size" are byte counts, except the workgroup dimensions. */
export function formatLimit(name: string, value: number): string {
  const isBytes = /Size$/.test(name) && !/WorkgroupSize[XYZ]$/.test(name);
  return isBytes ? formatBytes(value) : value.toLocaleString('en-US');
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '—';
  return ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(0)} ms`;
}

export function formatError(x: number | undefined): string {
  if (x === undefined) return '—';
  if (x === 0) return '0';
  return x.toExponential(1);
}
