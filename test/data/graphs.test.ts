import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX } from '../../src/engine/data/common.ts';
import { makeCsbm, maskedLabels } from '../../src/engine/data/csbm.ts';
import { canonicalEdges, degrees, edgeHomophily, normalizedAdjacency, type UndirectedGraph } from '../../src/engine/data/graph.ts';
import { batchGraphs, containsHouse, DECOY_EDGES, HOUSE_EDGES, makeMotifGraphs } from '../../src/engine/data/motif-graphs.ts';
import { Rng } from '../../src/engine/random.ts';

function expectCanonical(g: UndirectedGraph): void {
  let problem: string | null = null;
  for (let e = 0; e < g.edges.length && !problem; e += 2) {
    const [u, v] = [g.edges[e], g.edges[e + 1]];
    if (!(u < v && u >= 0 && v < g.numNodes)) problem = `edge ${e / 2} is (${u}, ${v})`;
    else if (e > 0 && !(g.edges[e - 2] < u || (g.edges[e - 2] === u && g.edges[e - 1] < v)))
      problem = `edge ${e / 2} is out of order or repeated`;
  }
  expect(problem).toBeNull();
}

/** Dense D̃^{-1/2}(A + I)D̃^{-1/2}, float64. */
function denseNormalized(g: UndirectedGraph): Float64Array {
  const n = g.numNodes;
  const a = new Float64Array(n * n);
  for (let v = 0; v < n; v++) a[v * n + v] = 1;
  for (let e = 0; e < g.edges.length; e += 2) {
    a[g.edges[e] * n + g.edges[e + 1]] = 1;
    a[g.edges[e + 1] * n + g.edges[e]] = 1;
  }
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) d[i] += a[i * n + j];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] /= Math.sqrt(d[i] * d[j]);
  return a;
}

function randomGraph(rng: Rng, n: number, p: number): UndirectedGraph {
  const pairs: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (rng.next() < p) pairs.push(i, j);
  return { numNodes: n, edges: canonicalEdges(n, pairs) };
}

/** House presence by brute force over ordered 5-tuples (square a-b-c-d, roof e on a-b). */
function bruteForceHouse(g: UndirectedGraph): boolean {
  const n = g.numNodes;
  const adj = new Set<number>();
  for (let e = 0; e < g.edges.length; e += 2) adj.add(g.edges[e] * n + g.edges[e + 1]).add(g.edges[e + 1] * n + g.edges[e]);
  const has = (x: number, y: number) => adj.has(x * n + y);
  for (let a = 0; a < n; a++)
    for (let b = 0; b < n; b++)
      for (let c = 0; c < n; c++)
        for (let d = 0; d < n; d++)
          for (let e = 0; e < n; e++) {
            if (new Set([a, b, c, d, e]).size < 5) continue;
            if (has(a, b) && has(b, c) && has(c, d) && has(d, a) && has(a, e) && has(b, e)) return true;
          }
  return false;
}

describe('graph utilities', () => {
  it('canonicalEdges sorts, orients, dedups and drops self-loops', () => {
    expect(Array.from(canonicalEdges(5, [3, 1, 1, 3, 2, 2, 0, 4, 4, 0, 1, 0]))).toEqual([0, 1, 0, 4, 1, 3]);
    expect(() => canonicalEdges(3, [0, 3])).toThrow(/outside \[0, 3\)/);
  });

  it('normalizedAdjacency equals the dense D̃^-1/2 (A+I) D̃^-1/2, is symmetric, and its COO product is ÂH', () => {
    const rng = new Rng(5);
    for (const [n, p] of [
      [1, 0],
      [6, 0.5],
      [17, 0.2],
    ] as const) {
      const g = randomGraph(rng, n, p);
      const adj = normalizedAdjacency(g);
      const dense = denseNormalized(g);
      expect(adj.rows.length).toBe(n + g.edges.length); // self-loops + both directions
      const coo = new Float64Array(n * n);
      for (let e = 0; e < adj.rows.length; e++) {
        if (e > 0) expect(adj.rows[e - 1] < adj.rows[e] || (adj.rows[e - 1] === adj.rows[e] && adj.cols[e - 1] < adj.cols[e])).toBe(true);
        coo[adj.rows[e] * n + adj.cols[e]] += adj.weights[e];
      }
      for (let i = 0; i < n * n; i++) expect(coo[i]).toBeCloseTo(dense[i], 6);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(coo[i * n + j]).toBe(coo[j * n + i]);
      for (let v = 0; v < n; v++) {
        for (let e = adj.rowOffsets[v]; e < adj.rowOffsets[v + 1]; e++) expect(adj.rows[e]).toBe(v);
      }
      expect(adj.rowOffsets[n]).toBe(adj.rows.length);
      // (ÂH)_v = Σ_{rows_e = v} w_e H[cols_e], against the dense product.
      const h = Float64Array.from({ length: n * 3 }, () => rng.normal());
      const viaCoo = new Float64Array(n * 3);
      for (let e = 0; e < adj.rows.length; e++)
        for (let f = 0; f < 3; f++) viaCoo[adj.rows[e] * 3 + f] += adj.weights[e] * h[adj.cols[e] * 3 + f];
      for (let v = 0; v < n; v++)
        for (let f = 0; f < 3; f++) {
          let s = 0;
          for (let u = 0; u < n; u++) s += dense[v * n + u] * h[u * 3 + f];
          expect(viaCoo[v * 3 + f]).toBeCloseTo(s, 5);
        }
    }
  });
});

describe('contextual stochastic block model', () => {
  it('a big graph has the requested homophily and average degree', () => {
    for (const h of [0.85, 0.2]) {
      const g = makeCsbm({ numNodes: 6000, numClasses: 3, featureDim: 8, averageDegree: 8, homophily: h, seed: 1 });
      expectCanonical(g);
      expect(Math.abs(edgeHomophily(g, g.labels) - h)).toBeLessThan(0.02);
      expect(Math.abs((2 * (g.edges.length / 2)) / 6000 - 8)).toBeLessThan(0.3);
      const counts = [0, 0, 0];
      for (const l of g.labels) counts[l]++;
      expect(counts).toEqual([2000, 2000, 2000]);
    }
  });

  it('edge sampling is uniform over pairs (geometric skipping covers every pair with its probability)', () => {
    const n = 12;
    const trials = 1500;
    const hits = new Float64Array(n * n);
    const expected = new Float64Array(n * n);
    for (let s = 0; s < trials; s++) {
      const g = makeCsbm({ numNodes: n, numClasses: 2, featureDim: 1, intraProbability: 0.5, interProbability: 0.2, seed: s });
      for (let e = 0; e < g.edges.length; e += 2) hits[g.edges[e] * n + g.edges[e + 1]]++;
      for (let u = 0; u < n; u++) for (let v = u + 1; v < n; v++) expected[u * n + v] += g.labels[u] === g.labels[v] ? 0.5 : 0.2;
    }
    for (let u = 0; u < n; u++)
      for (let v = u + 1; v < n; v++)
        expect(Math.abs(hits[u * n + v] - expected[u * n + v]), `pair ${u}-${v}`).toBeLessThan(4.5 * Math.sqrt(trials / 4));
    // Every pair position inside a block is hit: with p = 1 every pair appears.
    const full = makeCsbm({ numNodes: 9, numClasses: 3, featureDim: 1, intraProbability: 1, interProbability: 1, seed: 0 });
    expect(full.edges.length / 2).toBe(36);
    const cliques = makeCsbm({ numNodes: 10, numClasses: 3, featureDim: 1, intraProbability: 1, interProbability: 0, seed: 0 });
    expect(cliques.edges.length / 2).toBe(6 + 3 + 3);
    expect(edgeHomophily(cliques, cliques.labels)).toBe(1);
  });

  it('features are class mean plus noise; seeded; split is fixed, stratified and disjoint', () => {
    const opts = { numNodes: 3000, numClasses: 4, featureDim: 5, averageDegree: 6, homophily: 0.7, featureNoise: 0.5, seed: 9 };
    const g = makeCsbm(opts);
    const again = makeCsbm(opts);
    expect(Array.from(again.edges)).toEqual(Array.from(g.edges));
    expect(Array.from(again.features)).toEqual(Array.from(g.features));
    expect(Array.from(makeCsbm({ ...opts, seed: 10 }).edges)).not.toEqual(Array.from(g.edges));
    for (let a = 0; a < 4; a++) {
      let norm = 0;
      for (let j = 0; j < 5; j++) norm += g.classMeans[a * 5 + j] ** 2;
      expect(norm).toBeCloseTo(1, 5);
      for (let j = 0; j < 5; j++) {
        let s = 0;
        let s2 = 0;
        let m = 0;
        for (let v = 0; v < 3000; v++)
          if (g.labels[v] === a) {
            const x = g.features[v * 5 + j] - g.classMeans[a * 5 + j];
            s += x;
            s2 += x * x;
            m++;
          }
        expect(Math.abs(s / m)).toBeLessThan(0.06); // noise mean 0 (std of the mean 0.5/√750 ≈ 0.018)
        expect(Math.abs(Math.sqrt(s2 / m) - 0.5)).toBeLessThan(0.05);
      }
    }
    const { train, val, test } = g.split;
    expect(train.length + val.length + test.length).toBe(3000);
    expect(new Set([...train, ...val, ...test]).size).toBe(3000);
    expect([train.length, val.length]).toEqual([900, 600]);
    for (let v = 0; v < 3000; v++) expect(g.masks.train[v] + g.masks.val[v] + g.masks.test[v]).toBe(1);
    const perClass = [0, 0, 0, 0];
    for (const v of train) perClass[g.labels[v]]++;
    expect(perClass).toEqual([225, 225, 225, 225]);
    const targets = maskedLabels(g.labels, val);
    expect(targets.filter((t) => t !== IGNORE_INDEX).length).toBe(600);
    expect(targets[val[0]]).toBe(g.labels[val[0]]);
    // The GCN matrix comes with the graph.
    expect(g.adjacency.rows.length).toBe(3000 + g.edges.length);
  });

  it('rejects bad arguments with clear errors', () => {
    const base = { numNodes: 100, numClasses: 2, featureDim: 4, seed: 0 };
    expect(() => makeCsbm({ ...base, averageDegree: 5, homophily: 1.5 })).toThrow(/homophily must be a number in \[0, 1\]/);
    expect(() => makeCsbm({ ...base, averageDegree: 90, homophily: 1 })).toThrow(/must lie in \[0, 1\]/);
    expect(() => makeCsbm(base)).toThrow(/either averageDegree and homophily, or intraProbability/);
    expect(() => makeCsbm({ ...base, averageDegree: 5, homophily: 0.5, intraProbability: 0.1 })).toThrow(/either/);
    expect(() => makeCsbm({ ...base, numClasses: 0, averageDegree: 5, homophily: 0.5 })).toThrow(/numClasses/);
    expect(() => makeCsbm({ ...base, averageDegree: 5, homophily: 0.5, trainFraction: 0.8, valFraction: 0.3 })).toThrow(/valFraction/);
  });
});

describe('house-motif graph classification', () => {
  it('the house detector agrees with brute force, finds the house and rejects every decoy', () => {
    expect(containsHouse({ numNodes: 5, edges: canonicalEdges(5, HOUSE_EDGES) })).toBe(true);
    for (const [name, edges] of Object.entries(DECOY_EDGES)) {
      const g = { numNodes: 5, edges: canonicalEdges(5, edges) };
      expect(g.edges.length / 2, name).toBe(6);
      expect(containsHouse(g), name).toBe(false);
    }
    const rng = new Rng(3);
    let positives = 0;
    for (let t = 0; t < 120; t++) {
      const g = randomGraph(rng, 7, 0.2 + 0.3 * rng.next());
      const truth = bruteForceHouse(g);
      positives += truth ? 1 : 0;
      expect(containsHouse(g)).toBe(truth);
    }
    expect(positives).toBeGreaterThan(10);
    expect(positives).toBeLessThan(110);
  });

  it('labels match motif presence; sizes and edge counts match across classes', () => {
    const set = makeMotifGraphs({ seed: 1, numGraphs: 300 });
    const all = [...set.train, ...set.val, ...set.test];
    expect(all.length).toBe(300);
    expect([set.train.length, set.val.length, set.test.length]).toEqual([210, 46, 44]);
    for (const split of [set.train, set.val, set.test]) {
      const ones = split.filter((g) => g.label === 1).length;
      expect(Math.abs(ones - split.length / 2)).toBeLessThanOrEqual(1);
    }
    for (const g of all) {
      expect(containsHouse(g)).toBe(g.label === 1);
      expect(g.numNodes >= 10 && g.numNodes <= 30).toBe(true);
      expectCanonical(g);
      // tree (n − 6 edges) + 2 extra + 6 block edges + 1 bridge
      expect(g.edges.length / 2).toBe(g.numNodes + 3);
      const deg = degrees(g);
      for (let v = 0; v < g.numNodes; v++) {
        const row = Array.from(g.features.subarray(v * 7, (v + 1) * 7));
        expect(row.reduce((a, b) => a + b)).toBe(1);
        expect(row[Math.min(deg[v], 6)]).toBe(1);
      }
    }
    expect(set.featureDim).toBe(7);
    const again = makeMotifGraphs({ seed: 1, numGraphs: 300 });
    expect(Array.from(again.test[5].edges)).toEqual(Array.from(set.test[5].edges));
    const constant = makeMotifGraphs({ seed: 1, numGraphs: 20, features: 'constant', minNodes: 8, maxNodes: 9, extraEdges: 0 });
    expect(constant.featureDim).toBe(1);
    expect(constant.train.every((g) => g.features.every((x) => x === 1) && g.features.length === g.numNodes)).toBe(true);
  });

  it('batchGraphs builds the block-diagonal graph with graphIndex and per-block Â', () => {
    const set = makeMotifGraphs({ seed: 2, numGraphs: 40 });
    const picks = [3, 0, 7];
    const batch = batchGraphs(set.train, picks);
    const graphs = picks.map((i) => set.train[i]);
    expect(batch.numGraphs).toBe(3);
    expect(batch.numNodes).toBe(graphs.reduce((s, g) => s + g.numNodes, 0));
    expect(Array.from(batch.labels)).toEqual(graphs.map((g) => g.label));
    expect(Array.from(batch.nodeCounts)).toEqual(graphs.map((g) => g.numNodes));
    expectCanonical(batch);
    let offset = 0;
    graphs.forEach((g, b) => {
      expect(batch.nodeOffsets[b]).toBe(offset);
      for (let v = 0; v < g.numNodes; v++) expect(batch.graphIndex[offset + v]).toBe(b);
      expect(Array.from(batch.features.subarray(offset * 7, (offset + g.numNodes) * 7))).toEqual(Array.from(g.features));
      const own = normalizedAdjacency(g);
      const start = batch.adjacency.rowOffsets[offset];
      for (let e = 0; e < own.rows.length; e++) {
        expect(batch.adjacency.rows[start + e]).toBe(own.rows[e] + offset);
        expect(batch.adjacency.cols[start + e]).toBe(own.cols[e] + offset);
        expect(batch.adjacency.weights[start + e]).toBe(own.weights[e]);
      }
      offset += g.numNodes;
    });
    for (let e = 0; e < batch.adjacency.rows.length; e++) {
      expect(batch.graphIndex[batch.adjacency.rows[e]]).toBe(batch.graphIndex[batch.adjacency.cols[e]]);
    }
    expect(batchGraphs(set.train).numGraphs).toBe(set.train.length);
    expect(() => batchGraphs(set.train, [999])).toThrow(/out of range/);
    expect(() => batchGraphs([])).toThrow(/no graphs/);
  });

  it('rejects bad arguments with clear errors', () => {
    expect(() => makeMotifGraphs({ seed: 0, minNodes: 5 })).toThrow(/minNodes must be an integer >= 7/);
    expect(() => makeMotifGraphs({ seed: 0, minNodes: 20, maxNodes: 10 })).toThrow(/maxNodes/);
    expect(() => makeMotifGraphs({ seed: 0, features: 'onehot' as never })).toThrow(/features must be 'degree' or 'constant'/);
    expect(() => makeMotifGraphs({ seed: 0, numGraphs: 1 })).toThrow(/numGraphs/);
  });
});
