// The `influence` tool (docs/curvature-tools.md §3): the case's examples are the training set, its
// `queries` (same layout) the queries, and the output the influence score of every training example
// on every query, { scores: [Q][N] }, under the case's `method` and damping λ.
import { constant } from '../../autograd/variable.ts';
import type { Backend } from '../../backend/backend.ts';
import { batchList } from '../../curvature/toolkit.ts';
import {
  buildCaseModel,
  CaseError,
  caseKfacOptions,
  finite,
  isRecord,
  oneOf,
  parseFactorsCase,
  required,
  toRows,
  type FactorsCase,
} from '../case.ts';
import { defineTool, type ToolOutput } from '../tool.ts';
import { INFLUENCE_METHODS, influenceScores, type InfluenceMethod } from './scores.ts';

export interface InfluenceCase extends FactorsCase {
  /** The queries as a case of their own (the same layers, loss and setting). */
  queries: FactorsCase;
  method: InfluenceMethod;
  damping: number;
}

export interface InfluenceOutput extends ToolOutput {
  /** The linear layers whose parameters θ the scores are taken over (all of them), by position in `layers`. */
  layers: { index: number }[];
  /** scores[q][n] = ∇m_qᵀ (H + λI)⁻¹ ∇ℓ_n; positive: example n helped query q. */
  scores: number[][];
  /** m_q, each query's loss (summed over its terms, no factor c). */
  queryLoss: number[];
}

const FIELDS = {
  queries: { about: '{"inputs": [Q][R][dIn], "targets": like the case\'s targets}: the queries whose loss m_q is attributed' },
  method: { about: `${INFLUENCE_METHODS.map((m) => `"${m}"`).join(', ')}: H = 0, K-FAC, EK-FAC or the dense exact GGN (cpu, float64)` },
  damping: { about: 'λ ≥ 0 added to H (> 0 for identity)' },
} as const;

export function parseInfluenceCase(json: unknown): InfluenceCase {
  const c = parseFactorsCase(json, FIELDS);
  const record = json as Record<string, unknown>;
  const q = required(record, 'queries');
  if (!isRecord(q)) throw new CaseError('queries', 'expected {"inputs": [Q][R][dIn], "targets": [...]}');
  const extra = Object.keys(q).find((k) => k !== 'inputs' && k !== 'targets');
  if (extra !== undefined) throw new CaseError(`queries.${extra}`, 'unknown field (allowed: inputs, targets)');
  let queries: FactorsCase;
  try {
    // The queries are validated as a case of the same model: the messages then name queries.<field>.
    const { queries: _q, method: _m, damping: _d, ...shared } = record;
    queries = parseFactorsCase({ ...shared, inputs: required(q, 'inputs'), targets: required(q, 'targets') });
  } catch (e) {
    if (e instanceof CaseError) throw new CaseError(`queries.${e.field}`, e.message.slice(e.field.length + 2));
    throw e;
  }
  const method = oneOf(required(record, 'method'), 'method', INFLUENCE_METHODS);
  const damping = finite(required(record, 'damping'), 'damping');
  if (damping < 0) throw new CaseError('damping', `expected a number ≥ 0, got ${damping}`);
  if (method === 'identity' && damping === 0) throw new CaseError('damping', 'the identity method divides by λ: expected a number > 0');
  if (method === 'ggn' && (c.backend !== 'cpu' || c.precision !== 'float64'))
    throw new CaseError(
      'method',
      `"ggn" (the dense exact GGN) needs backend "cpu" and precision "float64", got "${c.backend}" / "${c.precision}"`,
    );
  if (method === 'ggn' && c.fisher === 'mc') throw new CaseError('fisher', '"ggn" is the exact GGN: use fisher "type-2" (or "empirical")');
  return { ...c, queries, method, damping };
}

export async function computeInfluence(c: InfluenceCase, backend: Backend): Promise<InfluenceOutput> {
  const train = buildCaseModel(c, backend);
  // The queries run through the same model (its parameters are the ones differentiated).
  const x = backend.tensor(c.queries.inputs.values, c.queries.inputs.shape, c.precision);
  const y = backend.tensor(c.queries.targets.values, c.queries.targets.shape, c.loss === 'ce' ? 'int32' : c.precision);
  try {
    const result = await influenceScores({
      model: train.model,
      train: batchList([{ forward: train.forward, loss: train.loss }]),
      queries: batchList([{ forward: () => train.model.forward(constant(x)), loss: { spec: train.loss.spec, targets: y } }]),
      method: c.method,
      damping: c.damping,
      ...caseKfacOptions(c),
    });
    return {
      layers: train.model.linears.map((l) => ({ index: l.index })),
      scores: toRows(result.scores, result.queries, result.examples),
      queryLoss: Array.from(result.queryLoss),
    };
  } finally {
    x.dispose();
    y.dispose();
    train.dispose();
  }
}

export const influenceTool = defineTool({
  name: 'influence',
  about: 'Influence of each training example (the case) on each query: scores [Q][N] = ∇m_qᵀ (H + λI)⁻¹ ∇ℓ_n.',
  fields: FIELDS,
  parse: parseInfluenceCase,
  compute: computeInfluence,
});
