// The hyperparameter schema: the one place where every optimizer setting, the learning-rate
// schedule and gradient clipping get their key, label, type, default, range, scale and help text.
// The UI (controls), the URL state and the CLI (parseAssignment), the docs (docsTable) and the
// optimizer factory (validate) all read it; the value types of each group are derived from it.
// K-FAC entries follow docs/kfac.md §4.

export type ParamType = 'number' | 'integer' | 'boolean' | 'enum';
/** How a control should move through the range: 'log' for rates and tolerances spanning decades. */
export type ParamScale = 'log' | 'linear';

export interface EnumOption {
  readonly value: string;
  readonly label: string;
}

/** Show a control only when another key of the same group has one of these values. */
export interface ParamCondition {
  readonly key: string;
  readonly values: readonly (string | boolean)[];
}

interface ParamBase {
  readonly key: string;
  readonly label: string;
  /** One or two sentences a student would understand. */
  readonly help: string;
  readonly onlyWhen?: ParamCondition;
  /**
   * One of the few settings a user tunes first: the lab's editor shows it at once (the rest of the
   * group under "More settings") and the docs list it first.
   */
  readonly primary?: boolean;
}

export interface NumericParam extends ParamBase {
  readonly type: 'number' | 'integer';
  readonly default: number;
  /** Inclusive range. A log-scaled range has min > 0. */
  readonly min: number;
  readonly max: number;
  readonly scale: ParamScale;
  /** 0 is accepted as well and switches the feature off (e.g. weight decay, clipping). */
  readonly zeroMeansOff?: boolean;
}

export interface BooleanParam extends ParamBase {
  readonly type: 'boolean';
  readonly default: boolean;
}

export interface EnumParam extends ParamBase {
  readonly type: 'enum';
  readonly default: string;
  readonly options: readonly EnumOption[];
}

export type ParamSpec = NumericParam | BooleanParam | EnumParam;

export interface GroupSpec {
  readonly label: string;
  /** 'optimizer' groups can be chosen as a run's optimizer; 'setting' groups apply to any optimizer. */
  readonly kind: 'optimizer' | 'setting';
  readonly description: string;
  readonly params: readonly ParamSpec[];
}

// ---- shared entries ---------------------------------------------------------------------------

const momentumParam = (dflt: number, help: string, primary = false) =>
  ({ key: 'momentum', label: 'Momentum', type: 'number', default: dflt, min: 0, max: 0.999, scale: 'linear', help, primary }) as const;

const adamParams = (lrDefault: number) =>
  [
    {
      key: 'lr',
      label: 'Learning rate',
      type: 'number',
      default: lrDefault,
      min: 1e-6,
      max: 1,
      scale: 'log',
      primary: true,
      help: 'Largest step size per parameter. Adam normalises each gradient entry, so one rate works for parameters of very different scales.',
    },
    {
      key: 'beta1',
      label: 'β₁ (first-moment decay)',
      type: 'number',
      default: 0.9,
      min: 0,
      max: 0.9999,
      scale: 'linear',
      help: 'How much of the running average of gradients is kept each step (momentum). 0 uses only the current gradient.',
    },
    {
      key: 'beta2',
      label: 'β₂ (second-moment decay)',
      type: 'number',
      default: 0.999,
      min: 0,
      max: 0.99999,
      scale: 'linear',
      help: 'How much of the running average of squared gradients is kept. Closer to 1 = smoother per-parameter step sizes.',
    },
    {
      key: 'eps',
      label: 'ε (epsilon)',
      type: 'number',
      default: 1e-8,
      min: 1e-12,
      max: 1,
      scale: 'log',
      help: 'Added to the root of the squared-gradient average so that parameters with tiny gradients do not get huge steps.',
    },
  ] as const;

// ---- the schema -------------------------------------------------------------------------------

export const SCHEMA = {
  sgd: {
    label: 'SGD',
    kind: 'optimizer',
    description: 'Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.',
    params: [
      {
        key: 'lr',
        label: 'Learning rate',
        type: 'number',
        default: 0.1,
        min: 1e-6,
        max: 10,
        scale: 'log',
        primary: true,
        help: 'Step size: every parameter moves by the learning rate times its (momentum-averaged) gradient.',
      },
      momentumParam(0.9, 'Fraction of the previous update direction kept each step. Smooths noisy gradients; 0 is plain SGD.', true),
      {
        key: 'nesterov',
        label: 'Nesterov momentum',
        type: 'boolean',
        default: false,
        primary: true,
        help: 'Look ahead along the momentum direction before adding the gradient (needs momentum > 0). Often a little faster than classical momentum.',
      },
      {
        key: 'weightDecay',
        label: 'Weight decay (L2)',
        type: 'number',
        primary: true,
        default: 0,
        min: 1e-8,
        max: 1,
        scale: 'log',
        zeroMeansOff: true,
        help: 'Adds weightDecay × parameter to the gradient, pulling weights towards zero (L2 regularisation). 0 turns it off.',
      },
    ],
  },
  adam: {
    label: 'Adam',
    kind: 'optimizer',
    description: 'Adam with bias correction; weight decay, if any, is added to the gradient (coupled L2).',
    params: [
      ...adamParams(1e-3),
      {
        key: 'weightDecay',
        label: 'Weight decay (L2)',
        type: 'number',
        primary: true,
        default: 0,
        min: 1e-8,
        max: 1,
        scale: 'log',
        zeroMeansOff: true,
        help: 'Adds weightDecay × parameter to the gradient before the Adam statistics (classic L2). AdamW decouples it instead. 0 turns it off.',
      },
    ],
  },
  adamw: {
    label: 'AdamW',
    kind: 'optimizer',
    description: 'Adam with decoupled weight decay: weights shrink by lr × weightDecay each step, apart from the gradient statistics.',
    params: [
      ...adamParams(1e-3),
      {
        key: 'weightDecay',
        label: 'Weight decay (decoupled)',
        type: 'number',
        primary: true,
        default: 0.01,
        min: 1e-8,
        max: 1,
        scale: 'log',
        zeroMeansOff: true,
        help: 'Each step multiplies every weight by (1 − lr × weightDecay), independently of the gradient. 0 turns it off.',
      },
    ],
  },
  'kfac-expand': {
    label: 'K-FAC-expand',
    kind: 'optimizer',
    description:
      'K-FAC with the expand approximation (docs/kfac.md §2): weight-sharing positions (tokens, patches, nodes) count as extra examples. Exact for per-token / per-node losses.',
    params: kfacParams(),
  },
  'kfac-reduce': {
    label: 'K-FAC-reduce',
    kind: 'optimizer',
    description:
      'K-FAC with the reduce approximation (docs/kfac.md §2): inputs are averaged and gradients summed over weight-sharing positions first. Cheaper; exact when the model pools before the loss.',
    params: kfacParams(),
  },
  schedule: {
    label: 'Learning-rate schedule',
    kind: 'setting',
    description:
      'Multiplies the optimizer’s learning rate by a factor that depends on the step (linear warmup first, then the chosen shape).',
    params: [
      {
        key: 'kind',
        label: 'Schedule',
        type: 'enum',
        default: 'constant',
        options: [
          { value: 'constant', label: 'Constant' },
          { value: 'cosine', label: 'Cosine decay' },
          { value: 'step', label: 'Step decay' },
        ],
        help: 'Constant keeps the rate; cosine lowers it smoothly to a final fraction; step multiplies it by a factor every few steps.',
      },
      {
        key: 'warmupSteps',
        label: 'Warmup steps',
        type: 'integer',
        default: 0,
        min: 0,
        max: 100000,
        scale: 'linear',
        help: 'The rate grows linearly from lr/warmupSteps to lr over this many first steps, which avoids early blow-ups. 0 = no warmup.',
      },
      {
        key: 'totalSteps',
        label: 'Total steps',
        type: 'integer',
        default: 1000,
        min: 1,
        max: 10000000,
        scale: 'log',
        help: 'Step at which the cosine decay reaches its final value (usually the length of the run). Later steps keep the final rate.',
        onlyWhen: { key: 'kind', values: ['cosine'] },
      },
      {
        key: 'finalFraction',
        label: 'Final fraction',
        type: 'number',
        default: 0,
        min: 0,
        max: 1,
        scale: 'linear',
        help: 'The cosine decay ends at lr × finalFraction (0 decays to zero).',
        onlyWhen: { key: 'kind', values: ['cosine'] },
      },
      {
        key: 'decayEvery',
        label: 'Decay every (steps)',
        type: 'integer',
        default: 100,
        min: 1,
        max: 10000000,
        scale: 'log',
        help: 'Step decay: the rate is multiplied by the decay factor after every this many steps (counted after warmup).',
        onlyWhen: { key: 'kind', values: ['step'] },
      },
      {
        key: 'decayFactor',
        label: 'Decay factor',
        type: 'number',
        default: 0.5,
        min: 0,
        max: 1,
        scale: 'linear',
        help: 'Step decay: the multiplier applied at each decay point (0.1 = ten times smaller).',
        onlyWhen: { key: 'kind', values: ['step'] },
      },
    ],
  },
  clip: {
    label: 'Gradient clipping',
    kind: 'setting',
    description: 'Rescales all gradients together when their global norm exceeds a limit, before the optimizer sees them.',
    params: [
      {
        key: 'maxNorm',
        label: 'Max gradient norm',
        type: 'number',
        default: 0,
        min: 1e-4,
        max: 1e4,
        scale: 'log',
        zeroMeansOff: true,
        help: 'If the norm of all gradients together is larger than this, they are scaled down to this norm (their direction is kept). 0 turns clipping off.',
      },
    ],
  },
} as const satisfies Record<string, GroupSpec>;

/** docs/kfac.md §4 (shared by K-FAC-expand and K-FAC-reduce). A function so it can sit below SCHEMA's readers. */
function kfacParams() {
  return [
    {
      key: 'lr',
      primary: true,
      label: 'Learning rate',
      type: 'number',
      default: 0.1,
      min: 1e-6,
      max: 10,
      scale: 'log',
      help: 'Step size η applied to the preconditioned (natural-gradient-like) direction. It sets the step only while the KL clip does not bind (ν = 1); while it binds (ν < 1) the step is √κ-sized whatever η is, so tune η together with κ, or turn the clip off and use a learning-rate warm-up.',
    },
    {
      key: 'damping',
      primary: true,
      label: 'Damping λ',
      type: 'number',
      default: 1e-3,
      min: 1e-8,
      max: 10,
      scale: 'log',
      help: 'Added to the curvature before inverting it. Larger = more cautious, more SGD-like steps; smaller = trusts the curvature more.',
    },
    {
      key: 'factorDecay',
      primary: true,
      label: 'Factor decay ε',
      type: 'number',
      default: 0.95,
      min: 0,
      max: 0.9999,
      scale: 'linear',
      help: 'Running-average weight of the old Kronecker factors A and G per step: A ← ε A + (1−ε) A_batch. With T_cov > 1 each factor update uses ε^T_cov (e.g. 0.95^T_cov), so the average spans the same number of steps; the first updates average their batches equally. Higher = smoother, slower-reacting curvature.',
    },
    {
      key: 'tCov',
      label: 'Factor update interval T_cov',
      type: 'integer',
      default: 1,
      min: 1,
      max: 10000,
      scale: 'log',
      help: 'Recompute the curvature factors from the batch every this many steps (the steps between run no extra backward passes); the factor decay is applied as ε^T_cov per update to match.',
    },
    {
      key: 'inverseWarmup',
      label: 'Warm-start steps',
      type: 'integer',
      default: 5,
      min: 0,
      max: 1000,
      scale: 'linear',
      help: 'For the first this many steps the factors are refreshed and re-inverted every step (then every T_cov / T_inv steps), so the first inverses do not come from one batch and stay for T_inv steps. 0 = off.',
    },
    {
      key: 'tInv',
      primary: true,
      label: 'Inverse update interval T_inv',
      type: 'integer',
      default: 10,
      min: 1,
      max: 10000,
      scale: 'log',
      help: 'Re-invert the damped factors every this many steps (inverting is the expensive part; kfac-jax uses 5).',
    },
    {
      key: 'inverseMethod',
      label: 'Inverse method',
      type: 'enum',
      default: 'cholesky',
      options: [
        { value: 'cholesky', label: 'Cholesky (π-damping)' },
        { value: 'eigen', label: 'Eigendecomposition (exact damping)' },
        { value: 'thermodynamic', label: 'Thermodynamic (simulated analog device)' },
      ],
      help: 'Cholesky splits the damping between the two factors (π-damping) and is cheap; eigen applies the damping exactly to the Kronecker product and also yields the curvature spectrum; thermodynamic inverts the π-damped factors on a simulated noisy analog device (docs/curvature-tools.md §6).',
    },
    {
      key: 'thermoSamples',
      label: 'Device samples S',
      type: 'integer',
      default: 1000,
      min: 1,
      max: 1000000,
      scale: 'log',
      help: 'Samples the analog device draws per factor and inversion; its estimate of each inverse is their covariance, so its error falls like 1/√S.',
      onlyWhen: { key: 'inverseMethod', values: ['thermodynamic'] },
    },
    {
      key: 'thermoBits',
      label: 'Device precision (bits)',
      type: 'integer',
      default: 8,
      min: 2,
      max: 32,
      scale: 'linear',
      zeroMeansOff: true,
      help: 'Bits of the numbers sent to and read from the device (each matrix rounded to steps of max|M| / (2^(b−1) − 1)). 0 = exact.',
      onlyWhen: { key: 'inverseMethod', values: ['thermodynamic'] },
    },
    {
      key: 'thermoDt',
      label: 'Device time between samples dt',
      type: 'number',
      default: 10,
      min: 1e-3,
      max: 1e4,
      scale: 'log',
      help: 'Time between two samples, in units of the device’s fastest time constant. Larger = less correlated samples (a better estimate) but a slower device.',
      onlyWhen: { key: 'inverseMethod', values: ['thermodynamic'] },
    },
    {
      key: 'thermoHotStart',
      label: 'Device hot start',
      type: 'boolean',
      default: true,
      help: 'Start each factor’s device from where it stopped at the previous inversion instead of from zero, so no samples are spent relaxing.',
      onlyWhen: { key: 'inverseMethod', values: ['thermodynamic'] },
    },
    {
      key: 'klClip',
      primary: true,
      label: 'KL clip κ',
      type: 'number',
      default: 1e-3,
      min: 1e-8,
      max: 10,
      scale: 'log',
      zeroMeansOff: true,
      help: 'Scales the whole update by ν = min(1, √(κ / |η² Σ Δ⊙V|)) (kfac-pytorch): the clip binds (ν < 1) when the update’s predicted change of the model’s output distribution exceeds κ, and then κ, not η, sets the step size (the lab shows ν per step). Tune κ with η and λ; 0 turns it off (use a learning-rate warm-up then).',
    },
    momentumParam(0.9, 'Fraction of the previous K-FAC update kept each step, as in SGD momentum. 0 = none.'),
    {
      key: 'weightDecay',
      label: 'Weight decay',
      type: 'number',
      default: 0,
      min: 1e-8,
      max: 1,
      scale: 'log',
      zeroMeansOff: true,
      help: 'Adds weightDecay × parameter to the update, pulling weights towards zero. 0 turns it off.',
    },
    {
      key: 'fisherType',
      label: 'Fisher type',
      type: 'enum',
      default: 'mc',
      options: [
        { value: 'type-2', label: 'Type-2 (exact GGN)' },
        { value: 'mc', label: 'Monte Carlo' },
        { value: 'empirical', label: 'Empirical' },
      ],
      help: 'Which backward vectors build the G factor: type-2 is exact but needs one backward pass per class (per class and position on sequence outputs, skipping positions without targets); MC samples labels from the model (unbiased, one joint pass per sample, sequences included); empirical uses the true labels (cheap, biased; one pass per position on sequences).',
    },
    {
      key: 'mcSamples',
      label: 'MC samples',
      type: 'integer',
      default: 1,
      min: 1,
      max: 64,
      scale: 'log',
      help: 'Sampled labels per example for the Monte Carlo Fisher. More samples = less noisy curvature, more backward passes.',
      onlyWhen: { key: 'fisherType', values: ['mc'] },
    },
    {
      key: 'fallback',
      label: 'Optimizer for other parameters',
      type: 'enum',
      default: 'adam',
      options: [
        { value: 'adam', label: 'Adam' },
        { value: 'sgd', label: 'SGD' },
      ],
      help: 'Parameters K-FAC does not cover (embeddings, LayerNorm, positional encodings) are trained with this first-order optimizer.',
    },
    {
      key: 'fallbackLr',
      label: 'Learning rate for other parameters',
      type: 'number',
      default: 1e-3,
      min: 1e-6,
      max: 10,
      scale: 'log',
      help: 'Learning rate of the fallback optimizer for the parameters K-FAC does not cover.',
    },
    {
      key: 'adaptiveDamping',
      label: 'Adaptive damping',
      type: 'boolean',
      default: false,
      help: 'Levenberg–Marquardt rule: raise λ when steps reduce the loss less than the curvature predicted, lower it when they do better.',
    },
    {
      key: 'foldBias',
      label: 'Fold bias into weights',
      type: 'boolean',
      default: true,
      help: 'Treat the bias as one more input column of the weight (one Kronecker block per layer) instead of a separate block.',
    },
  ] as const;
}

// ---- derived types ----------------------------------------------------------------------------

type Schema = typeof SCHEMA;
export type GroupId = keyof Schema;
export type OptimizerId = { [G in GroupId]: Schema[G]['kind'] extends 'optimizer' ? G : never }[GroupId];

type ValueOfParam<P> = P extends { readonly type: 'boolean' }
  ? boolean
  : P extends { readonly type: 'enum'; readonly options: readonly (infer O)[] }
    ? O extends { readonly value: infer V }
      ? V
      : never
    : number;

/** The typed values of one group, e.g. HyperValues<'adam'> = { lr: number; beta1: number; ... }. */
export type HyperValues<G extends GroupId> = {
  -readonly [P in Schema[G]['params'][number] as P['key']]: ValueOfParam<P>;
};
export type ParamValue = number | boolean | string;

export const GROUP_IDS = Object.keys(SCHEMA) as GroupId[];
export const OPTIMIZER_IDS = GROUP_IDS.filter((g) => SCHEMA[g].kind === 'optimizer') as OptimizerId[];

export function isGroupId(id: string): id is GroupId {
  return Object.prototype.hasOwnProperty.call(SCHEMA, id);
}

/** The schema of one group (throws with the known ids for an unknown one). */
export function groupSpec(id: string): GroupSpec {
  if (!isGroupId(id)) throw new HyperparameterError([unknownGroupMessage(id)]);
  return SCHEMA[id];
}

export function paramSpec(groupId: string, key: string): ParamSpec | undefined {
  return groupSpec(groupId).params.find((p) => p.key === key);
}

export class HyperparameterError extends Error {
  constructor(readonly messages: readonly string[]) {
    super(messages.join('\n'));
    this.name = 'HyperparameterError';
  }
}

function unknownGroupMessage(id: string): string {
  return `unknown optimizer or setting "${id}" (known: ${GROUP_IDS.join(', ')})`;
}

// ---- defaults and validation ----------------------------------------------------------------------

export function defaults<G extends GroupId>(id: G): HyperValues<G> {
  const spec = groupSpec(id);
  const values: Record<string, ParamValue> = {};
  for (const p of spec.params) values[p.key] = p.default;
  return values as HyperValues<G>;
}

export type ValidationResult<G extends GroupId> = { ok: true; values: HyperValues<G> } | { ok: false; errors: string[] };

/** "1e-6 to 10 (or 0 = off)" */
export function describeRange(p: ParamSpec): string {
  if (p.type === 'boolean') return 'true or false';
  if (p.type === 'enum') return `one of ${p.options.map((o) => o.value).join(' | ')}`;
  const range = `${formatNumber(p.min)} to ${formatNumber(p.max)}`;
  return p.zeroMeansOff ? `${range}, or 0 = off` : range;
}

/** Why `value` is not acceptable for `p`, or null if it is. `where` names the field ("adam.lr"). */
export function checkValue(p: ParamSpec, value: unknown, where: string): string | null {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  switch (p.type) {
    case 'boolean':
      return typeof value === 'boolean' ? null : `${where}: expected true or false, got ${typeof value} ${shown}`;
    case 'enum':
      if (typeof value !== 'string')
        return `${where}: expected one of ${p.options.map((o) => o.value).join(' | ')}, got ${typeof value} ${shown}`;
      return p.options.some((o) => o.value === value)
        ? null
        : `${where}: expected one of ${p.options.map((o) => o.value).join(' | ')}, got ${shown}`;
    case 'number':
    case 'integer': {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        return `${where}: expected a finite ${p.type === 'integer' ? 'integer' : 'number'}, got ${typeof value} ${shown}`;
      }
      if (p.type === 'integer' && !Number.isInteger(value)) return `${where}: expected an integer, got ${shown}`;
      if (value === 0 && p.zeroMeansOff) return null;
      if (value < p.min || value > p.max) return `${where}: ${shown} is out of range (allowed: ${describeRange(p)})`;
      return null;
    }
  }
}

/**
 * Fill in defaults for the missing keys of `partial` and check every value. Unknown keys,
 * wrong types and out-of-range values each give one message naming the field and what is allowed.
 */
export function validate<G extends GroupId>(id: G, partial?: Record<string, unknown>): ValidationResult<G>;
export function validate(id: string, partial?: Record<string, unknown>): ValidationResult<GroupId>;
export function validate(id: string, partial: Record<string, unknown> = {}): ValidationResult<GroupId> {
  if (!isGroupId(id)) return { ok: false, errors: [unknownGroupMessage(id)] };
  const spec = SCHEMA[id] as GroupSpec;
  const errors: string[] = [];
  const values: Record<string, unknown> = {};
  for (const p of spec.params) values[p.key] = p.default;
  for (const [key, value] of Object.entries(partial)) {
    const p = spec.params.find((q) => q.key === key);
    if (!p) {
      errors.push(`${id}.${key}: unknown hyperparameter (known for ${id}: ${spec.params.map((q) => q.key).join(', ')})`);
      continue;
    }
    if (value === undefined) continue; // an explicit undefined means "use the default"
    const problem = checkValue(p, value, `${id}.${key}`);
    if (problem) errors.push(problem);
    else values[key] = value;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, values: values as HyperValues<GroupId> };
}

/** validate, throwing a HyperparameterError with every message. */
export function validateOrThrow<G extends GroupId>(id: G, partial?: Record<string, unknown>): HyperValues<G>;
export function validateOrThrow(id: string, partial?: Record<string, unknown>): HyperValues<GroupId>;
export function validateOrThrow(id: string, partial: Record<string, unknown> = {}): HyperValues<GroupId> {
  const result = validate(id, partial);
  if (!result.ok) throw new HyperparameterError(result.errors);
  return result.values;
}

// ---- text form: CLI flags and URL state -------------------------------------------------------

export interface Assignment {
  group: GroupId;
  key: string;
  value: ParamValue;
}

export type ParseResult = { ok: true; assignment: Assignment } | { ok: false; error: string };

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

/** Convert the text of one value to its type (no range check). */
function parseText(p: ParamSpec, text: string, where: string): { value: ParamValue } | { error: string } {
  const t = text.trim();
  if (p.type === 'boolean') {
    const lower = t.toLowerCase();
    if (TRUE_WORDS.includes(lower)) return { value: true };
    if (FALSE_WORDS.includes(lower)) return { value: false };
    return { error: `${where}: expected true or false, got ${JSON.stringify(text)}` };
  }
  if (p.type === 'enum') return { value: t };
  // Number('') is 0 and Number('0x10') is 16: accept plain decimal / exponent notation only.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) {
    return { error: `${where}: expected ${p.type === 'integer' ? 'an integer' : 'a number'}, got ${JSON.stringify(text)}` };
  }
  return { value: Number(t) };
}

/**
 * Parse "group.key=value" (e.g. "kfac-reduce.damping=0.01", "sgd.nesterov=true",
 * "schedule.kind=cosine") into a typed, range-checked assignment.
 */
export function parseAssignment(text: string): ParseResult {
  const eq = text.indexOf('=');
  if (eq < 0) return { ok: false, error: `${JSON.stringify(text)}: expected group.key=value, e.g. "adam.lr=0.001"` };
  const path = text.slice(0, eq).trim();
  const dot = path.lastIndexOf('.');
  if (dot <= 0 || dot === path.length - 1) {
    return { ok: false, error: `${JSON.stringify(text)}: expected group.key=value, e.g. "adam.lr=0.001"` };
  }
  const group = path.slice(0, dot);
  const key = path.slice(dot + 1);
  if (!isGroupId(group)) return { ok: false, error: `${JSON.stringify(text)}: ${unknownGroupMessage(group)}` };
  const spec = SCHEMA[group] as GroupSpec;
  const p = spec.params.find((q) => q.key === key);
  if (!p) return { ok: false, error: `${path}: unknown hyperparameter (known for ${group}: ${spec.params.map((q) => q.key).join(', ')})` };
  const parsed = parseText(p, text.slice(eq + 1), path);
  if ('error' in parsed) return { ok: false, error: parsed.error };
  const problem = checkValue(p, parsed.value, path);
  if (problem) return { ok: false, error: problem };
  return { ok: true, assignment: { group, key, value: parsed.value } };
}

/** The inverse of parseAssignment: "group.key=value", with numbers written so they parse back exactly. */
export function formatAssignment(group: GroupId, key: string, value: ParamValue): string {
  // String(number) is the shortest text that parses back to the same double.
  return `${group}.${key}=${String(value)}`;
}

/**
 * Apply many assignments (CLI flags, URL query entries) on top of defaults, group by group.
 * Returns the partial values per group plus every error; validate() each group afterwards.
 */
export function parseAssignments(texts: readonly string[]): {
  values: Partial<Record<GroupId, Record<string, ParamValue>>>;
  errors: string[];
} {
  const values: Partial<Record<GroupId, Record<string, ParamValue>>> = {};
  const errors: string[] = [];
  for (const text of texts) {
    const r = parseAssignment(text);
    if (!r.ok) {
      errors.push(r.error);
      continue;
    }
    (values[r.assignment.group] ??= {})[r.assignment.key] = r.assignment.value;
  }
  return { values, errors };
}

// ---- documentation --------------------------------------------------------------------------------

/** Compact numbers for tables: 0.001 stays, 1e-8 and 1e+4 become exponents. */
export function formatNumber(x: number): string {
  if (x === 0 || !Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e5) return String(x);
  const [mantissa, exponent] = x.toExponential().split('e');
  return `${mantissa}e${exponent.replace('+', '')}`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function formatDefault(p: ParamSpec): string {
  if (p.type === 'number' || p.type === 'integer') return p.default === 0 && p.zeroMeansOff ? '0 (off)' : formatNumber(p.default);
  return String(p.default);
}

/** Markdown tables of every group (for the README and the CLI's --help). */
export function docsTable(): string {
  const out: string[] = [];
  for (const id of GROUP_IDS) {
    const spec = SCHEMA[id] as GroupSpec;
    out.push(`### ${spec.label} (\`${id}\`)`, '', spec.description, '');
    out.push('| key | name | type | default | range | scale | description |', '|---|---|---|---|---|---|---|');
    for (const p of spec.params) {
      const scaleText = p.type === 'number' || p.type === 'integer' ? p.scale : '';
      out.push(
        `| \`${id}.${p.key}\` | ${cell(p.label)} | ${p.type} | ${cell(formatDefault(p))} | ${cell(describeRange(p))} | ${scaleText} | ${cell(p.help)} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}
