// The linear datamodelling score (docs/curvature-tools.md §3), model-free: M random half subsets
// S_k of the training set; a retraining on each (several seeds, averaged) measures every query's
// loss; influence predicts the change with τ_k(q) = Σ_{n ∉ S_k} score(q, n); LDS(q) is the Spearman
// correlation over k of τ_k(q) and the measured loss. The ceiling is the same correlation between
// two independent halves of the seeds (how well one retraining average predicts another). Also the
// removal test: retrain without a query's top-k helpful examples against k random ones.
import { Rng } from '../../random.ts';
import { throwIfAborted } from '../../curvature/data.ts';

/** Pearson correlation; 0 when either side is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = checkPair(x, y, 'pearson');
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}

/** Ranks 1..n, ties sharing their average rank. */
export function ranks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a] - x[b]);
  const out = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && x[order[j + 1]] === x[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k]] = rank;
    i = j + 1;
  }
  return out;
}

/** Spearman rank correlation (Pearson of the ranks, ties averaged); 0 when either side is constant. */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y, 'spearman');
  return pearson(ranks(x), ranks(y));
}

function checkPair(x: ArrayLike<number>, y: ArrayLike<number>, what: string): number {
  if (x.length !== y.length) throw new Error(`${what}: ${x.length} and ${y.length} values`);
  if (x.length < 2) throw new Error(`${what}: needs at least 2 pairs, got ${x.length}`);
  return x.length;
}

/** M subsets of ⌊N/2⌋ distinct example indices each (sorted), seeded. */
export function halfSubsets(N: number, M: number, seed: number): Int32Array[] {
  if (!(Number.isInteger(N) && N >= 2)) throw new Error(`halfSubsets: N must be a whole number ≥ 2, got ${N}`);
  if (!(Number.isInteger(M) && M >= 1)) throw new Error(`halfSubsets: M must be a whole number ≥ 1, got ${M}`);
  const rng = new Rng(seed);
  const half = Math.floor(N / 2);
  return Array.from({ length: M }, () => {
    const order = Int32Array.from({ length: N }, (_, i) => i);
    for (let i = N - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order.subarray(0, half).slice().sort();
  });
}

/** τ_k(q) = Σ_{n ∉ S_k} score(q, n), [Q·M] q-major. */
export function ldsPredictions(scores: Float64Array, Q: number, N: number, subsets: readonly Int32Array[]): Float64Array {
  if (scores.length !== Q * N) throw new Error(`ldsPredictions: ${scores.length} scores for ${Q} queries × ${N} examples`);
  const M = subsets.length;
  const out = new Float64Array(Q * M);
  for (let q = 0; q < Q; q++) {
    let total = 0;
    for (let n = 0; n < N; n++) total += scores[q * N + n];
    subsets.forEach((s, k) => {
      let kept = 0;
      for (const n of s) kept += scores[q * N + n];
      out[q * M + k] = total - kept;
    });
  }
  return out;
}

/** The measured query losses of every retraining: seeds[s][q·M + k] (q-major, like ldsPredictions). */
export interface LdsMeasurements {
  queries: number;
  subsets: number;
  seeds: Float64Array[];
}

/** Retrain on every subset with every seed; retrain returns the Q query losses of the retrained model. */
export async function measureSubsets(args: {
  subsets: readonly Int32Array[];
  seeds: readonly number[];
  queries: number;
  retrain: (subset: Int32Array, seed: number, subsetIndex: number) => Promise<Float64Array>;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}): Promise<LdsMeasurements> {
  const { subsets, seeds, queries: Q } = args;
  if (seeds.length === 0) throw new Error('measureSubsets: no seeds');
  const M = subsets.length;
  const measured = seeds.map(() => new Float64Array(Q * M));
  const total = M * seeds.length;
  let done = 0;
  for (let k = 0; k < M; k++) {
    for (const [s, seed] of seeds.entries()) {
      throwIfAborted(args.signal, 'LDS');
      const losses = await args.retrain(subsets[k], seed, k);
      if (losses.length !== Q) throw new Error(`measureSubsets: retrain returned ${losses.length} losses for ${Q} queries`);
      for (let q = 0; q < Q; q++) measured[s][q * M + k] = losses[q];
      args.onProgress?.({ done: ++done, total });
    }
  }
  return { queries: Q, subsets: M, seeds: measured };
}

export interface CorrelationSummary {
  /** One value per query. */
  perQuery: Float64Array;
  mean: number;
  /** Standard deviation over the queries. */
  spread: number;
}

function summarise(perQuery: Float64Array): CorrelationSummary {
  const n = perQuery.length;
  const mean = perQuery.reduce((a, b) => a + b, 0) / n;
  const variance = perQuery.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1);
  return { perQuery, mean, spread: Math.sqrt(variance) };
}

/** The mean over seeds s ∈ which of the measurements, [Q·M]. */
function seedMean(m: LdsMeasurements, which: readonly number[]): Float64Array {
  const out = new Float64Array(m.queries * m.subsets);
  for (const s of which) for (let i = 0; i < out.length; i++) out[i] += m.seeds[s][i] / which.length;
  return out;
}

/** LDS per query: Spearman over the subsets of τ and the seed-averaged measured loss. */
export function ldsScore(predictions: Float64Array, measured: LdsMeasurements): CorrelationSummary {
  const { queries: Q, subsets: M } = measured;
  if (predictions.length !== Q * M) throw new Error(`ldsScore: ${predictions.length} predictions for ${Q} queries × ${M} subsets`);
  const mean = seedMean(
    measured,
    measured.seeds.map((_, s) => s),
  );
  const perQuery = new Float64Array(Q);
  for (let q = 0; q < Q; q++) perQuery[q] = spearman(predictions.subarray(q * M, (q + 1) * M), mean.subarray(q * M, (q + 1) * M));
  return summarise(perQuery);
}

/**
 * The seed-to-seed ceiling: per query, Spearman over the subsets between the averages of the first
 * and second half of the seeds (≥ 2 seeds). It bounds what any attribution can reach against
 * retraining noise (for half as many seeds per average as the LDS uses, so it is a slight underestimate).
 */
export function ldsCeiling(measured: LdsMeasurements): CorrelationSummary {
  const S = measured.seeds.length;
  if (S < 2) throw new Error(`ldsCeiling: needs at least 2 seeds, got ${S}`);
  const half = Math.floor(S / 2);
  const a = seedMean(
    measured,
    Array.from({ length: half }, (_, i) => i),
  );
  const b = seedMean(
    measured,
    Array.from({ length: S - half }, (_, i) => half + i),
  );
  const { queries: Q, subsets: M } = measured;
  const perQuery = new Float64Array(Q);
  for (let q = 0; q < Q; q++) perQuery[q] = spearman(a.subarray(q * M, (q + 1) * M), b.subarray(q * M, (q + 1) * M));
  return summarise(perQuery);
}

export interface RemovalResult {
  /** Per query: the mean loss change (retrained without the examples − retrained on everything). */
  topK: Float64Array;
  random: Float64Array;
  /** Means over queries. */
  meanTopK: number;
  meanRandom: number;
}

/**
 * The removal test: for each query, retrain without its k most helpful examples and without k random
 * ones (same seeds), and compare the query's loss change against retraining on all the data.
 * retrain(keep, seed) returns the loss of query q for a model trained on `keep`.
 */
export async function removalTest(args: {
  scores: Float64Array;
  queries: readonly number[];
  examples: number;
  k: number;
  seeds: readonly number[];
  retrain: (keep: Int32Array, seed: number, query: number) => Promise<number>;
  randomSeed?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}): Promise<RemovalResult> {
  const { scores, examples: N, k, seeds, queries } = args;
  if (!(k >= 1 && k < N)) throw new Error(`removalTest: k must be in [1, ${N - 1}], got ${k}`);
  const rng = new Rng(args.randomSeed ?? 1);
  const all = Int32Array.from({ length: N }, (_, i) => i);
  const without = (removed: Set<number>) => all.filter((n) => !removed.has(n));
  const topK = new Float64Array(queries.length);
  const random = new Float64Array(queries.length);
  const total = queries.length * seeds.length * 3;
  let done = 0;
  for (const [i, q] of queries.entries()) {
    const order = Array.from({ length: N }, (_, n) => n).sort((a, b) => scores[q * N + b] - scores[q * N + a]);
    const top = new Set(order.slice(0, k));
    const randomSet = new Set<number>();
    while (randomSet.size < k) randomSet.add(rng.int(N));
    for (const seed of seeds) {
      throwIfAborted(args.signal, 'removal test');
      const base = await args.retrain(all, seed, q);
      topK[i] += ((await args.retrain(without(top), seed, q)) - base) / seeds.length;
      random[i] += ((await args.retrain(without(randomSet), seed, q)) - base) / seeds.length;
      done += 3;
      args.onProgress?.({ done, total });
    }
  }
  const mean = (x: Float64Array) => x.reduce((a, b) => a + b, 0) / Math.max(1, x.length);
  return { topK, random, meanTopK: mean(topK), meanRandom: mean(random) };
}
