// Each example's own loss ℓ_n (docs/curvature-tools.md §0: the sum of its loss terms, without the
// factor c): the influence tool's measurement m_q of a query, and what the LDS evaluation measures
// after retraining. Computed on the host from one forward pass (a batch of queries is small).
import { noGrad } from '../../autograd/variable.ts';
import { keep, readAndDispose, scope } from '../../tensor.ts';
import type { CurvatureBatch, CurvatureData, RunControl } from '../../curvature/data.ts';
import { forEachBatch } from '../../curvature/data.ts';

/** ℓ_n of every example of one batch (outputs [N, C] or [N, R, C]; CE ignores negative targets). */
export async function exampleLosses(batch: CurvatureBatch): Promise<Float64Array> {
  const outputs = scope(() => keep(noGrad(() => batch.forward()).value));
  const shape = [...outputs.shape];
  const [f, targets] = await Promise.all([readAndDispose(outputs), batch.loss.targets.read()]);
  const N = shape[0];
  const C = shape[shape.length - 1];
  const termsPerExample = f.length / C / N;
  const losses = new Float64Array(N);
  if (batch.loss.spec.kind === 'mse') {
    if (targets.length !== f.length) throw new Error(`exampleLosses: ${targets.length} targets for ${f.length} outputs`);
    for (let i = 0; i < f.length; i++) {
      const r = f[i] - targets[i];
      losses[Math.floor(i / (C * termsPerExample))] += r * r;
    }
    return losses;
  }
  if (targets.length !== N * termsPerExample)
    throw new Error(`exampleLosses: ${targets.length} labels for ${N * termsPerExample} loss terms`);
  for (let m = 0; m < targets.length; m++) {
    const y = targets[m];
    if (y < 0) continue;
    let max = -Infinity;
    for (let k = 0; k < C; k++) max = Math.max(max, f[m * C + k]);
    let total = 0;
    for (let k = 0; k < C; k++) total += Math.exp(f[m * C + k] - max);
    losses[Math.floor(m / termsPerExample)] += max + Math.log(total) - f[m * C + y];
  }
  return losses;
}

/** ℓ_n of every example of a data set, in order. */
export async function dataLosses(data: CurvatureData, control: RunControl = {}): Promise<Float64Array> {
  const parts: Float64Array[] = [];
  await forEachBatch(data, control, 'exampleLosses', async (batch) => void parts.push(await exampleLosses(batch)));
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
