// The HTML legend under a plot: a line, marker or swatch sample per entry, then its label.

import type { LegendItem } from './legend-items.ts';
import { dashArray } from './legend-items.ts';

/** Marker outlines centred on (0, 0), about 8 px across, for the plotly symbols the palette uses. */
const SYMBOL_PATHS: Record<string, string> = {
  square: 'M-3.5-3.5h7v7h-7z',
  diamond: 'M0-4.5L4.5 0L0 4.5L-4.5 0z',
  'triangle-up': 'M0-4.5L4.5 3.5H-4.5z',
  x: 'M-3.5-2L-2-3.5L0-1.5L2-3.5L3.5-2L1.5 0L3.5 2L2 3.5L0 1.5L-2 3.5L-3.5 2L-1.5 0z',
  star: 'M0-4.5L1.1-1.4L4.3-1.4L1.7 0.5L2.7 3.6L0 1.7L-2.7 3.6L-1.7 0.5L-4.3-1.4L-1.1-1.4z',
};

/** Fill-pattern strokes in a 14 px swatch, for plotly's pattern shapes. */
const PATTERN_PATHS: Record<string, string> = {
  '/': 'M0 14L14 0M-7 7L7-7M7 21L21 7',
  '\\': 'M0 0L14 14M-7 7L7 21M7-7L21 7',
  x: 'M0 14L14 0M0 0L14 14',
  '-': 'M0 3.5H14M0 10.5H14',
  '|': 'M3.5 0V14M10.5 0V14',
  '+': 'M0 7H14M7 0V14',
  '.': 'M3.5 3.5h.01M10.5 3.5h.01M3.5 10.5h.01M10.5 10.5h.01M7 7h.01',
};

function Sample({ item }: { item: LegendItem }) {
  if (item.pattern !== undefined) {
    return (
      <svg className="chart-legend-sample" width="14" height="14" viewBox="0 0 14 14" aria-hidden="true">
        <rect width="14" height="14" fill={item.color} />
        {item.pattern && (
          <path
            d={PATTERN_PATHS[item.pattern] ?? ''}
            stroke="#fff"
            strokeOpacity="0.75"
            strokeWidth={item.pattern === '.' ? 3 : 1.5}
            strokeLinecap="round"
          />
        )}
      </svg>
    );
  }
  const symbol = item.symbol === undefined ? null : (SYMBOL_PATHS[item.symbol] ?? null);
  return (
    <svg className="chart-legend-sample" width="30" height="12" viewBox="0 0 30 12" aria-hidden="true">
      {item.dash !== undefined && (
        <line x1="1" y1="6" x2="29" y2="6" stroke={item.color} strokeWidth="2" strokeDasharray={dashArray(item.dash)} />
      )}
      {item.symbol !== undefined &&
        (symbol === null ? (
          <circle cx="15" cy="6" r="3.5" fill={item.color} />
        ) : (
          <path d={symbol} transform="translate(15 6)" fill={item.color} />
        ))}
    </svg>
  );
}

export function ChartLegend({ items }: { items: readonly LegendItem[] }) {
  if (items.length === 0) return null;
  return (
    <ul className="chart-legend" aria-label="Legend">
      {items.map((item, i) => (
        <li key={i}>
          <Sample item={item} />
          <span>{item.label}</span>
        </li>
      ))}
    </ul>
  );
}
