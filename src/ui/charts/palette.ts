// Colours and line styles: one colour-blind-safe colour and one dash per run, fixed phase colours.

/**
 * Okabe–Ito (docs/lab-ux.md, "Charts") but with yellow moved last: it has the weakest contrast on the
 * white plot background, so it is only used from the eighth run on.
 */
export const RUN_COLORS: string[] = ['#E69F00', '#56B4E9', '#009E73', '#0072B2', '#D55E00', '#CC79A7', '#000000', '#F0E442'];

/**
 * Plotly dash names. Six dashes against eight colours: the pair (colour, dash) repeats only after 24 runs,
 * and runs stay apart in greyscale prints and for readers who cannot tell two colours apart.
 */
export const RUN_DASHES: string[] = ['solid', 'dash', 'dot', 'dashdot', 'longdash', 'longdashdot'];

/** Marker symbols for evaluated points, cycling like the dashes. */
export const RUN_SYMBOLS: string[] = ['circle', 'square', 'diamond', 'triangle-up', 'x', 'star'];

export interface RunStyle {
  color: string;
  dash: string;
}

export function runStyle(index: number): RunStyle {
  const i = Math.max(0, Math.trunc(index));
  return { color: RUN_COLORS[i % RUN_COLORS.length], dash: RUN_DASHES[i % RUN_DASHES.length] };
}

export function runSymbol(index: number): string {
  return RUN_SYMBOLS[Math.max(0, Math.trunc(index)) % RUN_SYMBOLS.length];
}

/**
 * The phases the runner times, in step order: K-FAC's six (KFAC_PHASES in the engine) of which first-order
 * runs have forward, backward and update. Listed here rather than imported so the main bundle does not
 * pull in the optimizer modules; unknown phases still show, after these, in grey.
 */
export const PHASE_ORDER = ['forward', 'backward', 'factors', 'inverses', 'precondition', 'update'] as const;

/** One colour and one fill pattern per phase, the same in every chart, so a phase is recognisable without colour too. */
const PHASE_STYLES: Record<string, { color: string; pattern: string }> = {
  forward: { color: '#56B4E9', pattern: '' },
  backward: { color: '#0072B2', pattern: '/' },
  factors: { color: '#E69F00', pattern: 'x' },
  inverses: { color: '#D55E00', pattern: '.' },
  precondition: { color: '#CC79A7', pattern: '\\' },
  update: { color: '#009E73', pattern: '-' },
};
const OTHER_PHASE_STYLE = { color: '#999999', pattern: '+' };

export function phaseStyle(phase: string): { color: string; pattern: string } {
  return Object.hasOwn(PHASE_STYLES, phase) ? PHASE_STYLES[phase] : OTHER_PHASE_STYLE;
}

/**
 * Diverging scale for the Kronecker factors (orange for negative, grey at zero, blue for positive); the
 * heatmaps set zmin = −zmax so grey is exactly 0.
 */
export const DIVERGING_SCALE: [number, string][] = [
  [0, '#8c3d00'],
  [0.25, '#e69f00'],
  [0.5, '#d9d9d9'],
  [0.75, '#56b4e9'],
  [1, '#0b4f8a'],
];

/** One-sided data (spectra): a perceptually uniform scale that stays readable in greyscale. */
export const SEQUENTIAL_SCALE = 'Viridis';
