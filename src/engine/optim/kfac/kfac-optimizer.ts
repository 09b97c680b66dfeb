// The K-FAC optimizer (docs/kfac.md §4). K-FAC-expand and K-FAC-reduce are this one class, one
// option (`approx`) apart. Because the factors come from a forward pass with curvature capture,
// a step takes the forward function and the loss rather than finished gradients:
//
//   const kfac = createOptimizer('kfac-reduce', { lr: 0.05 });
//   const { loss } = await kfac.trainStep({ params, forward: () => model.forward(x), loss: { spec, targets }, step });
//
// Per step: the forward pass (with capture and the factor backward passes every T_cov steps),
// grad(loss, params), running averages of A and G, every T_inv steps the damped inverses of ALL
// layers in one batched dispatch (inverses.ts), the preconditioned update with KL clipping,
// momentum and weight decay; parameters no layer claims take the fallback first-order optimizer.
// The untimed step reads nothing back except on inversion steps (Cholesky status + one small
// health vector) and on adaptive-damping steps (three scalars).
import { grad } from '../../autograd/backward.ts';
import { noGrad, type Variable } from '../../autograd/variable.ts';
import { computeLoss, type LossTargets } from '../../nn/losses.ts';
import type { NamedParameter } from '../../nn/module.ts';
import { keep, readAndDispose, scope, TensorArena, type Tensor } from '../../tensor.ts';
import {
  adaptDamping,
  DEFAULT_ADAPTIVE_DAMPING,
  piDamping,
  piShifts,
  reductionRatio,
  type AdaptiveDampingSettings,
} from '../../curvature/damping.ts';
import {
  kfacForward,
  perPositionPassesNeeded,
  positionsWithTargets,
  type KfacApprox,
  type KfacFactorOptions,
  type LayerFactors,
} from '../../curvature/factors.ts';
import {
  addScaledMask,
  batchTraces,
  choleskyInverseGroups,
  eighGroups,
  InverseWorkspace,
  padStack,
  sizeGroups,
  symmetrize,
  unpad,
  type BatchInverseReport,
  type EigenPair,
} from '../../curvature/inverses.ts';
import {
  choleskyPrecondition,
  eigenPrecondition,
  gradientMatrix,
  innerProduct,
  klClipScale,
  kroneckerQuadratic,
  splitUpdate,
} from '../../curvature/preconditioner.ts';
import { clipGradNorm } from '../clipping.ts';
import type { GradientOptimizer, Optimizer, OptimizerCurvature, TrainStepArgs } from '../optimizer.ts';
import { defaults } from '../schema.ts';
import { CONSTANT_SCHEDULE, learningRateAt, type ScheduleSettings } from '../schedules.ts';
import { PhaseTimer } from '../train-step.ts';
import { createFallbackOptimizer } from './fallback.ts';
import { ThermodynamicDevice, thermodynamicInverses } from './thermodynamic.ts';
import { checkHostState, isHostTensor, readToHost, toDevice, type OptimizerHostState } from '../host-state.ts';
import {
  FACTOR_NAMES,
  KFAC_PHASES,
  KfacNumericalError,
  type FactorLabel,
  type GradientAssignment,
  type KfacEvent,
  type KfacOptions,
  type KfacSettings,
  type KfacStepResult,
  type LayerGrads,
  type LayerInverse,
  type LayerState,
  type LayerStep,
  type PhaseTimes,
  type RunningFactors,
  type UpdateHealth,
} from './types.ts';

/** One step's factor matrices to invert (A's, then G's, then separate bias G's), with their labels. */
interface FactorInversion {
  ws: InverseWorkspace;
  layers: LayerState[];
  matrices: Tensor[];
  labels: FactorLabel[];
  health: UpdateHealth | null;
  step: number;
}

function zeroTimes(): PhaseTimes {
  return { forward: 0, backward: 0, factors: 0, inverses: 0, precondition: 0, update: 0 };
}

export class KfacOptimizer implements Optimizer {
  readonly name: 'kfac-expand' | 'kfac-reduce';
  readonly approx: KfacApprox;
  readonly settings: KfacSettings;
  /** Cholesky retries and damping changes, oldest first (the lab shows them; nothing is dropped). */
  readonly events: KfacEvent[] = [];
  /** Totals per phase over the timed steps (milliseconds). */
  readonly phaseMs: PhaseTimes = zeroTimes();
  timedSteps = 0;
  /** Measure phases (costs a device sync per phase); off by default. */
  timing: boolean;

  private readonly schedule: ScheduleSettings;
  private readonly fallback: GradientOptimizer;
  private readonly options: KfacOptions;
  private readonly layers = new Map<string, LayerState>();
  private readonly velocities = new Map<Variable, Tensor>();
  /** Σ_steps |Σ Δ ⊙ V| per layer since the last check: non-finite once any update was (read on inversion steps). */
  private health: UpdateHealth | null = null;
  private workspace: InverseWorkspace | null = null;
  /** The simulated analog device of the 'thermodynamic' inverse method (thermodynamic.ts); keeps each factor's chain for hot starts. */
  private thermodynamic: ThermodynamicDevice | null = null;
  private lambda: number;
  private updates = 0;
  /** Factor updates folded into the running averages so far (the running average's bias correction). */
  private factorUpdates = 0;
  /** The step of the latest factor update in this session (null before one), and the gap the next update decays over. */
  private lastFactorStep: number | null = null;
  private factorGap: number | null = null;
  private lastLr = Number.NaN;
  private lastKlScale = Number.NaN;
  /**
   * Read ν back after every step while KL clipping is on (one scalar), so trainStep's result
   * carries `klScale`; off, the step reads nothing and `klScale` is undefined on clipped runs.
   */
  reportKlScale: boolean;
  /** Things about this run's setting the user should know (e.g. a degenerate K-FAC-reduce layout), each once. */
  readonly notices: string[] = [];
  private readonly adaptiveRule: AdaptiveDampingSettings;
  /** Running factors from importState, by layer name, waiting for their layer's first capture on this device. */
  private readonly carriedFactors = new Map<string, RunningFactors>();
  /** importState: the layers are known again only after a factor step, so the next step is one. */
  private refitFactors = false;

  constructor(settings: Partial<KfacSettings>, options: KfacOptions) {
    this.settings = { ...defaults('kfac-expand'), ...settings };
    this.approx = options.approx;
    this.name = options.approx === 'expand' ? 'kfac-expand' : 'kfac-reduce';
    this.options = options;
    this.schedule = options.schedule ?? CONSTANT_SCHEDULE;
    this.timing = options.timing ?? false;
    this.reportKlScale = options.reportKlScale ?? true;
    this.lambda = this.settings.damping;
    this.adaptiveRule = { ...DEFAULT_ADAPTIVE_DAMPING, ...options.adaptiveDampingRule };
    this.fallback = options.fallback ?? createFallbackOptimizer(this.settings, this.schedule);
  }

  /** The current damping λ (changes only with adaptive damping). */
  get damping(): number {
    return this.lambda;
  }

  /** The learning rate of the latest step (NaN before the first). */
  get learningRate(): number {
    return this.lastLr;
  }

  /** ν of the latest step whose ν was known (1 with the clip off or not binding; NaN before the first). */
  get klScale(): number {
    return this.lastKlScale;
  }

  /** K-FAC steps taken. */
  get stepsTaken(): number {
    return this.updates;
  }

  /** Layer paths with factors, in discovery order. */
  get layerNames(): string[] {
    return [...this.layers.keys()];
  }

  /** The contract's curvature capability: the optimizer itself (its layerNames, factorsOf, approx, damping). */
  get curvature(): OptimizerCurvature {
    return this;
  }

  /** The running-average factors of a layer (owned by the optimizer; do not dispose). */
  factorsOf(layer: string): RunningFactors | undefined {
    const s = this.layers.get(layer);
    return s && { A: s.A, G: s.G, folded: s.folded };
  }

  /** The damped inverses (cholesky) or eigenpairs (eigen) of a layer from the latest inversion. */
  inverseOf(layer: string): Readonly<LayerInverse> | null {
    return this.layers.get(layer)?.inverse ?? null;
  }

  resetTiming(): void {
    for (const p of KFAC_PHASES) this.phaseMs[p] = 0;
    this.timedSteps = 0;
  }

  /** One K-FAC training step (see the file comment). */
  async trainStep({ params, forward, loss, step }: TrainStepArgs): Promise<KfacStepResult> {
    if (params.length === 0) throw new Error(`${this.name}.trainStep: no parameters`);
    const be = params[0].variable.backend;
    const s = this.settings;
    const lr = learningRateAt(s.lr, this.schedule, step);
    this.lastLr = lr;
    // During the warm start (§4) factors and inverses are refreshed every step, so the first
    // inverse is not one batch's one-sample estimate kept for T_inv steps.
    const warm = this.updates < s.inverseWarmup;
    const factorStep = warm || this.updates % s.tCov === 0 || this.carriedFactors.size > 0 || this.refitFactors;
    this.refitFactors = false;
    const timer = this.timing ? new PhaseTimer(be, zeroTimes()) : null;
    const arena = new TensorArena();
    try {
      const variables = params.map((p) => p.variable);
      const factorOptions: KfacFactorOptions = {
        approx: this.approx,
        fisher: s.fisherType,
        bias: s.foldBias ? 'folded' : 'separate',
        mcSamples: s.mcSamples,
        seed: mcSeed(this.options.seed ?? 0, this.updates),
        setting: this.options.setting,
        onPass: this.options.onFactorPass,
      };
      const pass = arena.run(() => {
        if (!factorStep) {
          const outputs = forward();
          return { loss: computeLoss(loss.spec, outputs, loss.targets), outputs, finishFactors: (): LayerFactors[] => [] };
        }
        return kfacForward(forward, loss, factorOptions);
      });
      // Per-position passes (type-2 / empirical on [N, R, C]) skip positions whose targets are all ignored.
      if (factorStep && perPositionPassesNeeded(s.fisherType, pass.outputs.rank)) {
        factorOptions.positions = (await positionsWithTargets(loss, pass.outputs.shape)) ?? undefined;
      }
      await timer?.lap('forward');

      let grads = arena.run(() => grad(pass.loss, variables));
      const clip = this.options.clipMaxNorm ?? 0;
      if (clip > 0) grads = arena.run(() => clipGradNorm(grads, clip).grads);
      await timer?.lap('backward');

      if (factorStep) {
        const trainable = new Set(variables);
        const factors = arena.run(() => pass.finishFactors());
        this.factorGap = this.lastFactorStep === null ? null : this.updates - this.lastFactorStep;
        this.lastFactorStep = this.updates;
        this.updateFactors(factors.filter((f) => trainable.has(f.layer.weight.variable)));
        this.noticeDegenerateReduce(factors);
        await timer?.lap('factors');
      }

      const { layerGrads, otherParams, otherGrads } = this.assignGradients(params, grads);
      const names = layerGrads.map((l) => l.name);
      if (this.health && !sameNames(this.health.names, names)) await this.checkHealth(step); // the layer set changed
      if (warm || this.updates % s.tInv === 0 || layerGrads.some((l) => !l.state.inverse)) {
        await this.updateInverses(step);
        await timer?.lap('inverses');
      }

      const { deltas, nu } = arena.run(() => this.precondition(layerGrads, lr, step));
      await timer?.lap('precondition');

      const adapt = s.adaptiveDamping && this.updates % this.adaptiveRule.interval === this.adaptiveRule.interval - 1;
      const predicted = arena.run(() => {
        const steps = this.applyUpdates(layerGrads, deltas, lr);
        return adapt ? this.predictedChange(layerGrads, steps) : null;
      });
      // The Levenberg–Marquardt ratio compares the K-FAC layers' actual and predicted change alone:
      // the fallback optimizer steps after the trial loss, so neither side counts its step.
      if (predicted) await this.adaptDamping(arena, pass.loss.value, predicted, forward, loss, step);
      arena.run(() => this.fallback.step(otherParams, otherGrads, step));
      await timer?.lap('update');
      const klScale = nu === null ? 1 : this.reportKlScale ? (await nu.read())[0] : undefined;

      this.updates++;
      if (timer) {
        for (const p of KFAC_PHASES) this.phaseMs[p] += timer.times[p];
        this.timedSteps++;
      }
      if (klScale !== undefined) this.lastKlScale = klScale;
      return { loss: arena.release(pass.loss.value), phaseMs: timer?.times, klScale };
    } finally {
      arena.dispose();
    }
  }

  // ---- factors ---------------------------------------------------------------------------------

  /**
   * Fold batch factors into the running averages, A ← ε A + (1−ε) A_batch (the first update sets
   * them). Layers captured more than once in a pass are merged as extra shared positions (A
   * averaged, G summed). The batch factors are not consumed.
   */
  updateFactors(factors: readonly LayerFactors[]): void {
    const decay = this.factorDecayNow();
    if (factors.length > 0) this.factorUpdates++;
    scope(() => {
      for (const f of mergeRepeatedLayers(factors)) {
        checkFactorShapes(f);
        const be = f.A.backend;
        const state = this.layers.get(f.name);
        const folded = f.bias === 'folded' && f.layer.bias !== null;
        if (!state) {
          // Factors carried over from another device (importState) continue their running average.
          const carried = this.carriedFactors.get(f.name);
          this.carriedFactors.delete(f.name);
          const fits = carried && carried.folded === folded && carried.A.shape[0] === f.A.shape[0] && carried.G.shape[0] === f.G.shape[0];
          const start = (old: Tensor | undefined, batch: Tensor) =>
            keep(
              fits && old
                ? be.binary('add', be.binaryScalar('mul', old, decay), be.binaryScalar('mul', batch, 1 - decay))
                : be.binaryScalar('mul', batch, 1),
            );
          this.layers.set(f.name, { info: f.layer, folded, A: start(carried?.A, f.A), G: start(carried?.G, f.G), inverse: null });
          carried?.A.dispose();
          carried?.G.dispose();
          continue;
        }
        if (state.folded !== folded || state.A.shape[0] !== f.A.shape[0] || state.G.shape[0] !== f.G.shape[0]) {
          throw new Error(`${this.name}: the factors of layer "${f.name}" changed shape or bias mode between steps`);
        }
        const average = (old: Tensor, batch: Tensor) =>
          keep(be.binary('add', be.binaryScalar('mul', old, decay), be.binaryScalar('mul', batch, 1 - decay)));
        const [A, G] = [average(state.A, f.A), average(state.G, f.G)];
        state.A.dispose();
        state.G.dispose();
        state.A = A;
        state.G = G;
      }
    });
  }

  /**
   * K-FAC-reduce with one example per batch (node classification: the whole graph is the example,
   * its nodes the shared positions) averages each layer's inputs into a single row, so A = â âᵀ
   * has rank 1 and the update is close to a rescaled gradient. The step still runs (it is what
   * the approximation defines); the notice says why its results say little about K-FAC-reduce.
   */
  private noticeDegenerateReduce(factors: readonly LayerFactors[]): void {
    if (this.approx !== 'reduce' || this.notices.some((n) => n.startsWith('degenerate-reduce:'))) return;
    const single = factors.filter((f) => f.inputCount === 1 && f.A.shape[0] > 2).map((f) => f.name);
    if (single.length === 0) return;
    this.notices.push(
      `degenerate-reduce: K-FAC-reduce sees one example per batch in layer${single.length > 1 ? 's' : ''} ${single.map((n) => `"${n}"`).join(', ')}` +
        ' (e.g. node classification on one graph), so each A = â âᵀ has rank 1 and the step is close to a rescaled gradient;' +
        ' use K-FAC-expand here, or batches of several examples (docs/kfac.md §2).',
    );
  }

  /**
   * The old factors' weight ε_k of the next factor update (§4 step 1): the per-step decay ε raised
   * to the steps since the previous update, T_cov (so the average remembers the same number of
   * steps whatever T_cov; 1 during the warm start, which updates every step), and never more
   * than k/(k+1) after k updates, so the first updates average their batches equally instead of
   * keeping the first batch at weight ε^k.
   */
  private factorDecayNow(): number {
    // Steps since the previous factor update: 1 during the warm start, T_cov after it (T_cov for
    // updates fed from outside a step).
    const gap = this.factorGap ?? this.settings.tCov;
    this.factorGap = null;
    const perUpdate = Math.pow(this.settings.factorDecay, gap);
    const k = this.factorUpdates;
    return Math.min(perUpdate, k / (k + 1));
  }

  // ---- inverses ----------------------------------------------------------------------------------

  /**
   * Recompute the damped inverses (cholesky) or eigenpairs (eigen) of every layer's running
   * factors in one batched dispatch, read back the Cholesky status and the finiteness of factors,
   * inverses and the updates since the last check in one transfer, retry failed Cholesky
   * factorisations with jitter (reported in `events`) and throw KfacNumericalError for anything
   * non-finite.
   */
  async updateInverses(step = this.updates): Promise<void> {
    const layers = [...this.layers.values()];
    if (layers.length === 0) return;
    const be = layers[0].A.backend;
    const ws = (this.workspace ??= new InverseWorkspace(be));
    const health = this.takeHealth();
    // Stack order: A of every layer, G of every layer, then (cholesky) G again for separate biases.
    const separate = this.settings.inverseMethod !== 'eigen' ? layers.filter((l) => l.info.bias && !l.folded) : [];
    const labels: FactorLabel[] = [
      ...layers.map((l) => ({ layer: l.info.name, factor: 'A' as const })),
      ...layers.map((l) => ({ layer: l.info.name, factor: 'G' as const })),
      ...separate.map((l) => ({ layer: l.info.name, factor: 'bias G' as const })),
    ];
    const matrices = [...layers.map((l) => l.A), ...layers.map((l) => l.G), ...separate.map((l) => l.G)];
    try {
      const inversion: FactorInversion = { ws, layers, matrices, labels, health, step };
      if (this.settings.inverseMethod === 'cholesky') await this.invertCholesky(inversion);
      else if (this.settings.inverseMethod === 'thermodynamic') {
        const s = this.settings;
        const device = (this.thermodynamic ??= new ThermodynamicDevice({
          samples: s.thermoSamples,
          bits: s.thermoBits,
          dt: s.thermoDt,
          hotStart: s.thermoHotStart,
          seed: this.options.seed ?? 0,
        }));
        const out = await thermodynamicInverses(device, { layers, matrices, labels, damping: this.lambda, step, alsoRead: health?.sums });
        this.checkUpdateHealth(health, out.extra, step);
        layers.forEach((l, i) => this.setInverse(l, out.inverses[i]));
      } else await this.invertEigen(inversion);
    } finally {
      health?.sums.dispose();
    }
  }

  private async invertCholesky({ ws, layers, matrices, labels, health, step }: FactorInversion): Promise<void> {
    const be = ws.backend;
    const count = layers.length;
    const { groups, order, position } = groupFactors(matrices);
    const total = matrices.length;
    // Matrix-order vector [B] → group g's entries, and group-order back to matrix order (gathers).
    const pick = (v: Tensor, indices: readonly number[]) =>
      groups.length === 1 ? v : be.reshape(be.gather(be.reshape(v, [total, 1]), ws.indices(indices)), [indices.length]);
    const stacks = scope(() => {
      const padded = groups.map((g) => {
        const p = padStack(
          ws,
          g.map((i) => matrices[i]),
        );
        return { sym: symmetrize(be, p.stack), sizes: p.sizes, n: p.n };
      });
      const dtype = padded[0].sym.dtype;
      const inners = padded.map((p) => ws.mask('inner', p.sizes, p.n, dtype));
      const traces = pick(
        be.concat(
          padded.map((p, g) => batchTraces(be, p.sym, inners[g])),
          0,
        ),
        position,
      );
      const sizes = matrices.map((m) => m.shape[0]);
      const pi = piDamping(
        be,
        be.slice(traces, [0], [count]),
        sizes.slice(0, count),
        be.slice(traces, [count], [count]),
        sizes.slice(count, 2 * count),
      );
      const { shiftA, shiftG } = piShifts(be, pi, this.lambda);
      // A separate bias block is G ⊗ [1]: its damping needs no split, (G + λI)⁻¹ is exact.
      const shiftParts = [shiftA, shiftG];
      if (total > 2 * count) shiftParts.push(be.fill([total - 2 * count], this.lambda, dtype));
      const shifts = be.concat(shiftParts, 0);
      return padded.map((p, g) => {
        const withShift = addScaledMask(be, p.sym, pick(shifts, groups[g]), inners[g]);
        // The padding corner becomes the identity, so every padded matrix is SPD when its factor is.
        return { stack: keep(be.binary('add', withShift, ws.mask('outer', p.sizes, p.n, dtype))), sizes: p.sizes, n: p.n };
      });
    });
    let inverses: Tensor[];
    let report: BatchInverseReport;
    try {
      ({ inverses, report } = await choleskyInverseGroups(ws, stacks, {
        retries: this.options.choleskyRetries,
        jitter: this.options.choleskyJitter,
        alsoRead: health?.sums,
      }));
    } finally {
      stacks.forEach((d) => d.stack.dispose());
    }
    try {
      // The report counts matrices in group order.
      const grouped = order.map((i) => labels[i]);
      this.checkUpdateHealth(health, report.extra, step);
      this.recordRetries(report, grouped, step);
      this.checkReport(report, grouped, step, 'inverse');
      const inGroupOrder = scope(() => stacks.flatMap((d, g) => unpad(be, inverses[g], d.sizes).map((t) => keep(t))));
      const parts = position.map((k) => inGroupOrder[k]);
      const biasSlot = new Map<string, number>();
      labels.forEach((x, j) => {
        if (x.factor === 'bias G') biasSlot.set(x.layer, j);
      });
      layers.forEach((l, i) => {
        const k = biasSlot.get(l.info.name);
        this.setInverse(l, { kind: 'cholesky', A: parts[i], G: parts[count + i], biasG: k === undefined ? null : parts[k] });
      });
    } finally {
      inverses.forEach((t) => t.dispose());
    }
  }

  private async invertEigen({ ws, layers, matrices, labels, health, step }: FactorInversion): Promise<void> {
    const be = ws.backend;
    const { groups, order, position } = groupFactors(matrices);
    const stacks = scope(() =>
      groups.map((g) => {
        const p = padStack(
          ws,
          g.map((i) => matrices[i]),
        );
        return { ...p, stack: keep(symmetrize(be, p.stack)) };
      }),
    );
    let grouped: EigenPair[];
    let report: BatchInverseReport;
    try {
      ({ pairs: grouped, report } = await eighGroups(ws, stacks, { alsoRead: health?.sums }));
    } finally {
      stacks.forEach((p) => p.stack.dispose());
    }
    const pairs = position.map((k) => grouped[k]);
    try {
      this.checkUpdateHealth(health, report.extra, step);
      this.checkReport(
        report,
        order.map((i) => labels[i]),
        step,
        'eigendecomposition',
      );
    } catch (e) {
      for (const p of pairs) [p.values, p.vectors].forEach((t) => t.dispose());
      throw e;
    }
    const count = layers.length;
    layers.forEach((l, i) => this.setInverse(l, { kind: 'eigen', A: pairs[i], G: pairs[count + i] }));
  }

  private setInverse(layer: LayerState, inverse: LayerInverse): void {
    disposeInverse(layer.inverse);
    layer.inverse = inverse;
  }

  private recordRetries(report: BatchInverseReport, labels: FactorLabel[], step: number): void {
    for (const r of report.retries) {
      const { layer, factor } = labels[r.index];
      const what = `${FACTOR_NAMES[factor]} of layer "${layer}"`;
      this.events.push({
        kind: 'cholesky-retry',
        step,
        layer,
        factor,
        attempts: r.attempts,
        jitter: r.jitter,
        succeeded: r.succeeded,
        message: r.succeeded
          ? `Cholesky of the damped ${what} failed; succeeded on retry ${r.attempts} with diagonal jitter ${r.jitter.toExponential(2)}`
          : `Cholesky of the damped ${what} failed even with diagonal jitter ${r.jitter.toExponential(2)}`,
      });
    }
  }

  private checkReport(report: BatchInverseReport, labels: FactorLabel[], step: number, output: string): void {
    const first = (indices: number[]) => labels[indices[0]];
    if (report.nonFiniteInput.length > 0) {
      const { layer, factor } = first(report.nonFiniteInput);
      throw new KfacNumericalError(
        layer,
        FACTOR_NAMES[factor],
        step,
        `has non-finite entries (NaN or ±Inf)${others(report.nonFiniteInput)}`,
      );
    }
    const failed = report.retries.filter((r) => !r.succeeded).map((r) => r.index);
    if (failed.length > 0) {
      const { layer, factor } = first(failed);
      const r = report.retries.find((x) => x.index === failed[0])!;
      throw new KfacNumericalError(
        layer,
        `damped ${FACTOR_NAMES[factor]}`,
        step,
        `is not positive definite: Cholesky failed after ${r.attempts - 1} retries (diagonal jitter up to ${r.jitter.toExponential(2)}); raise the damping${others(failed)}`,
      );
    }
    if (report.nonFiniteOutput.length > 0) {
      const { layer, factor } = first(report.nonFiniteOutput);
      throw new KfacNumericalError(
        layer,
        `${output} of ${FACTOR_NAMES[factor]}`,
        step,
        `is non-finite (NaN or ±Inf)${others(report.nonFiniteOutput)}`,
      );
    }
  }

  // ---- update health -----------------------------------------------------------------------------

  private takeHealth(): UpdateHealth | null {
    const h = this.health;
    this.health = null;
    return h;
  }

  private checkUpdateHealth(health: Omit<UpdateHealth, 'sums'> | null, sums: readonly number[], step: number): void {
    if (!health) return;
    const bad = health.names.findIndex((_, i) => !Number.isFinite(sums[i]));
    if (bad >= 0) {
      const when = health.since === step - 1 ? `at step ${health.since}` : `between steps ${health.since} and ${step - 1}`;
      throw new KfacNumericalError(health.names[bad], 'update (preconditioned gradient)', step, `became non-finite ${when}`);
    }
  }

  /** Read and check the accumulated update health now (used when the layer set changes). */
  private async checkHealth(step: number): Promise<void> {
    const h = this.takeHealth();
    if (!h) return;
    this.checkUpdateHealth(h, Array.from(await readAndDispose(h.sums)), step);
  }

  private accumulateHealth(names: string[], layerSums: Tensor, step: number): void {
    const be = layerSums.backend;
    const magnitude = be.unary('abs', layerSums);
    if (!this.health) {
      this.health = { names, sums: keep(magnitude), since: step };
      return;
    }
    const next = keep(be.binary('add', this.health.sums, magnitude));
    this.health.sums.dispose();
    this.health.sums = next;
  }

  // ---- preconditioning and update ----------------------------------------------------------------

  /** Split the step's gradients between K-FAC layers and the fallback optimizer. */
  private assignGradients(params: readonly NamedParameter[], grads: readonly Tensor[]): GradientAssignment {
    const index = new Map(params.map((p, i) => [p.variable, i]));
    const covered = new Set<Variable>();
    const layerGrads: LayerGrads[] = [];
    for (const state of this.layers.values()) {
      const w = index.get(state.info.weight.variable);
      if (w === undefined) continue;
      const biasVar = state.info.bias?.variable;
      const b = biasVar ? index.get(biasVar) : undefined;
      if (biasVar && b === undefined) {
        throw new Error(`${this.name}: layer "${state.info.name}" has its weight but not its bias among the trained parameters`);
      }
      covered.add(state.info.weight.variable);
      if (biasVar) covered.add(biasVar);
      layerGrads.push({ state, name: state.info.name, weightGrad: grads[w], biasGrad: b === undefined ? null : grads[b] });
    }
    const otherParams: NamedParameter[] = [];
    const otherGrads: Tensor[] = [];
    params.forEach((p, i) => {
      if (covered.has(p.variable)) return;
      otherParams.push(p);
      otherGrads.push(grads[i]);
    });
    return { layerGrads, otherParams, otherGrads };
  }

  /**
   * Δ per layer (§4 steps 3-4): the preconditioned gradient, scaled by the KL-clipping factor ν.
   * Also folds |Σ Δ ⊙ V| into the update-health accumulator.
   */
  private precondition(layerGrads: readonly LayerGrads[], lr: number, step: number): { deltas: LayerStep[]; nu: Tensor | null } {
    if (layerGrads.length === 0) return { deltas: [], nu: null };
    const be = layerGrads[0].weightGrad.backend;
    const lambda = this.lambda;
    const raw = layerGrads.map(({ state, name, weightGrad, biasGrad }) => {
      const inverse = state.inverse;
      if (!inverse) throw new Error(`${this.name}: layer "${name}" has no inverse yet`);
      const v = gradientMatrix(be, weightGrad, state.folded ? biasGrad : null);
      const separateBias = !state.folded && biasGrad ? biasGrad : null;
      let matrix: Tensor;
      let bias: Tensor | null = null;
      if (inverse.kind === 'cholesky') {
        matrix = choleskyPrecondition(be, v, inverse.G, inverse.A);
        if (separateBias) {
          if (!inverse.biasG) throw new Error(`${this.name}: layer "${name}" has no bias inverse`);
          bias = be.reshape(be.matmul(inverse.biasG, be.reshape(separateBias, [separateBias.size, 1])), separateBias.shape);
        }
      } else {
        const basis = { vectorsA: inverse.A.vectors, valuesA: inverse.A.values, vectorsG: inverse.G.vectors, valuesG: inverse.G.values };
        matrix = eigenPrecondition(be, v, basis, lambda);
        if (separateBias) bias = eigenPrecondition(be, separateBias, { vectorsG: basis.vectorsG, valuesG: basis.valuesG }, lambda);
      }
      const pairs: [Tensor, Tensor][] = [[matrix, v]];
      if (bias && separateBias) pairs.push([bias, separateBias]);
      return { matrix, bias, sum: innerProduct(be, pairs) };
    });
    const layerSums =
      raw.length === 1
        ? raw[0].sum
        : be.concat(
            raw.map((r) => r.sum),
            0,
          );
    this.accumulateHealth(
      layerGrads.map((l) => l.name),
      layerSums,
      step,
    );
    if (!(this.settings.klClip > 0)) return { deltas: raw.map(({ matrix, bias }) => ({ matrix, bias })), nu: null };
    const nu = klClipScale(be, layerSums, lr, this.settings.klClip);
    return {
      deltas: raw.map(({ matrix, bias }) => ({ matrix: be.binary('mul', matrix, nu), bias: bias && be.binary('mul', bias, nu) })),
      nu,
    };
  }

  /**
   * Momentum and weight decay on the preconditioned direction, then p ← p − η v (kfac-pytorch hands
   * Δ to SGD the same way). Returns each layer's parameter change δ in matrix form for the
   * quadratic model.
   */
  private applyUpdates(layerGrads: readonly LayerGrads[], deltas: readonly LayerStep[], lr: number): LayerStep[] {
    const { momentum, weightDecay } = this.settings;
    return layerGrads.map(({ state }, i) => {
      const be = deltas[i].matrix.backend;
      const dIn = state.info.weight.variable.shape[1];
      const split = splitUpdate(be, deltas[i].matrix, dIn, state.folded);
      const directions: [Variable, Tensor][] = [[state.info.weight.variable, split.weight]];
      const biasDirection = state.folded ? split.bias : deltas[i].bias;
      if (state.info.bias && biasDirection) directions.push([state.info.bias.variable, biasDirection]);
      const changes = directions.map(([variable, direction]) => {
        const param = variable.value;
        let d = weightDecay > 0 ? be.binary('add', direction, be.binaryScalar('mul', param, weightDecay)) : direction;
        if (momentum > 0) {
          const previous = this.velocities.get(variable);
          d = previous ? be.binary('add', be.binaryScalar('mul', previous, momentum), d) : be.binaryScalar('mul', d, 1);
          this.velocities.set(variable, keep(d));
          previous?.dispose();
        }
        const change = be.binaryScalar('mul', d, -lr);
        variable.assign(be.binary('add', param, change));
        return change;
      });
      const [weightChange, biasChange] = [changes[0], changes[1] ?? null];
      return state.folded && biasChange
        ? { matrix: gradientMatrix(be, weightChange, biasChange), bias: null }
        : { matrix: weightChange, bias: biasChange };
    });
  }

  /** M(δ) − M(0) = gᵀδ + ½ δᵀ (G ⊗ A) δ summed over the K-FAC layers, with the undamped running factors ([1]). */
  private predictedChange(layerGrads: readonly LayerGrads[], steps: readonly LayerStep[]): Tensor | null {
    if (layerGrads.length === 0) return null;
    const be = steps[0].matrix.backend;
    const terms = layerGrads.map(({ state, weightGrad, biasGrad }, i) => {
      const v = gradientMatrix(be, weightGrad, state.folded ? biasGrad : null);
      const linear = innerProduct(be, [[v, steps[i].matrix]]);
      let curvature = kroneckerQuadratic(be, steps[i].matrix, state.G, state.A);
      const bias = steps[i].bias;
      if (bias && biasGrad && !state.folded) {
        curvature = be.binary('add', curvature, kroneckerQuadratic(be, bias, state.G, null));
        return be.binary('add', be.binary('add', linear, innerProduct(be, [[biasGrad, bias]])), be.binaryScalar('mul', curvature, 0.5));
      }
      return be.binary('add', linear, be.binaryScalar('mul', curvature, 0.5));
    });
    return be.reshape(be.reduce('sum', be.concat(terms, 0), null), [1]);
  }

  /** The Levenberg–Marquardt step (§4): one extra loss evaluation at the new parameters and one read of three scalars. */
  private async adaptDamping(
    arena: TensorArena,
    lossBefore: Tensor,
    predicted: Tensor,
    forward: () => Variable,
    loss: LossTargets,
    step: number,
  ): Promise<void> {
    const be = lossBefore.backend;
    const values = arena.run(() => {
      const after = noGrad(() => computeLoss(loss.spec, forward(), loss.targets)).value;
      const dtype = predicted.dtype;
      const as1 = (t: Tensor) => be.reshape(t.dtype === dtype ? t : be.cast(t, dtype), [1]);
      return be.concat([as1(lossBefore), as1(after), predicted], 0);
    });
    const [before, after, change] = Array.from(await values.read());
    const rho = reductionRatio(before, after, change);
    const previous = this.lambda;
    this.lambda = adaptDamping(previous, rho, this.adaptiveRule);
    if (this.lambda !== previous) {
      this.events.push({
        kind: 'damping',
        step,
        previous,
        damping: this.lambda,
        rho,
        message: `damping ${previous.toExponential(2)} → ${this.lambda.toExponential(2)} (ρ = ${rho === null ? 'n/a' : rho.toFixed(3)})`,
      });
    }
  }

  // ---- host copy (moving a run to another device) -----------------------------------------------

  /**
   * The state a later step depends on: steps taken, damping λ, momentum velocities, the running
   * factors A and G of every layer and the fallback optimizer's state. Not carried: the inverses
   * (recomputed at the first step after import) and the update-health accumulator.
   */
  async exportState(params: readonly NamedParameter[]): Promise<OptimizerHostState> {
    const named = params.filter((p) => this.velocities.has(p.variable));
    const layers = [...this.layers.values()];
    const host = await readToHost([...named.map((p) => this.velocities.get(p.variable)!), ...layers.flatMap((l) => [l.A, l.G])]);
    const out: OptimizerHostState = {
      optimizer: this.name,
      params: Object.fromEntries(named.map((p, i) => [p.name, { velocity: host[i] }])),
      counters: { updates: this.updates, damping: this.lambda, factorUpdates: this.factorUpdates },
      factors: Object.fromEntries(
        layers.map((l, i) => [l.info.name, { A: host[named.length + 2 * i], G: host[named.length + 2 * i + 1], folded: l.folded }]),
      ),
      fallback: await this.fallback.exportState(params),
    };
    return out;
  }

  importState(params: readonly NamedParameter[], exported: OptimizerHostState): void {
    checkHostState(this.name, exported);
    if (params.length === 0) throw new Error(`${this.name}.importState: no parameters`);
    const be = params[0].variable.backend;
    this.releaseState();
    this.lastFactorStep = null;
    this.updates = exported.counters.updates ?? 0;
    this.lambda = exported.counters.damping ?? this.settings.damping;
    this.factorUpdates = exported.counters.factorUpdates ?? exported.counters.updates ?? 0;
    for (const { name, variable } of params) {
      const velocity = exported.params[name]?.velocity;
      if (velocity !== undefined && isHostTensor(velocity)) this.velocities.set(variable, toDevice(be, velocity));
    }
    for (const [name, f] of Object.entries(exported.factors ?? {})) {
      this.carriedFactors.set(name, { A: toDevice(be, f.A), G: toDevice(be, f.G), folded: f.folded });
    }
    this.refitFactors = true;
    if (exported.fallback) this.fallback.importState(params, exported.fallback);
  }

  dispose(): void {
    this.releaseState();
    this.fallback.dispose();
  }

  /** Release every tensor of the optimizer's state (the optimizer stays usable). */
  private releaseState(): void {
    for (const f of this.carriedFactors.values()) [f.A, f.G].forEach((t) => t.dispose());
    this.carriedFactors.clear();
    for (const s of this.layers.values()) {
      s.A.dispose();
      s.G.dispose();
      disposeInverse(s.inverse);
    }
    this.layers.clear();
    for (const v of this.velocities.values()) v.dispose();
    this.velocities.clear();
    this.health?.sums.dispose();
    this.health = null;
    this.workspace?.dispose();
    this.workspace = null;
    this.thermodynamic = null;
  }
}

/**
 * The factors of one inversion in stacks of similar size (inverses.ts sizeGroups): the groups
 * (matrix indices), the group order (all groups' indices in turn) and each matrix's position in it.
 */
function groupFactors(matrices: readonly Tensor[]): { groups: number[][]; order: number[]; position: number[] } {
  const groups = sizeGroups(matrices.map((m) => m.shape[0]));
  const order = groups.flat();
  const position = new Array<number>(order.length);
  order.forEach((i, k) => (position[i] = k));
  return { groups, order, position };
}

function disposeInverse(inverse: LayerInverse | null): void {
  if (!inverse) return;
  if (inverse.kind === 'cholesky') [inverse.A, inverse.G, inverse.biasG].forEach((t) => t?.dispose());
  else [inverse.A.values, inverse.A.vectors, inverse.G.values, inverse.G.vectors].forEach((t) => t.dispose());
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function others(indices: readonly number[]): string {
  return indices.length > 1 ? ` (and ${indices.length - 1} more)` : '';
}

function checkFactorShapes(f: LayerFactors): void {
  const [dOut, dIn] = f.layer.weight.variable.shape;
  const folded = f.bias === 'folded' && f.layer.bias !== null;
  const dA = dIn + (folded ? 1 : 0);
  const square = (t: Tensor, d: number) => t.rank === 2 && t.shape[0] === d && t.shape[1] === d;
  if (!square(f.A, dA) || !square(f.G, dOut)) {
    throw new Error(
      `K-FAC: factors of layer "${f.name}" have shapes A [${f.A.shape.join(', ')}], G [${f.G.shape.join(', ')}]; ` +
        `its weight [${dOut}, ${dIn}] needs A [${dA}, ${dA}] and G [${dOut}, ${dOut}]`,
    );
  }
}

/** Layers captured several times in one pass: their rows are extra shared positions (A averaged, G summed). */
function mergeRepeatedLayers(factors: readonly LayerFactors[]): LayerFactors[] {
  const groups = new Map<string, LayerFactors[]>();
  for (const f of factors) groups.set(f.name, [...(groups.get(f.name) ?? []), f]);
  return [...groups.values()].map((group) => {
    if (group.length === 1) return group[0];
    const be = group[0].A.backend;
    const sum = (ts: Tensor[]) => ts.reduce((acc, t) => be.binary('add', acc, t));
    return { ...group[0], A: be.binaryScalar('mul', sum(group.map((g) => g.A)), 1 / group.length), G: sum(group.map((g) => g.G)) };
  });
}

/** The MC label stream of one step: the run's seed and the step mixed into 32 bits (distinct runs, distinct steps). */
export function mcSeed(seed: number, step: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ (step >>> 0), 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}
