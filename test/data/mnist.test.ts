import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeData } from '../../scripts/make-data.ts';
import { crc32, crc32Hex, maybeGunzip } from '../../src/engine/data/binary.ts';
import { DataError } from '../../src/engine/data/common.ts';
import { loadMnist, readMnistRaw } from '../../src/engine/data/mnist.ts';
import { averagePool2x2, stratifiedSplit } from '../../src/engine/data/mnist-build.ts';
import { decodeMnistBinary, encodeMnistBinary, MNIST_MANIFEST_FILE, type MnistRaw } from '../../src/engine/data/mnist-format.ts';
import { nodeDataSource, PUBLIC_DATA_DIR } from '../../src/engine/data/node-source.ts';
import type { DataSource } from '../../src/engine/data/source.ts';
import { Rng } from '../../src/engine/random.ts';

const disk = nodeDataSource(PUBLIC_DATA_DIR);

beforeAll(async () => {
  // Same rule as `npm run data`'s ensure hook: generate only when missing.
  if (!existsSync(join(PUBLIC_DATA_DIR, MNIST_MANIFEST_FILE))) await makeData(PUBLIC_DATA_DIR, () => {});
});

afterEach(() => vi.unstubAllGlobals());

/** A source serving some files from memory and the rest from public/data. */
function patchedSource(overrides: Record<string, Uint8Array>): DataSource {
  return { description: 'memory:', read: async (name) => overrides[name] ?? disk.read(name) };
}

describe('MNIST file format', () => {
  it('crc32 matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32Hex(new Uint8Array(0))).toBe('00000000');
  });

  it('encode/decode round trip and gzip detection', async () => {
    const rng = new Rng(1);
    const raw: MnistRaw = {
      trainCount: 3,
      testCount: 2,
      height: 4,
      width: 6,
      pixels: Uint8Array.from({ length: 5 * 24 }, () => rng.int(256)),
      labels: Uint8Array.from([3, 1, 4, 1, 5]),
    };
    const bytes = encodeMnistBinary(raw);
    const back = decodeMnistBinary(bytes);
    expect({ ...back, pixels: Array.from(back.pixels), labels: Array.from(back.labels) }).toEqual({
      ...raw,
      pixels: Array.from(raw.pixels),
      labels: Array.from(raw.labels),
    });
    expect(Array.from(await maybeGunzip(new Uint8Array(gzipSync(bytes))))).toEqual(Array.from(bytes));
    expect(await maybeGunzip(bytes)).toBe(bytes);
    expect(() => decodeMnistBinary(bytes.subarray(0, bytes.length - 1))).toThrow(/header says/);
    const wrongMagic = bytes.slice();
    wrongMagic[0] = 0;
    expect(() => decodeMnistBinary(wrongMagic)).toThrow(/bad magic/);
  });

  it('the files in public/data pass their checksums and agree with the manifest', async () => {
    for (const size of [28, 14] as const) {
      const { raw, manifest, info } = await readMnistRaw(size, disk);
      expect(raw.height).toBe(size);
      expect(raw.trainCount).toBe(8000);
      expect(raw.testCount).toBe(2000);
      expect(info.bytes).toBe(24 + 10000 * size * size + 10000);
      expect(manifest.split.trainClassCounts.reduce((a, b) => a + b)).toBe(8000);
    }
  });

  it('a corrupt file is rejected with a clear checksum error', async () => {
    const manifest = JSON.parse(new TextDecoder().decode(await disk.read(MNIST_MANIFEST_FILE)));
    const good = await maybeGunzip(await disk.read(manifest.files['14'].file));
    const bad = good.slice();
    bad[5000] ^= 1;
    await expect(loadMnist({ size: 14, source: patchedSource({ [manifest.files['14'].file]: bad }) })).rejects.toThrow(
      /fails its checksum/,
    );
    // The same bytes uncompressed are accepted (a server may have undone the gzip already).
    const ok = await loadMnist({ size: 14, source: patchedSource({ [manifest.files['14'].file]: good }) });
    expect(ok.train.count).toBe(8000);
    const stale = new TextEncoder().encode(JSON.stringify({ ...manifest, version: 99 }));
    await expect(loadMnist({ size: 14, source: patchedSource({ [MNIST_MANIFEST_FILE]: stale }) })).rejects.toThrow(/npm run data/);
  });

  it('the generated payload matches the mnist package: every digit used exactly once', async () => {
    const require = createRequire(import.meta.url);
    const dir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
    const key = (pixels: Uint8Array, label: number) => `${label}:${crc32(pixels)}`;
    const expected = new Map<string, number>();
    for (let c = 0; c < 10; c++) {
      const data = (JSON.parse(await readFile(join(dir, `${c}.json`), 'utf8')) as { data: number[] }).data;
      for (let i = 0; i < data.length / 784; i++) {
        const k = key(
          Uint8Array.from(data.slice(i * 784, (i + 1) * 784), (v) => Math.round(v * 255)),
          c,
        );
        expected.set(k, (expected.get(k) ?? 0) + 1);
      }
    }
    const { raw } = await readMnistRaw(28, disk);
    for (let i = 0; i < 10000; i++) {
      const k = key(raw.pixels.subarray(i * 784, (i + 1) * 784), raw.labels[i]);
      const left = expected.get(k);
      expect(left, `image ${i} is not in the package (or used twice)`).toBeGreaterThan(0);
      expected.set(k, left! - 1);
    }
  });
});

describe('loadMnist', () => {
  it('28×28: shapes, ranges, labels and a stratified 80/20 split', async () => {
    const ds = await loadMnist({ size: 28 });
    expect([ds.height, ds.width, ds.numClasses, ds.train.count, ds.test.count]).toEqual([28, 28, 10, 8000, 2000]);
    expect(ds.train.images.length).toBe(8000 * 784);
    expect(ds.test.images.length).toBe(2000 * 784);
    let min = Infinity;
    let max = -Infinity;
    for (const v of ds.train.images) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    const trainCounts = new Array(10).fill(0);
    const testCounts = new Array(10).fill(0);
    for (const l of ds.train.labels) trainCounts[l]++;
    for (const l of ds.test.labels) testCounts[l]++;
    for (let c = 0; c < 10; c++) {
      const total = trainCounts[c] + testCounts[c];
      expect(total).toBeGreaterThan(800);
      expect(Math.abs(trainCounts[c] - 0.8 * total)).toBeLessThanOrEqual(1);
    }
    // A prefix of the stored order is roughly balanced (each class 5–15% of the first 1,000).
    const prefix = new Array(10).fill(0);
    for (const l of ds.train.labels.subarray(0, 1000)) prefix[l]++;
    for (const c of prefix) expect(c).toBeGreaterThan(50);
    for (const c of prefix) expect(c).toBeLessThan(150);
  });

  it('14×14 is the 2×2 average pooling of 28×28', async () => {
    const big = await readMnistRaw(28, disk);
    const small = await readMnistRaw(14, disk);
    expect(Array.from(small.raw.labels)).toEqual(Array.from(big.raw.labels));
    const pooled = averagePool2x2(big.raw.pixels, 10000, 28, 28);
    expect(pooled.length).toBe(small.raw.pixels.length);
    let mismatches = 0;
    for (let i = 0; i < pooled.length; i++) if (pooled[i] !== small.raw.pixels[i]) mismatches++;
    expect(mismatches).toBe(0);
    // In float terms: within half a grey level of the exact mean of the 2×2 block.
    const f28 = await loadMnist({ size: 28, testLimit: 50, trainLimit: 50 });
    const f14 = await loadMnist({ size: 14, testLimit: 50, trainLimit: 50 });
    let worst = 0;
    for (let n = 0; n < 50; n++) {
      for (let y = 0; y < 14; y++) {
        for (let x = 0; x < 14; x++) {
          const p = (yy: number, xx: number) => f28.test.images[n * 784 + yy * 28 + xx];
          const mean = (p(2 * y, 2 * x) + p(2 * y, 2 * x + 1) + p(2 * y + 1, 2 * x) + p(2 * y + 1, 2 * x + 1)) / 4;
          worst = Math.max(worst, Math.abs(f14.test.images[n * 196 + y * 14 + x] - mean));
        }
      }
    }
    expect(worst).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
    expect(worst).toBeGreaterThan(0); // rounding does happen somewhere
  });

  it('normalize standardises the train split; limits take prefixes', async () => {
    const plain = await loadMnist({ size: 14, trainLimit: 100, testLimit: 10 });
    const norm = await loadMnist({ size: 14, normalize: true });
    expect(norm.normalized).toBe(true);
    let s = 0;
    let s2 = 0;
    for (const v of norm.train.images) {
      s += v;
      s2 += v * v;
    }
    const n = norm.train.images.length;
    expect(Math.abs(s / n)).toBeLessThan(1e-4);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(1e-4);
    expect(plain.train.count).toBe(100);
    expect(plain.test.count).toBe(10);
    expect(Array.from(plain.train.labels)).toEqual(Array.from(norm.train.labels.subarray(0, 100)));
    expect(norm.train.images[5 * 196 + 90]).toBeCloseTo((plain.train.images[5 * 196 + 90] - norm.pixelMean) / norm.pixelStd, 5);
  });

  it('rejects bad arguments with clear errors', async () => {
    await expect(loadMnist({ size: 20 as 28 })).rejects.toThrow(/size must be 28 or 14, got 20/);
    await expect(loadMnist(undefined as never)).rejects.toThrow(DataError);
    await expect(loadMnist({ size: 14, trainLimit: 0 })).rejects.toThrow(/trainLimit must be an integer in \[1, 8000\]/);
    await expect(loadMnist({ size: 14, testLimit: 2001 })).rejects.toThrow(/testLimit/);
    await expect(loadMnist({ size: 14, source: nodeDataSource('/nonexistent-kfac-data') })).rejects.toThrow(/missing: run `npm run data`/);
  });

  it('in a browser it fetches manifest and file from the data folder under baseUrl', async () => {
    const files = new Map<string, Uint8Array>();
    for (const name of [MNIST_MANIFEST_FILE, 'mnist-14.bin.gz']) files.set(name, await disk.read(name));
    const requested: string[] = [];
    vi.stubGlobal('fetch', async (url: string) => {
      requested.push(url);
      const body = files.get(url.split('/').pop()!);
      return body ? new Response(body as Uint8Array<ArrayBuffer>) : new Response('not found', { status: 404, statusText: 'Not Found' });
    });
    const ds = await loadMnist({ size: 14, baseUrl: 'http://127.0.0.1:5173/lab/data/', trainLimit: 10 });
    expect(ds.train.count).toBe(10);
    expect(requested).toEqual(['http://127.0.0.1:5173/lab/data/mnist.json', 'http://127.0.0.1:5173/lab/data/mnist-14.bin.gz']);
    // Cached per URL: a second load fetches nothing.
    await loadMnist({ size: 14, baseUrl: 'http://127.0.0.1:5173/lab/data/' });
    expect(requested.length).toBe(2);
    await expect(loadMnist({ size: 28, baseUrl: 'http://127.0.0.1:5173/lab/data/' })).rejects.toThrow(/HTTP 404.*npm run data/);
  });

  it('stratifiedSplit hits the exact train total with every class within one of its share', () => {
    const labels = Array.from({ length: 997 }, (_, i) => (i * 7) % 10);
    const { train, test } = stratifiedSplit(labels, 10, 700, 5);
    expect(train.length).toBe(700);
    expect(new Set([...train, ...test]).size).toBe(997);
    const counts = new Array(10).fill(0);
    for (const i of train) counts[labels[i]]++;
    const totals = new Array(10).fill(0);
    for (const l of labels) totals[l]++;
    counts.forEach((c, k) => expect(Math.abs(c - (totals[k] * 700) / 997)).toBeLessThan(1));
  });
});
