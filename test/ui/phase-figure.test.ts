import { describe, expect, it } from 'vitest';
import { buildPhaseFigure, phasesPresent, phaseSummary, phaseTable, type PhaseInput } from '../../src/ui/charts/phase-figure.ts';
import { phaseStyle } from '../../src/ui/charts/palette.ts';

const input: PhaseInput = {
  runs: [
    { label: 'SGD', optimizer: 'sgd' },
    { label: 'K-FAC-reduce', optimizer: 'kfac-reduce' },
  ],
  totals: [
    { update: 10, forward: 40, backward: 50 },
    { forward: 100, backward: 150, factors: 410, inverses: 140, precondition: 100, update: 100 },
  ],
  steps: [10, 10],
};

type Bar = { type: string; orientation: string; name: string; x: number[]; y: number[]; marker: { color: string } };

describe('phase bars', () => {
  it('orders phases as a step runs them', () => {
    expect(phasesPresent(input.totals)).toEqual(['forward', 'backward', 'factors', 'inverses', 'precondition', 'update']);
    expect(phasesPresent([{ update: 1, custom: 2, forward: 3 }])).toEqual(['forward', 'update', 'custom']);
  });

  it('stacks one horizontal bar trace per phase, mean ms per step, in the phase colour', () => {
    const { data, layout } = buildPhaseFigure(input);
    const bars = data as unknown as Bar[];
    expect(bars.map((b) => b.name)).toEqual(['forward', 'backward', 'factors', 'inverses', 'precondition', 'update']);
    expect(layout.barmode).toBe('stack');
    const factors = bars[2];
    expect(factors).toMatchObject({ type: 'bar', orientation: 'h', x: [0, 41], y: [0, 1] });
    expect(factors.marker.color).toBe(phaseStyle('factors').color);
    expect(bars[0].x).toEqual([4, 10]);
    expect(layout.yaxis?.ticktext).toEqual(['SGD', 'K-FAC-reduce']);
    expect(layout.annotations?.map((a) => a.x)).toEqual([10, 100]);
  });

  it('summarises each run by its largest phase', () => {
    expect(phaseSummary(input)).toBe(
      'Mean time per step — SGD: 10 ms, 50% of its time in backward; K-FAC-reduce: 100 ms, 41% of its time in factors.',
    );
    expect(phaseSummary({ runs: input.runs, totals: [{}, {}], steps: [0, 0] })).toBe('Time per phase: no timings yet.');
  });

  it('tabulates mean ms per phase', () => {
    const table = phaseTable(input);
    expect(table.columns).toEqual(['Run', 'Steps', 'forward', 'backward', 'factors', 'inverses', 'precondition', 'update', 'Total']);
    expect(table.rows[0]).toEqual(['SGD', '10', '4', '5', '—', '—', '—', '1', '10']);
    expect(table.rows[1][4]).toBe('41');
  });
});
