// Shared plumbing for the pure figure builders.

import type { Data, Layout, Shape } from 'plotly.js-dist-min';

/** What a builder returns and Plotly.react draws. */
export interface PlotFigure {
  data: Data[];
  layout: Partial<Layout>;
}

/**
 * Plotly reads trace names and annotation texts as a small HTML subset (<b>, <br>, <a href>). Run labels come
 * from the URL, so they are entity-escaped and shown literally.
 */
export function plotlyText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Long labels are cut for the in-plot text (the legend, hover and table keep them whole). */
export function shortLabel(label: string, maxChars = 18): string {
  const chars = [...label];
  return chars.length <= maxChars ? label : `${chars.slice(0, maxChars - 1).join('')}…`;
}

/** The plots keep a white background in dark mode too: the palette (black, yellow) is chosen for it, and PNGs print well. */
export const PLOT_THEME = {
  paper_bgcolor: '#ffffff',
  plot_bgcolor: '#ffffff',
  font: { family: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', size: 12, color: '#1b1f24' },
} as const satisfies Partial<Layout>;

export const GRID_COLOR = '#e5e7eb';

/**
 * A labelled horizontal reference line across the plot at data value y (a target, the damping λ).
 * Shapes, unlike annotations, take data values on a log axis, so this works on log-y too.
 */
export function horizontalLine(y: number, line: Partial<Shape['line']>, label: Partial<NonNullable<Shape['label']>>): Partial<Shape> {
  return { type: 'line', xref: 'paper', x0: 0, x1: 1, yref: 'y', y0: y, y1: y, line, label: { yanchor: 'bottom', ...label } };
}
