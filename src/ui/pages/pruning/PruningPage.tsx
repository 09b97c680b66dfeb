// The Pruning page (docs/curvature-tools.md §5): train an MLP or a CNN on MNIST here (or open a
// checkpoint), prune it with magnitude, the diagonal Fisher, WoodFisher and K-FAC-OBS at several
// sparsities, and compare test accuracy against sparsity, the OBS-predicted against the measured loss
// increase, and what each mask keeps (for the MLP's first layer: the pixels each unit still sees).
// Training and pruning run as one worker job; the settings live in the URL.
import { useCallback, useId, useMemo, useState } from 'react';
import { TASKS } from '../../../engine/lab/tasks.ts';
import { MAX_CURVATURE_EXAMPLES, MAX_TRAIN_STEPS } from '../../../worker/jobs/limits.ts';
import { ChartFigure } from '../../charts/ChartFigure.tsx';
import { useToolPageStart } from '../../tool-page/use-tool-page.ts';
import { usePlot } from '../../charts/use-plot.ts';
import { describeCheckpoint } from '../../checkpoints/checkpoint-library.ts';
import { CheckpointCard } from '../../tool-page/CheckpointCard.tsx';
import { JobProgressBar, NumberField } from '../../tool-page/page-parts.tsx';
import { MessageList } from '../../components/Messages.tsx';
import {
  accuracyLegend,
  accuracySummary,
  accuracyTable,
  buildAccuracyFigure,
  buildCoverageFigure,
  buildLossFigure,
  buildMaskFigure,
  coverageTable,
  lossSummary,
  lossTable,
  maskSummary,
  maskTable,
  METHOD_STYLES,
  methodLabel,
  seesPixels,
} from './pruning-figures.ts';
import type { PruneRun } from '../../../engine/tools/prune/prune-experiment.ts';
import { usePruningPage } from './pruning-store.ts';
import { PRUNING_METHODS, PRUNING_TASKS, type PruningTask } from './pruning-url.ts';
import '../../tool-page/tool-page.css';
import './pruning-page.css';

export function PruningPage({ query }: { query: string }) {
  useToolPageStart(usePruningPage, query);
  const result = usePruningPage((s) => s.result);
  const messages = usePruningPage((s) => s.messages);
  const urlErrors = usePruningPage((s) => s.urlErrors);
  const dismiss = usePruningPage((s) => s.dismissMessage);
  return (
    <div className="tool-page pruning-page">
      <div className="page-intro">
        <h2>Pruning with second-order information</h2>
        <p>
          Remove most of a trained network’s weights and keep its accuracy: the question is <em>which</em> weights. Magnitude pruning
          removes the smallest; the <strong>optimal brain surgeon</strong> (OBS) removes those whose loss the curvature says matters least,
          and moves the others to make up for them. This page prunes an MLP or a CNN on MNIST with each method and measures the result.
          Everything runs in the lab’s worker, on the same device as the race.
        </p>
      </div>
      <MessageList
        messages={messages}
        urlErrors={urlErrors}
        onDismiss={dismiss}
        testId="pruning-messages"
        urlErrorsTestId="pruning-url-errors"
      />
      <div className="pruning-layout">
        <SetupCard />
        <ModelCard />
      </div>
      {result && <ResultView />}
      <Explanation />
    </div>
  );
}

function SparsityField({ value, disabled, onChange }: { value: number[]; disabled: boolean; onChange: (v: number[]) => void }) {
  const id = useId();
  const [text, setText] = useState(value.join(', '));
  const [error, setError] = useState<string | null>(null);
  const commit = () => {
    const parts = text.split(/[\s,]+/).filter((s) => s !== '');
    const list = parts.map(Number);
    if (parts.length === 0 || parts.length > 24 || list.some((x) => !(x >= 0 && x <= 1))) {
      setError('Give 1 to 24 fractions from 0 to 1, e.g. 0.5, 0.8, 0.9.');
      return;
    }
    setError(null);
    onChange([...new Set(list)].sort((a, b) => a - b));
  };
  return (
    <div className="field">
      <label htmlFor={id}>Sparsities (fractions of the weights to remove)</label>
      <input
        id={id}
        type="text"
        inputMode="decimal"
        value={text}
        disabled={disabled}
        data-testid="pruning-sparsities"
        aria-invalid={error !== null}
        aria-describedby={`${id}-help`}
        onChange={(e) => setText(e.currentTarget.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
      />
      <p className="field-help" id={`${id}-help`} role={error ? 'alert' : undefined}>
        {error ?? 'Each sparsity is pruned from the same trained weights. Biases are never pruned.'}
      </p>
    </div>
  );
}

function SetupCard() {
  const settings = usePruningPage((s) => s.settings);
  const set = usePruningPage((s) => s.setSettings);
  const job = usePruningPage((s) => s.job);
  const checkpoint = usePruningPage((s) => s.checkpoint);
  const run = usePruningPage((s) => s.run);
  const cancel = usePruningPage((s) => s.cancel);
  const busy = job?.status === 'running';
  const taskId = useId();
  const scopeId = useId();
  const trained = checkpoint?.trainedWith;
  const reuses =
    settings.model === 'train' &&
    trained &&
    trained.task === settings.task &&
    trained.steps === settings.steps &&
    trained.seed === settings.seed;
  return (
    <section className="card pruning-setup" aria-labelledby="pruning-setup-heading">
      <h3 id="pruning-setup-heading">Model and methods</h3>
      <div className="field">
        <label htmlFor={taskId}>Task</label>
        <select
          id={taskId}
          value={settings.task}
          disabled={busy}
          data-testid="pruning-task"
          onChange={(e) => set({ task: e.currentTarget.value as PruningTask })}
        >
          {PRUNING_TASKS.map((id) => (
            <option key={id} value={id}>
              {TASKS[id].title}
            </option>
          ))}
        </select>
        <p className="field-help">{TASKS[settings.task].model}.</p>
      </div>
      <fieldset className="field" disabled={busy}>
        <legend>Model</legend>
        <label className="radio">
          <input
            type="radio"
            name="pruning-model"
            checked={settings.model === 'train'}
            data-testid="pruning-model-train"
            onChange={() => set({ model: 'train' })}
          />
          Train it here (Adam, the task’s learning rate)
        </label>
        <label className="radio">
          <input
            type="radio"
            name="pruning-model"
            checked={settings.model === 'checkpoint'}
            data-testid="pruning-model-checkpoint"
            onChange={() => set({ model: 'checkpoint' })}
          />
          A checkpoint (kept in this browser or a file)
        </label>
      </fieldset>
      {settings.model === 'train' && (
        <div className="field-row">
          <NumberField
            label="Training steps"
            value={settings.steps}
            min={0}
            max={MAX_TRAIN_STEPS}
            disabled={busy}
            testId="pruning-steps"
            onChange={(steps) => set({ steps })}
            help={
              reuses ? 'Trained already with these settings: the next run reuses the model.' : 'Batches of 64 from 4,096 training images.'
            }
          />
          <NumberField
            label="Seed"
            value={settings.seed}
            min={0}
            max={2 ** 31 - 1}
            disabled={busy}
            testId="pruning-seed"
            onChange={(seed) => set({ seed })}
          />
        </div>
      )}
      <fieldset className="field" disabled={busy}>
        <legend>Methods</legend>
        {PRUNING_METHODS.map((m) => (
          <label key={m} className="checkbox">
            <input
              type="checkbox"
              checked={settings.methods.includes(m)}
              data-testid={`pruning-method-${m}`}
              onChange={(e) => {
                const on = e.currentTarget.checked;
                const methods = PRUNING_METHODS.filter((x) => (x === m ? on : settings.methods.includes(x)));
                if (methods.length > 0) set({ methods });
              }}
            />
            <span className="swatch" style={{ background: METHOD_STYLES[m].color }} aria-hidden="true" /> {methodLabel(m)}
          </label>
        ))}
      </fieldset>
      <SparsityField
        key={settings.sparsities.join(',')}
        value={settings.sparsities}
        disabled={busy}
        onChange={(sparsities) => set({ sparsities })}
      />
      <div className="field-row">
        <div className="field">
          <label htmlFor={scopeId}>Selection</label>
          <select
            id={scopeId}
            value={settings.scope}
            disabled={busy}
            data-testid="pruning-scope"
            onChange={(e) => set({ scope: e.currentTarget.value as 'layer' | 'global' })}
          >
            <option value="global">global: smallest scores over all layers</option>
            <option value="layer">per layer: the same fraction of each layer</option>
          </select>
        </div>
        <NumberField
          label="Damping λ"
          value={settings.damping}
          min={1e-12}
          max={1e6}
          step="any"
          integer={false}
          disabled={busy}
          testId="pruning-damping"
          onChange={(damping) => set({ damping })}
          help="Added to every curvature: F + λI. Large λ turns OBS into magnitude pruning (see below)."
        />
      </div>
      <div className="field-row">
        <NumberField
          label="Curvature examples"
          value={settings.examples}
          min={1}
          max={MAX_CURVATURE_EXAMPLES}
          disabled={busy}
          testId="pruning-examples"
          onChange={(examples) => set({ examples })}
          help="A seeded subset of the training images: WoodFisher’s per-example gradients, K-FAC’s factors."
        />
        <NumberField
          label="Fine-tuning steps"
          value={settings.finetune}
          min={0}
          max={MAX_TRAIN_STEPS}
          disabled={busy}
          testId="pruning-finetune"
          onChange={(finetune) => set({ finetune })}
          help="0 for none. Adam, with the masks re-applied after every step."
        />
        <NumberField
          label="Pruning steps per sparsity"
          value={settings.gradual}
          min={1}
          max={20}
          disabled={busy}
          testId="pruning-gradual"
          onChange={(gradual) => set({ gradual })}
          help="1 is one shot; more prunes gradually, re-estimating the curvature before each step."
        />
      </div>
      <div className="button-row">
        <button
          type="button"
          className="primary"
          data-testid="prune-run"
          disabled={busy || (settings.model === 'checkpoint' && !checkpoint)}
          onClick={() => void run()}
        >
          {settings.model === 'train' && !reuses ? 'Train, then prune' : 'Prune'}
        </button>
        <button type="button" data-testid="prune-cancel" disabled={!busy} onClick={cancel}>
          Cancel
        </button>
      </div>
      {job && <JobProgressBar job={job} label="Pruning" testId="prune-progress" />}
    </section>
  );
}

function ModelCard() {
  const checkpoint = usePruningPage((s) => s.checkpoint);
  const stored = usePruningPage((s) => s.stored);
  const keep = usePruningPage((s) => s.keepInBrowser);
  const download = usePruningPage((s) => s.download);
  const openStored = usePruningPage((s) => s.openStored);
  const forget = usePruningPage((s) => s.forgetStored);
  const upload = usePruningPage((s) => s.upload);
  return (
    <CheckpointCard
      prefix="pruning"
      current={
        checkpoint && (
          <>
            Current model: <strong>{describeCheckpoint(checkpoint.summary)}</strong>, {checkpoint.from}.
          </>
        )
      }
      empty="No model yet: train one here (it is kept as a checkpoint), or open one."
      stored={stored}
      onKeep={keep}
      onDownload={download}
      onUpload={upload}
      onOpenStored={openStored}
      onForget={forget}
      testIds={{ current: 'pruning-checkpoint' }}
    />
  );
}

function ResultView() {
  const r = usePruningPage((s) => s.result)!;
  const exportJson = usePruningPage((s) => s.exportJson);
  const { runs, baseline } = r.result;
  const model =
    r.model.kind === 'trained'
      ? `the model trained here (${r.model.steps} Adam steps, seed ${r.model.seed})`
      : `the checkpoint after ${r.model.step} steps`;
  const accuracy = usePlot(useCallback(() => buildAccuracyFigure(runs, baseline.testAccuracy), [runs, baseline]));
  const loss = usePlot(useCallback(() => buildLossFigure(runs), [runs]));
  const curvature = Object.entries(r.result.curvatureSeconds)
    .map(([m, s]) => `${methodLabel(m)} ${(s ?? 0).toFixed(2)} s`)
    .join(', ');
  return (
    <section className="card pruning-result" aria-labelledby="pruning-result-heading" data-testid="pruning-result">
      <h3 id="pruning-result-heading">Pruning {model}</h3>
      <p>
        {TASKS[r.task].title}; dense test accuracy <strong>{(100 * baseline.testAccuracy).toFixed(1)} %</strong> on 512 held-out images;{' '}
        {r.config.scope === 'global' ? 'global' : 'per-layer'} selection, λ = {r.config.damping}, {r.config.examples} curvature examples
        {r.config.steps > 1 ? `, ${r.config.steps} pruning steps per sparsity` : ', one shot'}; on {r.device}. Curvature time: {curvature}.
      </p>
      <div className="button-row">
        <button type="button" onClick={exportJson} data-testid="pruning-export">
          Export JSON
        </button>
      </div>
      <div className="pruning-figures">
        <ChartFigure
          id="pruning-accuracy"
          title="Test accuracy against sparsity"
          note={
            runs.some((x) => x.finetuned)
              ? 'Solid: right after pruning; dashed: after fine-tuning with the masks held.'
              : 'Right after pruning (one shot).'
          }
          summary={accuracySummary(runs, baseline.testAccuracy)}
          table={() => accuracyTable(runs)}
          legend={accuracyLegend(runs)}
          plotRef={accuracy.ref}
          canSave={accuracy.ready}
          error={accuracy.error}
        />
        <ChartFigure
          id="pruning-loss"
          title="Predicted (OBS) against measured loss increase"
          note="Log–log; the dotted line is measured = predicted. Magnitude pruning predicts nothing and is left out."
          summary={lossSummary(runs)}
          table={() => lossTable(runs)}
          legend={Object.entries(METHOD_STYLES)
            .filter(([m]) => m !== 'magnitude' && runs.some((x) => x.method === m))
            .map(([, s]) => ({ label: s.label, color: s.color, symbol: s.symbol }))}
          plotRef={loss.ref}
          canSave={loss.ready}
          error={loss.error}
        />
      </div>
      <MaskView />
    </section>
  );
}

function MaskView() {
  const r = usePruningPage((s) => s.result)!;
  const choice = usePruningPage((s) => s.maskChoice);
  const choose = usePruningPage((s) => s.chooseMasks);
  const ids = { method: useId(), sparsity: useId(), layer: useId() };
  const runs = r.result.runs;
  const methods = useMemo(() => [...new Set(runs.map((x) => x.method))], [runs]);
  const sparsities = useMemo(() => [...new Set(runs.map((x) => x.sparsity))], [runs]);
  const run = choice ? runs.find((x) => x.method === choice.method && x.sparsity === choice.sparsity) : undefined;
  if (!choice || !run || run.layers.length === 0) return null;
  const layerIndex = Math.min(choice.layer, run.layers.length - 1);
  return (
    <div className="pruning-masks" data-testid="pruning-masks">
      <h4>What the masks keep</h4>
      <div className="field-row">
        <div className="field">
          <label htmlFor={ids.method}>Method</label>
          <select
            id={ids.method}
            value={choice.method}
            data-testid="mask-method"
            onChange={(e) => choose({ method: e.currentTarget.value })}
          >
            {methods.map((m) => (
              <option key={m} value={m}>
                {methodLabel(m)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.sparsity}>Sparsity</label>
          <select
            id={ids.sparsity}
            value={choice.sparsity}
            data-testid="mask-sparsity"
            onChange={(e) => choose({ sparsity: Number(e.currentTarget.value) })}
          >
            {sparsities.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.layer}>Layer</label>
          <select
            id={ids.layer}
            value={layerIndex}
            data-testid="mask-layer"
            onChange={(e) => choose({ layer: Number(e.currentTarget.value) })}
          >
            {run.layers.map((l, i) => (
              <option key={l.name} value={i}>
                {l.name} ({l.dOut} × {l.dIn})
              </option>
            ))}
          </select>
        </div>
      </div>
      <MaskFigures run={run} layerIndex={layerIndex} />
    </div>
  );
}

function MaskFigures({ run, layerIndex }: { run: PruneRun; layerIndex: number }) {
  const layer = run.layers[layerIndex];
  const pixels = seesPixels(layer.dIn);
  const maskPlot = usePlot(useCallback(() => (layer.mask ? buildMaskFigure(layer.mask, layer.dOut, layer.dIn) : null), [layer]));
  const coverage = usePlot(
    useCallback(() => (layer.mask && seesPixels(layer.dIn) ? buildCoverageFigure(layer.mask, layer.dOut, layer.dIn) : null), [layer]),
  );
  const mask = layer.mask;
  if (!mask) return <p className="muted">This result holds no masks.</p>;
  return (
    <div className="pruning-figures">
      <ChartFigure
        id="pruning-mask"
        title={pixels ? 'The pixels each hidden unit still sees' : `Mask of ${layer.name} (rows: outputs, columns: inputs)`}
        note={
          pixels
            ? `One 14 × 14 tile per unit (${layer.dOut} units); blue: the weight from that pixel is kept.`
            : 'Blue: kept, grey: removed.'
        }
        summary={maskSummary(run, layerIndex)}
        table={() => maskTable(run)}
        plotRef={maskPlot.ref}
        canSave={maskPlot.ready}
        error={maskPlot.error}
        plotClassName="chart-plot--square"
      />
      {pixels && (
        <ChartFigure
          id="pruning-coverage"
          title="How many units still see each pixel"
          note="The border pixels of MNIST carry no ink (a constant input): their weights tend to go first, most of all under K-FAC-OBS."
          summary={`Pixels seen by no unit: ${countZeros(mask, layer.dOut, layer.dIn)} of 196.`}
          table={() => coverageTable(mask, layer.dOut, layer.dIn)}
          plotRef={coverage.ref}
          canSave={coverage.ready}
          error={coverage.error}
          plotClassName="chart-plot--square"
        />
      )}
    </div>
  );
}

function countZeros(mask: ArrayLike<number>, dOut: number, dIn: number): number {
  let zeros = 0;
  for (let p = 0; p < dIn; p++) {
    let seen = 0;
    for (let u = 0; u < dOut; u++) seen += mask[u * dIn + p];
    if (seen === 0) zeros++;
  }
  return zeros;
}

function Explanation() {
  return (
    <section className="card pruning-explain" aria-labelledby="pruning-explain-heading">
      <h3 id="pruning-explain-heading">Optimal brain surgeon, and why damping turns it into magnitude pruning</h3>
      <p>
        Near a trained minimum the loss is close to a quadratic, L(w + δw) ≈ L(w) + ½ δwᵀ F δw, with F the curvature (a Fisher or
        Gauss–Newton matrix). Removing weight q means forcing δw<sub>q</sub> = −w<sub>q</sub>; the cheapest way to do it moves every other
        weight as well, by δw = −(w<sub>q</sub> / [F⁻¹]<sub>qq</sub>) F⁻¹ e<sub>q</sub>, and raises the loss by ρ<sub>q</sub> = w
        <sub>q</sub>² / (2 [F⁻¹]<sub>qq</sub>). The optimal brain surgeon removes the weights of smallest ρ and applies the sum of their
        updates; it needs only the diagonal of F⁻¹ and products with F⁻¹. <strong>WoodFisher</strong> builds F⁻¹ of the empirical Fisher
        (1/N) Σ g<sub>n</sub>g<sub>n</sub>ᵀ + λI from per-example gradients by the Woodbury recursion, one example at a time, in blocks
        along the diagonal; <strong>K-FAC-OBS</strong> uses the Kronecker-factored curvature G ⊗ A + λI, whose inverse diagonal and products
        are cheap in its eigenbasis. The <strong>diagonal Fisher</strong> ignores correlations (score w<sub>q</sub>² F<sub>qq</sub> / 2, no
        compensation) and <strong>magnitude</strong> ignores the curvature altogether (score w<sub>q</sub>²).
      </p>
      <p>
        The damping λ in F + λI is what links them. As λ grows, F + λI → λI: its inverse tends to I / λ, so [F⁻¹]<sub>qq</sub> → 1/λ and
        every score ρ<sub>q</sub> → λ w<sub>q</sub>² / 2 — the same order as w<sub>q</sub>², magnitude’s ranking — while the compensating
        update −(w<sub>q</sub> / [F⁻¹]<sub>qq</sub>) F⁻¹ e<sub>q</sub> → −w<sub>q</sub> e<sub>q</sub> only zeroes the weight itself.
        Infinite damping is magnitude pruning; a small λ lets the curvature decide. Raise λ on this page and watch the OBS curves fall onto
        magnitude’s.
      </p>
      <p className="muted">
        The predicted increase Σ ρ uses the curvature of the mean training loss on the curvature examples; the measured one is that loss
        after pruning. The quadratic model holds for small changes, so the two agree at low sparsity and part as more is removed. Test
        accuracy is measured on 512 held-out MNIST test images. Command line: <code>npm run -s prune -- --task mlp-mnist</code>; details in
        docs/curvature-tools.md §5.
      </p>
    </section>
  );
}
