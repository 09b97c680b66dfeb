// The diffusion section's pure helpers (src/ui/pages/influence/diffusion/diffusion-figures.ts): the
// scores of one sample, the ranked lists, the scatter's colours and symmetric scale, the summaries and
// the exported JSON.
import { describe, expect, it } from 'vitest';
import type { DiffusionJobResult } from '../../src/worker/jobs/diffusion-job.ts';
import {
  buildInfluenceScatter,
  diffusionExport,
  lossSummary,
  ranked,
  scatterSummary,
  scatterTable,
  scoresFor,
  topOverlap,
} from '../../src/ui/pages/influence/diffusion/diffusion-figures.ts';
import { DEFAULT_DIFFUSION_SETUP } from '../../src/engine/diffusion/setup.ts';

/** 4 training points, 3 samples of which 2 are scored; identity and K-FAC scores [2 × 4]. */
function result(): DiffusionJobResult {
  return {
    setup: { ...DEFAULT_DIFFUSION_SETUP, points: 4 },
    device: 'wasm',
    points: Float32Array.from([0, 0, 1, 0, 0, 1, -1, -1]),
    samples: Float32Array.from([0.1, 0.1, 0.9, 0.1, 0.5, 0.5]),
    queries: 2,
    losses: Float32Array.from([1, 0.5, 0.25]),
    trainSeconds: 1.5,
    sampleSeconds: 0.1,
    trained: true,
    weights: {},
    influence: {
      measurement: 'loss',
      damping: 0.01,
      relativeDamping: 0.1,
      meanEigenvalue: 0.1,
      trainDraws: 8,
      queryDraws: 16,
      queryLoss: Float64Array.from([0.3, 0.4]),
      methods: [
        { method: 'identity', scores: Float64Array.from([3, 1, -2, 0, -1, 4, 0.5, 0.25]), fitSeconds: 0, scoreSeconds: 0.01 },
        { method: 'kfac', scores: Float64Array.from([2, 3, -1, 0.5, 1, 2, -3, 0]), fitSeconds: 0.2, scoreSeconds: 0.02 },
      ],
    },
  };
}

describe('diffusion influence figures', () => {
  it('picks one sample’s row of scores and ranks helpful and harmful points', () => {
    const r = result();
    expect(Array.from(scoresFor(r, 'identity', 1)!)).toEqual([-1, 4, 0.5, 0.25]);
    expect(scoresFor(r, 'ekfac', 0)).toBeNull();
    expect(scoresFor(r, 'identity', 2)).toBeNull();
    const lists = ranked(r, scoresFor(r, 'identity', 0)!, 2);
    expect(lists.helpful.map((p) => p.index)).toEqual([0, 1]);
    expect(lists.harmful.map((p) => p.index)).toEqual([2, 3]);
    expect(lists.harmful[0]).toEqual({ index: 2, x: 0, y: 1, score: -2 });
    expect(topOverlap(scoresFor(r, 'identity', 0)!, scoresFor(r, 'kfac', 0)!, 2)).toBe(1);
    expect(topOverlap(scoresFor(r, 'identity', 1)!, scoresFor(r, 'kfac', 1)!, 1)).toBe(1);
    expect(topOverlap(scoresFor(r, 'identity', 0)!, scoresFor(r, 'kfac', 1)!, 1)).toBe(0);
  });

  it('colours training points by score on a scale symmetric around 0 and marks the chosen sample', () => {
    const fig = buildInfluenceScatter(result(), 'kfac', 1);
    const training = fig.data.find((d) => (d as { uid?: string }).uid === 'training') as {
      marker: { color: number[]; cmin: number; cmax: number };
    };
    expect(training.marker.color).toEqual([1, 2, -3, 0]);
    expect(training.marker.cmax).toBe(3);
    expect(training.marker.cmin).toBe(-3);
    const chosen = fig.data.find((d) => (d as { uid?: string }).uid === 'chosen') as { x: number[]; y: number[] };
    expect(chosen.x[0]).toBeCloseTo(0.9);
    expect(chosen.y[0]).toBeCloseTo(0.1);
    const queries = fig.data.find((d) => (d as { uid?: string }).uid === 'queries') as { x: number[] };
    expect(queries.x).toHaveLength(2);
  });

  it('says in words and in a table what the scatter shows', () => {
    const r = result();
    expect(scatterSummary(r, 'identity', 0)).toMatch(
      /2 of 4 training points helped it; the most helpful is point 0 \(score 3\), the most harmful point 2 \(score -2\)/,
    );
    expect(scatterSummary(r, 'ekfac', 0)).toMatch(/No EK-FAC scores/);
    expect(scatterTable(r, 'kfac', 0).rows[1]).toEqual(['1', '1.000', '0.000', '3']);
    expect(lossSummary(r)).toMatch(/3 Adam steps/);
    expect(lossSummary({ ...r, losses: new Float32Array(0) })).toMatch(/reused/);
  });

  it('exports plain JSON with every method’s scores per sample', () => {
    const doc = diffusionExport(result(), new Date('2026-12-04T07:00:00Z'));
    const text = JSON.stringify(doc);
    const back = JSON.parse(text);
    expect(back.createdAt).toBe('2026-12-04T07:00:00.000Z');
    expect(back.points).toEqual([
      [0, 0],
      [1, 0],
      [0, 1],
      [-1, -1],
    ]);
    expect(back.methods[1].method).toBe('kfac');
    expect(back.methods[1].scores).toEqual([
      [2, 3, -1, 0.5],
      [1, 2, -3, 0],
    ]);
    expect(back.queries[1].loss).toBeCloseTo(0.4);
    expect(back.finalLoss).toBeCloseTo(0.25);
  });
});
