/**
 * Contextual stochastic block model (CSBM): synthetic node classification for GCNs.
 *
 * n nodes in k balanced classes (sizes differ by at most one; which node gets which class is a
 * seeded shuffle). Each unordered pair of distinct nodes is an edge independently, with probability
 * p_intra within a class and p_inter across classes. Give either the probabilities, or the expected
 * average degree c and the edge homophily h ∈ [0, 1] (the expected fraction of edges inside a class);
 * then p_intra = h·n·c/2 / Σ_a C(m_a, 2) and p_inter = (1 − h)·n·c/2 / Σ_{a<b} m_a·m_b for class
 * sizes m_a, so the expected edge count is n·c/2 and the expected homophily is exactly h.
 * Sampling skips geometrically through each class block, so it costs O(n + edges), not O(n²).
 *
 * Features: class a has a mean μ_a, a random unit vector in d dimensions (seeded); node v gets
 * x_v = μ_{y_v} + featureNoise · ε_v with ε_v ~ N(0, I_d). Larger featureNoise makes features alone
 * less informative and the graph more useful.
 *
 * Edges come without self-loops (see graph.ts); `adjacency` is the GCN matrix
 * Â = D̃^{-1/2}(A + I)D̃^{-1/2}. Split: fixed and stratified per class (seeded): the first
 * round(train·m_a) shuffled nodes of class a train, the next round(val·m_a) validate, the rest test
 * (defaults 30% / 20% / 50%); given as sorted index lists and as 0/1 masks.
 */
import { DataError, IGNORE_INDEX, permutation, requireInt, requireNumber, requireSeed, splitByClass, streamRng } from './common.ts';
import { canonicalEdges, normalizedAdjacency, type SparseAdjacency, type UndirectedGraph } from './graph.ts';
import type { Rng } from '../random.ts';

export interface CsbmOptions {
  numNodes: number;
  numClasses: number;
  featureDim: number;
  /** Expected average degree c (with homophily). */
  averageDegree?: number;
  /** Expected fraction of edges inside a class, in [0, 1] (with averageDegree). */
  homophily?: number;
  /** Edge probabilities inside / across classes (instead of averageDegree + homophily). */
  intraProbability?: number;
  interProbability?: number;
  /** Standard deviation of the per-coordinate feature noise (default 1); class means have norm 1. */
  featureNoise?: number;
  seed: number;
  /** Fractions of each class for training and validation (defaults 0.3 and 0.2; the rest is test). */
  trainFraction?: number;
  valFraction?: number;
}

export interface NodeSplit {
  train: Int32Array;
  val: Int32Array;
  test: Int32Array;
}

export interface CsbmGraph extends UndirectedGraph {
  numClasses: number;
  featureDim: number;
  /** [numNodes, featureDim] row-major. */
  features: Float32Array;
  labels: Int32Array;
  /** [numClasses, featureDim]: the class means μ_a. */
  classMeans: Float32Array;
  /** Sorted node indices of each split. */
  split: NodeSplit;
  /** 1 where a node belongs to the split, 0 elsewhere. */
  masks: { train: Uint8Array; val: Uint8Array; test: Uint8Array };
  /** Â = D̃^{-1/2}(A + I)D̃^{-1/2}, for GCN message passing. */
  adjacency: SparseAdjacency;
  /** The edge probabilities actually used. */
  intraProbability: number;
  interProbability: number;
}

/** Labels of the nodes in `nodes`, IGNORE_INDEX elsewhere: targets for a per-node loss that skips the rest. */
export function maskedLabels(labels: Int32Array, nodes: Int32Array): Int32Array {
  const out = new Int32Array(labels.length).fill(IGNORE_INDEX);
  for (const v of nodes) out[v] = labels[v];
  return out;
}

/** Appends Bernoulli(p) pairs of one class block to `pairs`, skipping geometrically over non-edges. */
function sampleBlock(rng: Rng, p: number, a: Int32Array, b: Int32Array | null, pairs: number[]): void {
  if (p <= 0) return;
  const within = b === null;
  const size = within ? (a.length * (a.length - 1)) / 2 : a.length * b.length;
  const logq = p < 1 ? Math.log(1 - p) : 0;
  // Row-walk state: linear index `index` is (row i, column j); within a class only j > i.
  let index = -1;
  let i = 0;
  let rowStart = 0;
  let rowLength = within ? a.length - 1 : b!.length;
  for (;;) {
    index += p < 1 ? 1 + Math.floor(Math.log(1 - rng.next()) / logq) : 1;
    if (index >= size) return;
    while (index >= rowStart + rowLength) {
      rowStart += rowLength;
      i++;
      if (within) rowLength--;
    }
    const offset = index - rowStart;
    if (within) pairs.push(a[i], a[i + 1 + offset]);
    else pairs.push(a[i], b![offset]);
  }
}

export function makeCsbm(options: CsbmOptions): CsbmGraph {
  const where = 'makeCsbm';
  if (!options || typeof options !== 'object') throw new DataError(`${where}: expected an options object`);
  const n = requireInt(where, 'numNodes', options.numNodes, 2, 10_000_000);
  const k = requireInt(where, 'numClasses', options.numClasses, 1, n);
  const d = requireInt(where, 'featureDim', options.featureDim, 1);
  const seed = requireSeed(where, options.seed);
  const noise = requireNumber(where, 'featureNoise', options.featureNoise ?? 1, 0, Number.MAX_VALUE);
  const trainFraction = requireNumber(where, 'trainFraction', options.trainFraction ?? 0.3, 0, 1);
  const valFraction = requireNumber(where, 'valFraction', options.valFraction ?? 0.2, 0, 1 - trainFraction);

  // Balanced classes, assigned by a seeded shuffle.
  const labels = new Int32Array(n);
  const perm = permutation(n, streamRng(seed, 1));
  for (let i = 0; i < n; i++) labels[perm[i]] = i % k;
  const members: Int32Array[] = Array.from({ length: k }, (_, c) => Int32Array.from({ length: Math.floor(n / k) + (c < n % k ? 1 : 0) }));
  const fill = new Int32Array(k);
  for (let v = 0; v < n; v++) members[labels[v]][fill[labels[v]]++] = v;

  const intraPairs = members.reduce((s, m) => s + (m.length * (m.length - 1)) / 2, 0);
  const interPairs = (n * (n - 1)) / 2 - intraPairs;
  const byDegree = options.averageDegree !== undefined || options.homophily !== undefined;
  const byProbability = options.intraProbability !== undefined || options.interProbability !== undefined;
  if (byDegree === byProbability) {
    throw new DataError(`${where}: give either averageDegree and homophily, or intraProbability and interProbability`);
  }
  let pIntra: number;
  let pInter: number;
  if (byDegree) {
    const c = requireNumber(where, 'averageDegree', options.averageDegree, 0, n - 1);
    const h = requireNumber(where, 'homophily', options.homophily, 0, 1);
    const edges = (n * c) / 2;
    pIntra = intraPairs > 0 ? (h * edges) / intraPairs : 0;
    pInter = interPairs > 0 ? ((1 - h) * edges) / interPairs : 0;
    if ((h > 0 && intraPairs === 0) || (h < 1 && interPairs === 0) || pIntra > 1 || pInter > 1) {
      throw new DataError(
        `${where}: averageDegree ${c} with homophily ${h} needs edge probabilities ${pIntra.toFixed(3)} (intra) and ` +
          `${pInter.toFixed(3)} (inter), which must lie in [0, 1]: lower the degree or use more nodes`,
      );
    }
  } else {
    pIntra = requireNumber(where, 'intraProbability', options.intraProbability, 0, 1);
    pInter = requireNumber(where, 'interProbability', options.interProbability, 0, 1);
  }

  const edgeRng = streamRng(seed, 2);
  const pairs: number[] = [];
  for (let a = 0; a < k; a++) {
    sampleBlock(edgeRng, pIntra, members[a], null, pairs);
    for (let b = a + 1; b < k; b++) sampleBlock(edgeRng, pInter, members[a], members[b], pairs);
  }
  const graph: UndirectedGraph = { numNodes: n, edges: canonicalEdges(n, pairs) };

  const featureRng = streamRng(seed, 3);
  const classMeans = new Float32Array(k * d);
  for (let a = 0; a < k; a++) {
    const mean = featureRng.normalArray(d);
    const norm = Math.sqrt(mean.reduce((s, x) => s + x * x, 0)) || 1;
    for (let j = 0; j < d; j++) classMeans[a * d + j] = mean[j] / norm;
  }
  const features = new Float32Array(n * d);
  for (let v = 0; v < n; v++) {
    for (let j = 0; j < d; j++) features[v * d + j] = classMeans[labels[v] * d + j] + noise * featureRng.normal();
  }

  const split: NodeSplit = splitByClass(labels, k, trainFraction, valFraction, streamRng(seed, 4));
  const mask = (nodes: Int32Array) => {
    const out = new Uint8Array(n);
    for (const v of nodes) out[v] = 1;
    return out;
  };

  return {
    ...graph,
    numClasses: k,
    featureDim: d,
    features,
    labels,
    classMeans,
    split,
    masks: { train: mask(split.train), val: mask(split.val), test: mask(split.test) },
    adjacency: normalizedAdjacency(graph),
    intraProbability: pIntra,
    interProbability: pInter,
  };
}
