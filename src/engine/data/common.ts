// Pieces shared by every data set: the error type, the ignore label, seed derivation, argument
// checks and small typed-array helpers. Framework-free (Node, browser, worker).
import { Rng } from '../random.ts';

/** Bad arguments to a data set or loader, or a data file that is missing, stale or corrupt. */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

/** Target value that per-token / per-node losses skip (language-model answers, unlabelled nodes). */
export const IGNORE_INDEX = -1;

/** murmur3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A new 32-bit seed from a seed and stream numbers (epoch, graph index, 'train' vs 'val' ...), so
 * independent random streams never share a sequence and each is a pure function of its inputs.
 */
export function deriveSeed(seed: number, ...streams: number[]): number {
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  for (const s of streams) h = fmix32(h ^ fmix32(((s >>> 0) + 0x7f4a7c15) >>> 0));
  return h;
}

/** An Rng for one named stream of a seed. */
export function streamRng(seed: number, ...streams: number[]): Rng {
  return new Rng(deriveSeed(seed, ...streams));
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, rng: Rng): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  shuffleInPlace(out, rng);
  return out;
}

export function shuffleInPlace(items: Int32Array, rng: Rng): Int32Array {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}

/** Throws a DataError unless `value` is an integer in [min, max]. */
export function requireInt(where: string, name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new DataError(`${where}: ${name} must be an integer ${range}, got ${String(value)}`);
  }
  return value;
}

/** Throws a DataError unless `value` is a finite number in [min, max]. */
export function requireNumber(where: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new DataError(`${where}: ${name} must be a number in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** Seeds are any 32-bit integer (negative ones are taken modulo 2^32, as Rng does). */
export function requireSeed(where: string, seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new DataError(`${where}: seed must be an integer, got ${String(seed)}`);
  return seed;
}

/**
 * Rows of a row-major [N, rowLength] array picked by `indices`, packed into a new [B, rowLength]
 * array (or `out`): the batch of a BatchSampler's index list.
 */
export function gatherRows<T extends Float32Array | Int32Array | Uint8Array>(
  source: T,
  rowLength: number,
  indices: ArrayLike<number>,
  out?: T,
): T {
  requireInt('gatherRows', 'rowLength', rowLength, 1);
  const rows = source.length / rowLength;
  if (!Number.isInteger(rows))
    throw new DataError(`gatherRows: source length ${source.length} is not a multiple of rowLength ${rowLength}`);
  const result = out ?? (new (source.constructor as new (n: number) => T)(indices.length * rowLength) as T);
  if (result.length !== indices.length * rowLength) {
    throw new DataError(`gatherRows: out has length ${result.length}, expected ${indices.length} × ${rowLength}`);
  }
  for (let b = 0; b < indices.length; b++) {
    const r = indices[b];
    if (!(r >= 0 && r < rows) || !Number.isInteger(r)) throw new DataError(`gatherRows: index ${r} out of range [0, ${rows})`);
    result.set(source.subarray(r * rowLength, (r + 1) * rowLength), b * rowLength);
  }
  return result;
}

/**
 * A stratified three-way split: within each class a seeded shuffle, the first round(train·m)
 * members to train, the next round(val·m) to validation, the rest to test. Sorted index lists.
 */
export function splitByClass(
  labels: ArrayLike<number>,
  numClasses: number,
  trainFraction: number,
  valFraction: number,
  rng: Rng,
): { train: Int32Array; val: Int32Array; test: Int32Array } {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  const train: number[] = [];
  const val: number[] = [];
  const test: number[] = [];
  for (const members of byClass) {
    const order = permutation(members.length, rng);
    const nTrain = Math.round(trainFraction * members.length);
    const nVal = Math.min(Math.round(valFraction * members.length), members.length - nTrain);
    order.forEach((o, i) => (i < nTrain ? train : i < nTrain + nVal ? val : test).push(members[o]));
  }
  return { train: Int32Array.from(train).sort(), val: Int32Array.from(val).sort(), test: Int32Array.from(test).sort() };
}
