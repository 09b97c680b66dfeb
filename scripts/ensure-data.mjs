// Fast guard run before dev, build and tests: regenerates public/data (scripts/make-data.ts) only
// when a data file is missing or the manifest is unreadable. Plain Node, so the common case (all
// present) costs a few milliseconds and no TypeScript loader.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = join(root, 'public', 'data');

function missingFiles() {
  const manifestPath = join(dataDir, 'mnist.json');
  if (!existsSync(manifestPath)) return ['mnist.json'];
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    return ['mnist.json (unreadable)'];
  }
  return Object.values(manifest.files ?? {})
    .map((f) => f.file)
    .filter((file) => !existsSync(join(dataDir, file)));
}

const missing = missingFiles();
if (missing.length > 0) {
  process.stdout.write(`data: ${missing.join(', ')} missing in public/data, generating\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'make-data.ts')], { cwd: root, stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
