// Legend entries drawn in HTML under each plot (plotly's own legend collides with its mode bar and axis
// titles on small plots; an HTML list wraps freely and is read by screen readers).

import { phaseStyle, runStyle, runSymbol } from './palette.ts';

export interface LegendItem {
  label: string;
  color: string;
  /** A line sample with this plotly dash name… */
  dash?: string;
  /** …and/or a marker with this plotly symbol name… */
  symbol?: string;
  /** …or a filled swatch with this plotly fill pattern ('' = plain). */
  pattern?: string;
}

/** Plotly's dash names as SVG dash arrays for a 2 px line (plotly scales its patterns with the line width the same way). */
export function dashArray(dash: string | undefined): string | undefined {
  switch (dash) {
    case 'dot':
      return '2 3';
    case 'dash':
      return '6 4';
    case 'longdash':
      return '10 4';
    case 'dashdot':
      return '6 3 2 3';
    case 'longdashdot':
      return '10 3 2 3';
    default:
      return undefined; // solid, or an unknown name
  }
}

export function runLegend(labels: readonly string[], withMarkers: boolean): LegendItem[] {
  return labels.map((label, run) => ({ label, ...runStyle(run), ...(withMarkers ? { symbol: runSymbol(run) } : {}) }));
}

export function phaseLegend(phases: readonly string[]): LegendItem[] {
  return phases.map((phase) => ({ label: phase, ...phaseStyle(phase) }));
}
