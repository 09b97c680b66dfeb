// The Curvature page (docs/curvature-tools.md §1): choose a task and a model (the seed's fresh
// weights, trained here, handed over by the race, kept in this browser or uploaded), then look at
// each K-FAC layer: the factors A and G, the spectrum of K-FAC {κᵢ μⱼ} beside EK-FAC's Λ and, for
// small layers, the exact GGN block's eigenvalues; how closely each fits the exact block; and
// expand next to reduce with the time their factors took. Training and the report run as worker
// jobs, so the page stays responsive; the settings live in the URL.
import { useCallback, useId, useMemo } from 'react';
import { TASK_IDS, TASKS, type TaskId } from '../../../engine/lab/tasks.ts';
import type { ReportHeatmap, ReportLayer } from '../../../engine/tools/curvature-report/curvature-report.ts';
import { ChartFigure, ChartTable } from '../../charts/ChartFigure.tsx';
import { buildFactorFigure, factorSummary, factorTable, matrixSizeNote } from '../../charts/curvature-figures.ts';
import { usePlot } from '../../charts/use-plot.ts';
import { useToolPageStart } from '../../tool-page/use-tool-page.ts';
import { MessageList } from '../../components/Messages.tsx';
import { describeCheckpoint } from '../../checkpoints/checkpoint-library.ts';
import { CheckpointCard } from '../../tool-page/CheckpointCard.tsx';
import { JobProgressBar, NumberField } from '../../tool-page/page-parts.tsx';
import { useCurvaturePage } from './curvature-store.ts';
import { FISHER_CHOICES, MODEL_SOURCES, type ModelSource } from './curvature-url.ts';
import { MAX_CURVATURE_EXAMPLES, MAX_EXACT_PARAMS, MAX_TRAIN_STEPS } from '../../../worker/jobs/limits.ts';
import {
  buildReportSpectrumFigure,
  fitText,
  heatmapView,
  layerTable,
  spectrumLegend,
  spectrumSummary,
  spectrumTable,
  type Approx,
} from './report-figures.ts';
import '../../tool-page/tool-page.css';
import './curvature-page.css';

const SOURCE_LABELS: Record<ModelSource, string> = {
  fresh: 'Fresh: the seed’s initial weights',
  train: 'Train it here first',
  checkpoint: 'A checkpoint (from the race, this browser or a file)',
};

const FISHER_LABELS: Record<(typeof FISHER_CHOICES)[number], string> = {
  'type-2': 'type-2 (the exact GGN)',
  mc: 'Monte Carlo (sampled labels)',
  empirical: 'empirical (the true labels)',
};

export function CurvaturePage({ query }: { query: string }) {
  useToolPageStart(useCurvaturePage, query);
  const result = useCurvaturePage((s) => s.result);
  return (
    <div className="tool-page curvature-page">
      <div className="page-intro">
        <h2>Curvature, layer by layer</h2>
        <p>
          K-FAC approximates each layer’s block of the curvature (the GGN) by a Kronecker product <strong>G ⊗ A</strong> of two small
          matrices: <strong>A</strong>, what the layer’s inputs look like, and <strong>G</strong>, what the gradients at its outputs look
          like. Pick a model, and this page computes both approximations (expand and reduce), EK-FAC’s corrected eigenvalues and — for
          layers small enough — the exact block, so you can see where the Kronecker product is good and where it is not. The work runs in
          the lab’s worker on the same device as the race.
        </p>
      </div>
      <PageMessages />
      <div className="curvature-layout">
        <SetupCard />
        <ModelCard />
      </div>
      {result && <ReportView />}
    </div>
  );
}

function PageMessages() {
  const messages = useCurvaturePage((s) => s.messages);
  const urlErrors = useCurvaturePage((s) => s.urlErrors);
  const dismiss = useCurvaturePage((s) => s.dismissMessage);
  return (
    <MessageList
      messages={messages}
      urlErrors={urlErrors}
      onDismiss={dismiss}
      testId="curvature-messages"
      urlErrorsTestId="curvature-url-errors"
    />
  );
}

function SetupCard() {
  const settings = useCurvaturePage((s) => s.settings);
  const setSettings = useCurvaturePage((s) => s.setSettings);
  const training = useCurvaturePage((s) => s.training);
  const analysis = useCurvaturePage((s) => s.analysis);
  const checkpoint = useCurvaturePage((s) => s.checkpoint);
  const analyse = useCurvaturePage((s) => s.analyse);
  const cancel = useCurvaturePage((s) => s.cancel);
  const busy = training?.status === 'running' || analysis?.status === 'running';
  const taskId = useId();
  const fisherId = useId();
  const needsCheckpoint = settings.model === 'checkpoint' && !checkpoint;
  return (
    <section className="card curvature-setup" aria-labelledby="curvature-setup-heading">
      <h3 id="curvature-setup-heading">Model and data</h3>
      <div className="field">
        <label htmlFor={taskId}>Task</label>
        <select
          id={taskId}
          value={settings.task}
          disabled={busy}
          data-testid="curvature-task"
          onChange={(e) => setSettings({ task: e.currentTarget.value as TaskId })}
        >
          {TASK_IDS.map((id) => (
            <option key={id} value={id}>
              {TASKS[id].title}
            </option>
          ))}
        </select>
        <p className="field-help">
          {TASKS[settings.task].model}; K-FAC setting: {TASKS[settings.task].setting}.
        </p>
      </div>
      <fieldset className="field" disabled={busy}>
        <legend>Model</legend>
        {MODEL_SOURCES.map((source) => (
          <label key={source} className="radio">
            <input
              type="radio"
              name="curvature-model"
              value={source}
              checked={settings.model === source}
              data-testid={`model-${source}`}
              onChange={() => setSettings({ model: source })}
            />
            {SOURCE_LABELS[source]}
          </label>
        ))}
      </fieldset>
      {settings.model === 'train' && (
        <NumberField
          label="Training steps"
          value={settings.steps}
          min={1}
          max={MAX_TRAIN_STEPS}
          disabled={busy}
          testId="curvature-steps"
          onChange={(steps) => setSettings({ steps })}
          help={`With the preset’s K-FAC-${TASKS[settings.task].setting} (the task’s own setting), on the preset’s batches.`}
        />
      )}
      {settings.model !== 'checkpoint' && (
        <NumberField
          label="Seed of the weights"
          value={settings.seed}
          min={0}
          max={2 ** 31 - 1}
          disabled={busy}
          testId="curvature-seed"
          onChange={(seed) => setSettings({ seed })}
        />
      )}
      <NumberField
        label="Training examples to analyse"
        value={settings.examples}
        min={1}
        max={MAX_CURVATURE_EXAMPLES}
        disabled={busy}
        testId="curvature-examples"
        onChange={(examples) => setSettings({ examples })}
        help="A seeded random subset; more examples give a steadier picture and take longer."
      />
      <NumberField
        label="Exact GGN block for layers of at most this many weights"
        value={settings.exact}
        min={0}
        max={MAX_EXACT_PARAMS}
        disabled={busy}
        testId="curvature-exact"
        onChange={(exact) => setSettings({ exact })}
        help="0 for none. The exact block of n weights is n × n and its eigenvalues take time growing as n³: keep it small on a slow device."
      />
      <div className="field">
        <label htmlFor={fisherId}>Fisher</label>
        <select
          id={fisherId}
          value={settings.fisher}
          disabled={busy}
          onChange={(e) => setSettings({ fisher: e.currentTarget.value as (typeof FISHER_CHOICES)[number] })}
        >
          {FISHER_CHOICES.map((f) => (
            <option key={f} value={f}>
              {FISHER_LABELS[f]}
            </option>
          ))}
        </select>
      </div>
      <div className="button-row">
        <button type="button" className="primary" data-testid="analyse" disabled={busy || needsCheckpoint} onClick={() => void analyse()}>
          {settings.model === 'train' && !checkpoint?.trainedWith ? 'Train, then analyse' : 'Analyse'}
        </button>
        <button type="button" data-testid="cancel-job" disabled={!busy} onClick={cancel}>
          Cancel
        </button>
      </div>
      {training && <JobProgressBar job={training} label="Training" testId="train-progress" />}
      {analysis && <JobProgressBar job={analysis} label="Curvature report" testId="analysis-progress" />}
    </section>
  );
}

function ModelCard() {
  const checkpoint = useCurvaturePage((s) => s.checkpoint);
  const stored = useCurvaturePage((s) => s.stored);
  const keep = useCurvaturePage((s) => s.keepInBrowser);
  const download = useCurvaturePage((s) => s.download);
  const openStored = useCurvaturePage((s) => s.openStored);
  const forget = useCurvaturePage((s) => s.forgetStored);
  const upload = useCurvaturePage((s) => s.upload);
  return (
    <CheckpointCard
      prefix="curvature"
      current={
        checkpoint && (
          <>
            Current checkpoint: <strong>{describeCheckpoint(checkpoint.summary)}</strong>, {checkpoint.from};{' '}
            {checkpoint.summary.parameters.toLocaleString('en-US')} parameters.
          </>
        )
      }
      empty="No checkpoint yet: train one, hand one over from the race (“Analyse this model’s curvature” under a run), or open a file."
      stored={stored}
      showSavedAt
      onKeep={keep}
      onDownload={download}
      onUpload={upload}
      onOpenStored={openStored}
      onForget={forget}
      testIds={{
        current: 'current-checkpoint',
        keep: 'keep-checkpoint',
        download: 'download-checkpoint',
        upload: 'upload-checkpoint',
        stored: 'stored-checkpoints',
      }}
    />
  );
}

function ReportView() {
  const result = useCurvaturePage((s) => s.result)!;
  const layerIndex = useCurvaturePage((s) => s.settings.layer);
  const selectLayer = useCurvaturePage((s) => s.selectLayer);
  const { report } = result;
  const layer = report.layers[Math.min(layerIndex, report.layers.length - 1)];
  const selectId = useId();
  const table = useMemo(() => layerTable(report.layers), [report]);
  const model =
    result.model.kind === 'fresh'
      ? `the fresh model of seed ${result.model.seed}`
      : `the checkpoint after ${result.model.step} steps${result.model.origin ? ` of ${result.model.origin}` : ''}`;
  const { expandFactorsMs, reduceFactorsMs } = report.timings;
  const shared = report.layers.some((l) => l.sharedDims.length > 0);
  return (
    <section className="card curvature-report" aria-labelledby="curvature-report-heading" data-testid="curvature-report">
      <h3 id="curvature-report-heading">The curvature of {model}</h3>
      <p>
        {TASKS[result.task].title}; {report.examples} training examples in {report.batches} batch{report.batches === 1 ? '' : 'es'};{' '}
        {report.fisher} Fisher; on {report.device}.
      </p>
      <p data-testid="factor-times">
        Time for the factors of every layer over these examples: <strong>expand {(expandFactorsMs / 1000).toFixed(2)} s</strong>,{' '}
        <strong>reduce {(reduceFactorsMs / 1000).toFixed(2)} s</strong>
        {reduceFactorsMs > 0 ? ` (expand takes ${(expandFactorsMs / reduceFactorsMs).toFixed(2)}× reduce’s time)` : ''}.{' '}
        {shared
          ? 'Reduce sums a layer’s inputs and output gradients over the shared positions (patches, tokens, nodes) before forming A and G, so its factors see R times fewer rows.'
          : 'This model shares no weights, so expand and reduce compute the same factors: a difference in time here is overhead, not the approximation.'}{' '}
        Both are timed after an untimed warm-up fit of each, so neither pays the device’s one-off kernel compilation.
      </p>
      {layer ? (
        <>
          <div className="field layer-select">
            <label htmlFor={selectId}>Layer</label>
            <select
              id={selectId}
              value={layer.index}
              data-testid="curvature-layer"
              onChange={(e) => selectLayer(Number(e.currentTarget.value))}
            >
              {report.layers.map((l) => (
                <option key={l.index} value={l.index}>
                  {l.name} ({l.dOut} × {l.width})
                </option>
              ))}
            </select>
          </div>
          <LayerView layer={layer} />
        </>
      ) : (
        <p>The model has no K-FAC layers.</p>
      )}
      <h4>Every layer</h4>
      <p className="muted">
        The relative Frobenius error ‖F − F̃‖ / ‖F‖ of each approximation F̃ against the exact block F: 0 is exact, 1 is as far as predicting
        zero. EK-FAC keeps K-FAC’s eigenvectors and refits the eigenvalues, so it is never further from F than K-FAC is. “—” marks layers
        too large for the exact block.
      </p>
      <ChartTable table={table} testId="layer-table" />
    </section>
  );
}

function LayerView({ layer }: { layer: ReportLayer }) {
  return (
    <>
      <p>
        Layer <code>{layer.name}</code>: {layer.dIn} inputs{layer.bias === 'folded' ? ' (+ the bias as a constant input 1)' : ''} to{' '}
        {layer.dOut} outputs, {layer.params.toLocaleString('en-US')} weights;{' '}
        {layer.sharedDims.length > 0 ? `weights shared over ${layer.sharedDims.join(', ')}` : 'no weight sharing'}.{' '}
        {layer.exact ? 'Small enough for the exact GGN block.' : 'Above the size limit for the exact block.'}
      </p>
      <div className="approx-columns">
        {(['expand', 'reduce'] as const).map((approx) => (
          <ApproxColumn key={approx} layer={layer} approx={approx} />
        ))}
      </div>
      <details className="explain">
        <summary>How to read these figures</summary>
        <ul>
          <li>
            <strong>A and G</strong> are drawn symmetric around 0 (orange below, grey at 0, blue above). A strong diagonal means the inputs
            (or output gradients) are nearly uncorrelated; blocks and stripes are features that move together.
          </li>
          <li>
            <strong>K-FAC’s eigenvalues</strong> are every product κᵢ μⱼ of G’s eigenvalues κ and A’s μ. <strong>EK-FAC</strong> keeps the
            same eigenvectors but fits one eigenvalue per direction to the data (Λ); <strong>the exact block</strong> shows what both try to
            match. Where the K-FAC curve leaves the exact one, the Kronecker product puts curvature in the wrong place — that is what EK-FAC
            repairs.
          </li>
          <li>
            <strong>Expand vs reduce</strong> differ only for layers with weight sharing: expand treats every shared position as its own
            example, reduce first sums over them (docs/kfac.md §2). The one matching how the loss treats the positions fits better.
          </li>
        </ul>
      </details>
    </>
  );
}

function ApproxColumn({ layer, approx }: { layer: ReportLayer; approx: Approx }) {
  const a = layer[approx];
  const id = `curvature-${approx}`;
  return (
    <div className="approx-column" data-testid={`approx-${approx}`}>
      <h4>K-FAC-{approx}</h4>
      <p className="fit" data-testid={`fit-${approx}`}>
        {fitText(a, layer)}
      </p>
      <ReportSpectrum id={`${id}-spectrum`} layer={layer} approx={approx} />
      <div className="factor-pair">
        <ReportHeatmapFigure id={`${id}-a`} heatmap={a.A} factor="A" />
        <ReportHeatmapFigure id={`${id}-g`} heatmap={a.G} factor="G" />
      </div>
    </div>
  );
}

function ReportSpectrum({ id, layer, approx }: { id: string; layer: ReportLayer; approx: Approx }) {
  const plot = usePlot(useCallback(() => buildReportSpectrumFigure(layer, approx), [layer, approx]));
  const summary = useMemo(() => spectrumSummary(layer, approx), [layer, approx]);
  return (
    <ChartFigure
      id={id}
      title={`Eigenvalues, K-FAC-${approx}`}
      note="Log–log against rank; the exact block is drawn for layers small enough to form it."
      summary={summary}
      table={() => spectrumTable(layer, approx)}
      legend={spectrumLegend(layer.exact !== null)}
      plotRef={plot.ref}
      canSave={plot.ready}
      error={plot.error}
    />
  );
}

function ReportHeatmapFigure({ id, heatmap, factor }: { id: string; heatmap: ReportHeatmap; factor: 'A' | 'G' }) {
  const view = useMemo(() => heatmapView(heatmap), [heatmap]);
  const plot = usePlot(useCallback(() => buildFactorFigure(view, factor), [view, factor]));
  return (
    <ChartFigure
      id={id}
      title={factor === 'A' ? 'Input factor A' : 'Gradient factor G'}
      note={matrixSizeNote(view)}
      summary={factorSummary(view, factor)}
      table={() => factorTable(view, factor)}
      plotRef={plot.ref}
      canSave={plot.ready}
      error={plot.error}
      plotClassName="chart-plot--square"
    />
  );
}
