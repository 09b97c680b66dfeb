import { describe, expect, it } from 'vitest';
import { dashArray, phaseLegend, runLegend } from '../../src/ui/charts/legend-items.ts';
import { phaseStyle, PHASE_ORDER, RUN_COLORS, RUN_DASHES, runStyle } from '../../src/ui/charts/palette.ts';

describe('palette', () => {
  it('is Okabe–Ito with yellow last', () => {
    expect(RUN_COLORS).toHaveLength(8);
    expect(RUN_COLORS[0]).toBe('#E69F00');
    expect(RUN_COLORS[RUN_COLORS.length - 1]).toBe('#F0E442');
    expect(new Set(RUN_COLORS).size).toBe(8);
  });

  it('gives every run of the first 24 its own (colour, dash) pair', () => {
    const pairs = new Set(Array.from({ length: 24 }, (_, i) => JSON.stringify(runStyle(i))));
    expect(pairs.size).toBe(24);
    expect(runStyle(0)).toEqual({ color: RUN_COLORS[0], dash: 'solid' });
    expect(runStyle(1).dash).toBe(RUN_DASHES[1]);
    expect(runStyle(8)).toEqual({ color: RUN_COLORS[0], dash: RUN_DASHES[2] });
  });

  it('copes with odd indices', () => {
    expect(runStyle(-3)).toEqual(runStyle(0));
    expect(runStyle(2.7)).toEqual(runStyle(2));
  });

  it('has a distinct colour for each known phase and a fallback for others', () => {
    const colors = PHASE_ORDER.map((p) => phaseStyle(p).color);
    expect(new Set(colors).size).toBe(PHASE_ORDER.length);
    expect(phaseStyle('something-new').color).toBe('#999999');
    expect(phaseStyle('constructor').color).toBe('#999999'); // not an Object.prototype key
  });
});

describe('legend items', () => {
  it('map plotly dashes to SVG dash arrays, solid to none', () => {
    expect(dashArray('solid')).toBeUndefined();
    expect(dashArray('dot')).toBe('2 3');
    expect(dashArray('dashdot')).toBe('6 3 2 3');
    expect(new Set(RUN_DASHES.map(dashArray)).size).toBe(RUN_DASHES.length);
  });

  it('give runs their chart style, markers only for the evaluated points', () => {
    expect(runLegend(['SGD', 'Adam'], false)).toEqual([
      { label: 'SGD', ...runStyle(0) },
      { label: 'Adam', ...runStyle(1) },
    ]);
    expect(runLegend(['SGD'], true)[0].symbol).toBe('circle');
    expect(phaseLegend(['factors'])).toEqual([{ label: 'factors', ...phaseStyle('factors') }]);
  });
});
