// Where data files come from. Browsers and workers fetch them from the app's `data/` folder (Vite
// copies public/data there); Node reads public/data from disk through node-source.ts, which is
// loaded only in Node so that no bundle ever sees node:fs.
import { DataError } from './common.ts';

export interface DataSource {
  /** Where the files are read from, for error messages. */
  readonly description: string;
  /** The raw bytes of one data file, e.g. `mnist.json`. */
  read(name: string): Promise<Uint8Array>;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

// A variable, not a literal: bundlers leave `import(variable)` alone, so node:fs stays out of the browser build.
const NODE_SOURCE_MODULE = './node-source.ts';

/**
 * The app's data folder: `${BASE_URL}data/` resolved against the page. In a worker of an app built
 * with a relative base ('./'), pass the page's data URL instead (e.g. `new URL('data/', document.baseURI)`),
 * since a worker's location is its script's URL.
 */
export function defaultDataUrl(): string {
  const appBase = import.meta.env?.BASE_URL ?? '/';
  const here = globalThis.location?.href;
  try {
    return new URL(`${appBase.endsWith('/') ? appBase : `${appBase}/`}data/`, here).href;
  } catch {
    throw new DataError(`cannot resolve the data folder from base '${appBase}' without a page location: pass baseUrl explicitly`);
  }
}

/** Files fetched from `baseUrl` (default: the app's data folder, see defaultDataUrl). */
export function fetchDataSource(baseUrl?: string | URL): DataSource {
  const base = baseUrl === undefined ? defaultDataUrl() : new URL(String(baseUrl), globalThis.location?.href).href;
  const folder = base.endsWith('/') ? base : `${base}/`;
  return {
    description: folder,
    async read(name: string): Promise<Uint8Array> {
      const url = new URL(name, folder).href;
      let response: Response;
      try {
        response = await fetch(url);
      } catch (e) {
        throw new DataError(`could not fetch ${url}: ${(e as Error).message}`);
      }
      if (!response.ok) {
        throw new DataError(
          `fetching ${url} failed: HTTP ${response.status} ${response.statusText} (the data files are made by \`npm run data\`)`,
        );
      }
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}

let defaultSource: Promise<DataSource> | null = null;

/** public/data on disk in Node, the app's data folder everywhere else. */
export function defaultDataSource(): Promise<DataSource> {
  defaultSource ??= (async () => {
    if (!isNode) return fetchDataSource();
    const mod = (await import(/* @vite-ignore */ NODE_SOURCE_MODULE)) as typeof import('./node-source.ts');
    return mod.nodeDataSource();
  })();
  return defaultSource;
}
