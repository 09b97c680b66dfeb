// Command-line arguments of `npm run prune` (docs/curvature-tools.md §5), parsed without touching the
// process so that tests can call it directly. Every problem is a PruneArgsError naming the flag.
import { TASK_IDS, TASKS, type TaskId } from '../engine/lab/tasks.ts';
import { PRUNE_METHODS, type PruneMethod } from '../engine/tools/prune/curvature.ts';
import { PRUNE_DEFAULT_DAMPING, WOODFISHER_DEFAULT_BLOCK } from '../engine/tools/prune/prune-tool.ts';
import type { PruneScope } from '../engine/tools/prune/prune.ts';

/** Tasks whose examples are independent mini-batch rows (per-example gradients make sense); not full-batch node classification. */
export const PRUNE_TASKS: readonly TaskId[] = TASK_IDS.filter((id) => !TASKS[id].fullBatch);

export const DEFAULT_METHODS: readonly PruneMethod[] = ['magnitude', 'diag-fisher', 'woodfisher', 'kfac-obs'];
export const DEFAULT_SPARSITIES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
/** Methods the command runs on a task's model (ggn-obs needs a tiny float64 model: use the `prune` tool on a case). */
const TASK_METHODS = PRUNE_METHODS.filter((m) => m !== 'ggn-obs');

export interface PruneArgs {
  kind: 'run';
  task: TaskId;
  methods: PruneMethod[];
  sparsities: number[];
  scope: PruneScope;
  finetune: number;
  json: boolean;
  damping: Partial<Record<PruneMethod, number>>;
  defaultDamping: number;
  examples: number;
  trainSteps: number;
  checkpoint: string | null;
  seed: number;
  steps: number;
  blockSize: number;
  backend: 'webgpu' | 'wasm' | 'cpu';
}

export class PruneArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PruneArgsError';
  }
}

export const PRUNE_USAGE = `usage: npm run -s prune -- --task <id> [options]

Trains (or loads) a task's model, prunes it with each method at each sparsity from the same weights,
and prints one-shot test accuracy, the loss on the curvature examples against each method's predicted
increase, and the accuracy after an optional fine-tuning that keeps the masks.

  --task <id>              one of ${PRUNE_TASKS.join(', ')}
  --methods <a,b,...>      from ${TASK_METHODS.join(', ')} (default: ${DEFAULT_METHODS.join(',')})
  --sparsity <s1,s2,...>   fractions of the weights to remove (default: ${DEFAULT_SPARSITIES.join(',')})
  --scope layer|global     per layer, or the smallest scores over all layers (default: global)
  --finetune <n>           fine-tune n Adam steps after pruning, masks held (default: 0)
  --damping <λ | m=λ,...>  λ for every method, or per method, e.g. woodfisher=1e-4,kfac-obs=1e-3 (default: ${PRUNE_DEFAULT_DAMPING})
  --examples <n>           training examples for the curvature (default: 1024)
  --train-steps <n>        Adam steps of the dense model before pruning (default: 1000)
  --checkpoint <file>      prune this checkpoint (.kfac) instead of training
  --steps <k>              gradual: reach each sparsity in k steps, re-estimating the curvature (default: 1)
  --block-size <B>         WoodFisher's diagonal block size (default: ${WOODFISHER_DEFAULT_BLOCK})
  --seed <s>               weights, example subset and batch order (default: 1)
  --backend wasm|webgpu|cpu  (default: wasm, the fast CPU backend)
  --json                   print the result as JSON on stdout instead of the table
  --help                   this text`;

function positiveInteger(value: string, flag: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new PruneArgsError(`--${flag}: expected a whole number ≥ ${min}, got "${value}"`);
  return n;
}

function dampingValue(value: string, flag: string): number {
  const x = Number(value);
  if (value.trim() === '' || !Number.isFinite(x) || x < 0) throw new PruneArgsError(`--${flag}: expected a number ≥ 0, got "${value}"`);
  return x;
}

const VALUE_FLAGS = [
  'task',
  'methods',
  'sparsity',
  'scope',
  'finetune',
  'damping',
  'examples',
  'train-steps',
  'checkpoint',
  'steps',
  'block-size',
  'seed',
  'backend',
];

export function parsePruneArgs(argv: readonly string[]): PruneArgs | { kind: 'help' } {
  const values = new Map<string, string>();
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--json') {
      json = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new PruneArgsError(`unexpected argument "${arg}"`);
    const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (!VALUE_FLAGS.includes(name)) throw new PruneArgsError(`unknown flag --${name}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new PruneArgsError(`--${name}: missing value`);
    if (values.has(name)) throw new PruneArgsError(`--${name} given twice`);
    values.set(name, value);
  }
  const task = values.get('task');
  if (task === undefined) throw new PruneArgsError('--task is required');
  if (!(PRUNE_TASKS as readonly string[]).includes(task))
    throw new PruneArgsError(`--task: expected one of ${PRUNE_TASKS.join(', ')}, got "${task}"`);
  const methods = (values.get('methods') ?? DEFAULT_METHODS.join(',')).split(',').map((m) => m.trim());
  for (const m of methods) {
    if (!(TASK_METHODS as readonly string[]).includes(m))
      throw new PruneArgsError(
        `--methods: unknown method "${m}" (known: ${TASK_METHODS.join(', ')}${m === 'ggn-obs' ? '; ggn-obs is for tiny models: npm run -s curvature -- prune case.json' : ''})`,
      );
  }
  if (new Set(methods).size !== methods.length) throw new PruneArgsError('--methods: a method is listed twice');
  const sparsities = (values.get('sparsity') ?? DEFAULT_SPARSITIES.join(',')).split(',').map((s) => {
    const x = Number(s);
    if (s.trim() === '' || !(x >= 0 && x <= 1)) throw new PruneArgsError(`--sparsity: expected fractions in [0, 1], got "${s}"`);
    return x;
  });
  const scope = values.get('scope') ?? 'global';
  if (scope !== 'layer' && scope !== 'global') throw new PruneArgsError(`--scope: expected layer or global, got "${scope}"`);
  const damping: Partial<Record<PruneMethod, number>> = {};
  let defaultDamping = PRUNE_DEFAULT_DAMPING;
  const dampingText = values.get('damping');
  if (dampingText !== undefined) {
    if (dampingText.includes('=')) {
      for (const part of dampingText.split(',')) {
        const [m, v] = part.split('=');
        if (!(PRUNE_METHODS as readonly string[]).includes(m)) throw new PruneArgsError(`--damping: unknown method "${m}"`);
        damping[m as PruneMethod] = dampingValue(v ?? '', 'damping');
      }
    } else defaultDamping = dampingValue(dampingText, 'damping');
  }
  for (const m of methods) {
    const λ = damping[m as PruneMethod] ?? defaultDamping;
    if ((m === 'woodfisher' || m === 'diag-fisher') && !(λ > 0)) throw new PruneArgsError(`--damping: ${m} needs λ > 0`);
  }
  const backend = values.get('backend') ?? 'wasm';
  if (backend !== 'webgpu' && backend !== 'wasm' && backend !== 'cpu')
    throw new PruneArgsError(`--backend: expected webgpu, wasm or cpu, got "${backend}"`);
  return {
    kind: 'run',
    task: task as TaskId,
    methods: methods as PruneMethod[],
    sparsities,
    scope,
    finetune: positiveInteger(values.get('finetune') ?? '0', 'finetune', 0),
    json,
    damping,
    defaultDamping,
    examples: positiveInteger(values.get('examples') ?? '1024', 'examples'),
    trainSteps: positiveInteger(values.get('train-steps') ?? '1000', 'train-steps', 0),
    checkpoint: values.get('checkpoint') ?? null,
    seed: positiveInteger(values.get('seed') ?? '1', 'seed', 0),
    steps: positiveInteger(values.get('steps') ?? '1', 'steps'),
    blockSize: positiveInteger(values.get('block-size') ?? String(WOODFISHER_DEFAULT_BLOCK), 'block-size'),
    backend,
  };
}
