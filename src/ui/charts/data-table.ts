// The data-table view behind each figure (plotly itself is not keyboard or screen-reader accessible).

export interface DataTable {
  caption: string;
  /** Header cells; the first column labels the rows. */
  columns: string[];
  rows: string[][];
  /** Shown under the table, e.g. that only the last rows are listed. */
  note?: string;
}

/** Rows listed at most, newest last: a long run would otherwise make a table of thousands of rows. */
export const TABLE_ROW_LIMIT = 200;

/** A number with 4 significant digits, exponent notation when very large or small; '—' when missing. */
export function formatValue(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (x === 0) return '0';
  const magnitude = Math.abs(x);
  if (magnitude >= 1e5 || magnitude < 1e-3) return x.toExponential(2);
  return Number(x.toPrecision(4)).toString();
}

/** Accuracy in [0, 1] as a percentage with one decimal. */
export function formatPercent(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return `${(x * 100).toFixed(1)}%`;
}

export function formatSeconds(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** The last `limit` of `count` row indices, and the note saying so when rows were left out. */
export function lastRows(count: number, limit = TABLE_ROW_LIMIT): { start: number; note: string | undefined } {
  if (count <= limit) return { start: 0, note: undefined };
  return { start: count - limit, note: `Showing the last ${limit} of ${count.toLocaleString('en-US')} rows.` };
}
