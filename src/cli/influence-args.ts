// Command-line arguments of `npm run influence` (docs/curvature-tools.md §3), parsed without touching
// the process so that tests can call it directly. Every problem is an InfluenceArgsError whose message
// names the flag; the command prints it with the usage and exits 2.
import { INFLUENCE_TASKS, isInfluenceTask, type InfluenceTaskId } from '../engine/tools/influence/classifier.ts';
import { INFLUENCE_METHODS, type InfluenceMethod } from '../engine/tools/influence/scores.ts';

export interface InfluenceArgs {
  task: InfluenceTaskId;
  methods: InfluenceMethod[];
  lds: boolean;
  subsets: number;
  seeds: number;
  json: boolean;
  /** Training images scored (the first N of the task's training set). */
  examples: number;
  /** Test images used as queries (the first Q of the task's validation set). */
  queries: number;
  /** Training steps of the model and of every LDS retraining. */
  steps: number;
  /** λ relative to K-FAC's mean eigenvalue. */
  damping: number;
  top: number;
  seed: number;
  backend: 'webgpu' | 'wasm' | 'cpu';
  /** A checkpoint file to score instead of training (LDS still retrains with the recipe). */
  checkpoint: string | null;
}

export class InfluenceArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InfluenceArgsError';
  }
}

export const INFLUENCE_USAGE = `usage: npm run -s influence -- --task <id> --method <m[,m...]> [--lds [--subsets M] [--seeds S]] [--json] [options]

Which training images made an MNIST classifier say what it says about a test image: influence scores
∇m_qᵀ (H + λI)⁻¹ ∇ℓ_n (positive: the image helped the query; docs/curvature-tools.md §3).

  --task <id>            ${INFLUENCE_TASKS.join(' or ')}
  --method <m,...>       identity, kfac, ekfac (and ggn: the dense exact GGN, tiny models only), comma-separated
  --lds                  evaluate by the linear datamodelling score: retrain on random half subsets
  --subsets <M>          half subsets of the LDS (default 50)
  --seeds <S>            retrainings per subset, averaged; ≥ 2 gives the seed-to-seed ceiling (default 2)
  --json                 print the result as JSON on stdout (else a readable summary)
  --examples <N>         training images scored, the first N of the task's (default 1000)
  --queries <Q>          test images as queries, the first Q of the validation set (default 10)
  --steps <n>            Adam steps (batch 64, lr 2e-3) of the model and of each retraining (default 300)
  --damping <r>          λ = r · K-FAC's mean eigenvalue (default 0.1)
  --top <k>              helpful and harmful images listed per query (default 5)
  --seed <s>             initial weights and batch order of the model; seeds the subsets (default 1)
  --backend <b>          wasm (default: fast CPU), cpu (float64 reference) or webgpu
  --checkpoint <file>    score this trained model (a .kfacckpt of the task) instead of training one`;

const FLAGS_WITH_VALUE = [
  '--task',
  '--method',
  '--subsets',
  '--seeds',
  '--examples',
  '--queries',
  '--steps',
  '--damping',
  '--top',
  '--seed',
  '--backend',
  '--checkpoint',
];
const SWITCHES = ['--lds', '--json'];

function whole(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InfluenceArgsError(`${flag}: expected a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

/** `help` when asked for it; otherwise the parsed arguments. */
export function parseInfluenceArgs(argv: readonly string[]): InfluenceArgs | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (SWITCHES.includes(a)) switches.add(a);
    else if (FLAGS_WITH_VALUE.includes(a)) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new InfluenceArgsError(`${a}: expects a value`);
      values.set(a, v);
      i++;
    } else throw new InfluenceArgsError(`unknown argument "${a}"`);
  }
  const task = values.get('--task');
  if (task === undefined) throw new InfluenceArgsError('--task: required (one of ' + INFLUENCE_TASKS.join(', ') + ')');
  if (!isInfluenceTask(task)) throw new InfluenceArgsError(`--task: expected one of ${INFLUENCE_TASKS.join(', ')}, got "${task}"`);
  const methodText = values.get('--method');
  if (methodText === undefined) throw new InfluenceArgsError(`--method: required (${INFLUENCE_METHODS.join(', ')})`);
  const methods = methodText.split(',').map((m) => m.trim());
  for (const m of methods)
    if (!(INFLUENCE_METHODS as readonly string[]).includes(m))
      throw new InfluenceArgsError(`--method: expected ${INFLUENCE_METHODS.join(', ')}, got "${m}"`);
  if (new Set(methods).size !== methods.length) throw new InfluenceArgsError(`--method: "${methodText}" names a method twice`);
  const lds = switches.has('--lds');
  for (const flag of ['--subsets', '--seeds']) if (values.has(flag) && !lds) throw new InfluenceArgsError(`${flag}: only with --lds`);
  const examples = whole(values.get('--examples') ?? '1000', '--examples', 4, 4096);
  const damping = Number(values.get('--damping') ?? '0.1');
  if (!(damping > 0) || !Number.isFinite(damping))
    throw new InfluenceArgsError(`--damping: expected a number > 0, got "${values.get('--damping')}"`);
  const backend = values.get('--backend') ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu' && backend !== 'webgpu')
    throw new InfluenceArgsError(`--backend: expected wasm, cpu or webgpu, got "${backend}"`);
  return {
    task,
    methods: methods as InfluenceMethod[],
    lds,
    subsets: whole(values.get('--subsets') ?? '50', '--subsets', 3, 10_000),
    seeds: whole(values.get('--seeds') ?? '2', '--seeds', 1, 100),
    json: switches.has('--json'),
    examples,
    queries: whole(values.get('--queries') ?? '10', '--queries', 1, 512),
    steps: whole(values.get('--steps') ?? '300', '--steps', 1, 100_000),
    damping,
    top: whole(values.get('--top') ?? '5', '--top', 1, examples),
    seed: whole(values.get('--seed') ?? '1', '--seed', 0, 2 ** 31 - 1),
    backend,
    checkpoint: values.get('--checkpoint') ?? null,
  };
}
