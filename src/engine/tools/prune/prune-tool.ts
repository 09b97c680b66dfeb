// The `prune` tool (docs/curvature-tools.md §5): prune a case's model with one method and print,
// per linear layer, every weight's score, the mask (1 kept) and the pruned (compensated) weight,
// with the case's loss before and after.
import { noGrad } from '../../autograd/variable.ts';
import type { Backend } from '../../backend/backend.ts';
import { batchList } from '../../curvature/data.ts';
import { computeLoss } from '../../nn/losses.ts';
import { readAndDispose, scope } from '../../tensor.ts';
import {
  buildCaseModel,
  CaseError,
  caseKfacOptions,
  finite,
  integer,
  oneOf,
  parseFactorsCase,
  required,
  toRows,
  type FactorsCase,
  type FieldDoc,
} from '../case.ts';
import { defineTool, type ToolOutput } from '../tool.ts';
import { PRUNE_METHODS, prunableLayers, type PruneMethod } from './curvature.ts';
import { pruneModel, type PruneScope } from './prune.ts';

export const PRUNE_DEFAULT_DAMPING = 1e-4;
export const WOODFISHER_DEFAULT_BLOCK = 128;

export const PRUNE_FIELDS: Readonly<Record<string, FieldDoc>> = {
  method: { about: `${PRUNE_METHODS.map((m) => `"${m}"`).join(' | ')} (ggn-obs: the dense exact GGN, tiny float64 cases)` },
  sparsity: { about: 'fraction s in [0, 1] of the weights to remove (biases are never pruned)' },
  scope: { about: '"layer" (floor(s·n) of each layer) or "global" (floor(s·n) of all weights, by score)', default: 'layer' },
  damping: { about: 'λ ≥ 0 added to the curvature (> 0 for diag-fisher and woodfisher)', default: String(PRUNE_DEFAULT_DAMPING) },
  compensate: { about: 'OBS methods move the kept weights to compensate (magnitude and diag-fisher only zero)', default: 'true' },
  blockSize: { about: 'woodfisher: coordinates per diagonal block of F⁻¹', default: String(WOODFISHER_DEFAULT_BLOCK) },
  steps: { about: 'reach the sparsity in this many steps, re-estimating the curvature before each', default: '1' },
};

export interface PruneCase extends FactorsCase {
  method: PruneMethod;
  sparsity: number;
  scope: PruneScope;
  damping: number;
  compensate: boolean;
  blockSize: number;
  steps: number;
}

export interface PruneLayerOutput {
  index: number;
  /** [dOut][dIn]: the score of each weight in the (last) step. */
  scores: number[][];
  /** [dOut][dIn]: 1 kept, 0 removed. */
  mask: number[][];
  /** [dOut][dIn]: the weight after pruning (and compensation). */
  weight: number[][];
}

export interface PruneOutput extends ToolOutput {
  layers: PruneLayerOutput[];
  method: PruneMethod;
  sparsity: number;
  /** Weights removed, over all layers. */
  removed: number;
  /** The case's loss (its reduction) before and after. */
  lossBefore: number;
  lossAfter: number;
  /** Σ ρ_q of the removed weights (the method's own quadratic estimate); null for magnitude. */
  predictedIncrease: number | null;
}

export function parsePruneCase(json: unknown): PruneCase {
  const c = parseFactorsCase(json, PRUNE_FIELDS);
  const j = json as Record<string, unknown>;
  const method = oneOf(required(j, 'method'), 'method', PRUNE_METHODS);
  const sparsity = finite(required(j, 'sparsity'), 'sparsity');
  if (sparsity < 0 || sparsity > 1) throw new CaseError('sparsity', `expected a fraction in [0, 1], got ${sparsity}`);
  const scope = oneOf(j.scope ?? 'layer', 'scope', ['layer', 'global'] as const);
  const damping = finite(j.damping ?? PRUNE_DEFAULT_DAMPING, 'damping');
  const needsPositive = method === 'woodfisher' || method === 'diag-fisher';
  if (damping < 0 || (needsPositive && damping === 0))
    throw new CaseError('damping', `expected a number ${needsPositive ? '> 0' : '≥ 0'} for method "${method}", got ${damping}`);
  const compensate = j.compensate ?? true;
  if (typeof compensate !== 'boolean') throw new CaseError('compensate', `expected true or false, got ${JSON.stringify(compensate)}`);
  const blockSize = integer(j.blockSize ?? WOODFISHER_DEFAULT_BLOCK, 'blockSize', 1, 1 << 16);
  const steps = integer(j.steps ?? 1, 'steps', 1, 100);
  if (method === 'ggn-obs' && c.backend !== 'cpu')
    throw new CaseError('method', `"ggn-obs" builds the dense exact GGN in float64: it needs backend "cpu", got "${c.backend}"`);
  return { ...c, method, sparsity, scope, damping, compensate, blockSize, steps };
}

/** The case's loss (its own reduction) at the model's current weights. */
async function caseLoss(m: ReturnType<typeof buildCaseModel>): Promise<number> {
  const value = scope(() => noGrad(() => computeLoss(m.loss.spec, m.forward(), m.loss.targets).value));
  return (await readAndDispose(value))[0];
}

export async function computePrune(c: PruneCase, backend: Backend): Promise<PruneOutput> {
  const m = buildCaseModel(c, backend);
  try {
    const layers = prunableLayers(m.model, m.forward);
    const lossBefore = await caseLoss(m);
    const kfac = caseKfacOptions(c);
    const result = await pruneModel(m.model, batchList([{ forward: m.forward, loss: m.loss }]), layers, {
      method: c.method,
      sparsity: c.sparsity,
      scope: c.scope,
      damping: c.damping,
      compensate: c.compensate,
      steps: c.steps,
      examples: c.inputs.shape[0],
      blockSize: c.blockSize,
      approx: kfac.approx,
      fisher: kfac.fisher,
      setting: kfac.setting,
      mcSamples: kfac.mcSamples,
      seed: kfac.seed,
    });
    const lossAfter = await caseLoss(m);
    return {
      layers: layers.map((l, k) => ({
        index: m.model.linears[k].index,
        scores: toRows(result.scores[k], l.dOut, l.dIn),
        mask: toRows(result.masks[k], l.dOut, l.dIn),
        weight: toRows(result.weights[k], l.dOut, l.dIn),
      })),
      method: c.method,
      sparsity: c.sparsity,
      removed: result.masks.reduce((s, mask) => s + mask.reduce((z, x) => z + (x === 0 ? 1 : 0), 0), 0),
      lossBefore,
      lossAfter,
      predictedIncrease: result.predictedIncrease,
    };
  } finally {
    m.dispose();
  }
}

export const pruneTool = defineTool({
  name: 'prune',
  about:
    'Prune the linear layers by magnitude, diagonal Fisher or optimal brain surgeon (WoodFisher, K-FAC, exact GGN): per layer scores, mask and weight; lossBefore, lossAfter.',
  fields: PRUNE_FIELDS,
  parse: parsePruneCase,
  compute: computePrune,
});
