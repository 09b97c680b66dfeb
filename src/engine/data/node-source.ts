// NODE ONLY. Data files read from disk: public/data of this repository by default, or the folder
// named by KFAC_DATA_DIR. source.ts loads this module on demand in Node; CLI code and tests may
// import it directly. Never import it from code that is bundled for the browser.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError } from './common.ts';
import type { DataSource } from './source.ts';

/** The repository's public/data folder, where `npm run data` writes. */
export const PUBLIC_DATA_DIR = fileURLToPath(new URL('../../../public/data/', import.meta.url));

export function nodeDataSource(dir: string = process.env.KFAC_DATA_DIR || PUBLIC_DATA_DIR): DataSource {
  return {
    description: dir,
    async read(name: string): Promise<Uint8Array> {
      const path = join(dir, name);
      try {
        const buf = await readFile(path);
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new DataError(`data file ${path} is missing: run \`npm run data\` to generate the data files`);
        throw new DataError(`could not read data file ${path}: ${(e as Error).message}`);
      }
    },
  };
}
