// The MNIST data files' format (what scripts/make-data.ts writes and the loader reads): constants,
// the manifest, and the little-endian binary
//   'KFMN' | u32 version | u32 trainCount | u32 testCount | u32 height | u32 width
//   | u8 pixels [(train + test) × height × width] (train first) | u8 labels [train + test]
// with the CRC-32 and length of the uncompressed bytes in the manifest. See mnist.ts for the data set.
import { DataError } from './common.ts';

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
