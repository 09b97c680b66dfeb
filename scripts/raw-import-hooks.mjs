// Node module-customization hooks that give Node what Vite gives the browser build and Vitest:
// `import text from './x.wgsl?raw'` yields the file's text as the default export. Used by
// `npm run bench` as `node --import tsx --import ./scripts/raw-import-hooks.mjs`. Hooks registered
// later run first, so these see `?raw` specifiers before tsx does.
import { readFile } from 'node:fs/promises';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

const RAW_QUERY = '?raw';

export async function resolve(specifier, context, nextResolve) {
  if (!specifier.endsWith(RAW_QUERY)) return nextResolve(specifier, context);
  const { url } = await nextResolve(specifier.slice(0, -RAW_QUERY.length), context);
  return { url: `${url}${RAW_QUERY}`, format: 'module', shortCircuit: true };
}

export async function load(url, context, nextLoad) {
  if (!url.endsWith(RAW_QUERY)) return nextLoad(url, context);
  const text = await readFile(fileURLToPath(url.slice(0, -RAW_QUERY.length)), 'utf8');
  return { format: 'module', source: `export default ${JSON.stringify(text)};\n`, shortCircuit: true };
}

// This file is both the --import entry (main thread: register) and the hooks module (loader thread).
if (isMainThread) register(import.meta.url);
