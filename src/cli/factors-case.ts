// What is CLI about the `npm run factors -- case.json` command: printing the factors. The case
// format, its validation and the computation are engine functions (src/engine/tools/case.ts), shared
// with `npm run curvature`.
import type { CaseFactors } from '../engine/tools/case.ts';

/** JSON with one matrix row per line. */
export function formatCaseFactors(out: CaseFactors): string {
  const matrix = (m: number[][]) => `[\n${m.map((row) => `        ${JSON.stringify(row)}`).join(',\n')}\n      ]`;
  const layers = out.layers.map((l) => `    {\n      "index": ${l.index},\n      "A": ${matrix(l.A)},\n      "G": ${matrix(l.G)}\n    }`);
  return `{\n  "layers": [\n${layers.join(',\n')}\n  ]\n}\n`;
}
