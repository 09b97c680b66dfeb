// The Laplace page (docs/curvature-tools.md §2): learn a model's prior precisions from the training
// data alone by maximising the Laplace marginal likelihood during training (Immer et al. 2021), with
// K-FAC-expand and K-FAC-reduce Laplace fits side by side from the same initial weights; then compare
// the MAP model, its Laplace predictive and a weight-decay grid on test data. The work runs as the
// worker's 'marglik' job; the settings live in the URL.
import { useCallback, useEffect, useId, useMemo } from 'react';
import { TASKS, type TaskId } from '../../../engine/lab/tasks.ts';
import type { ClassificationMetrics } from '../../../engine/laplace/calibration.ts';
import { MARGLIK_TASKS } from '../../../worker/jobs/marglik-job.ts';
import { ChartFigure, ChartTable } from '../../charts/ChartFigure.tsx';
import { useToolPageStart } from '../../tool-page/use-tool-page.ts';
import { usePlot } from '../../charts/use-plot.ts';
import { MessageList } from '../../components/Messages.tsx';
import {
  fitsTable,
  fitTimeFigure,
  fitTimeSummary,
  marglikFigure,
  marglikSummary,
  precisionFigure,
  reliabilityFigure,
  reliabilityTable,
  scalingFigure,
  scalingSummary,
  scalingTable,
  type ReliabilitySeries,
} from './laplace-figures.ts';
import { installLaplaceHook } from './laplace-hook.ts';
import { SETTING_LIMITS, useLaplacePage, type LaplaceSettings } from './laplace-store.ts';
import './laplace-page.css';

export function LaplacePage({ query }: { query: string }) {
  useToolPageStart(useLaplacePage, query);
  useEffect(installLaplaceHook, []);
  const messages = useLaplacePage((s) => s.messages);
  const urlErrors = useLaplacePage((s) => s.urlErrors);
  const dismiss = useLaplacePage((s) => s.dismissMessage);
  const result = useLaplacePage((s) => s.result);
  return (
    <div className="laplace-page">
      <div className="page-intro">
        <h2>Laplace and the marginal likelihood</h2>
        <p>
          How strongly should each layer’s weights be pulled towards zero? Instead of trying weight decays on held-out data, ask the
          training data: the <strong>marginal likelihood</strong> p(D | δ) = ∫ p(D | θ) p(θ | δ) dθ is the probability of the data under the
          model with a Gaussian prior of precision δ_l on layer l’s weights, averaged over all weights the prior allows. A prior that is too
          loose spreads its belief over weights that do not fit; one that is too tight cannot fit at all; the maximum balances the two
          (Occam’s razor in numbers). The <strong>Laplace approximation</strong> makes the integral computable: around the trained weights θ
          the posterior is a Gaussian with precision P_l = H_l + δ_l I per layer, where H is the curvature (the GGN) of −log p(D | θ), so
          log p(D | δ) ≈ log p(D | θ) − ½ [log det P − Σ_l n_l log δ_l + Σ_l δ_l ‖θ_l‖²].
        </p>
        <p>
          K-FAC makes log det P exact and cheap: with H_l ≈ G ⊗ A and the eigenvalues κ_i of G and μ_j of A, log det P_l = Σ_ij log(κ_i μ_j
          + δ_l). Training alternates (Immer et al. 2021): Adam on the loss plus the prior; every F epochs a Laplace fit on the training set
          and K Adam steps on log δ_l; the state with the best marginal likelihood is kept. <strong>Why reduce is faster</strong>: in a CNN
          or ViT each weight is reused at R positions. K-FAC-expand treats every position as an example, so its factors are sums of N·R
          outer products; K-FAC-reduce first averages the inputs and sums the gradients over the positions, so it needs only N — about R
          times less arithmetic in the factors, the part of a Laplace fit that grows with R. The rest of a fit (the forward and backward
          passes, the eigendecompositions) is the same for both, so the saving you see depends on how much of the fit the factors are. Both
          flavours start from the same initial weights and see the same batches.
        </p>
      </div>
      <MessageList
        messages={messages}
        urlErrors={urlErrors}
        onDismiss={dismiss}
        testId="laplace-messages"
        urlErrorsTestId="laplace-url-errors"
      />
      <SetupCard />
      <LiveCharts />
      {result && <Results />}
    </div>
  );
}

function NumberField(props: { label: string; field: keyof LaplaceSettings; disabled: boolean; help?: string }) {
  const id = useId();
  const value = useLaplacePage((s) => s.settings[props.field]) as number;
  const setSettings = useLaplacePage((s) => s.setSettings);
  const { min, max } = SETTING_LIMITS[props.field];
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type="number"
        inputMode="numeric"
        min={min}
        max={max}
        step={1}
        value={value}
        disabled={props.disabled}
        data-testid={`laplace-${props.field}`}
        aria-describedby={props.help ? `${id}-help` : undefined}
        onChange={(e) => {
          const v = Number(e.currentTarget.value);
          if (Number.isInteger(v) && v >= min && v <= max) setSettings({ [props.field]: v } as Partial<LaplaceSettings>);
        }}
      />
      {props.help && (
        <small id={`${id}-help`} className="hint">
          {props.help}
        </small>
      )}
    </div>
  );
}

function SetupCard() {
  const settings = useLaplacePage((s) => s.settings);
  const setSettings = useLaplacePage((s) => s.setSettings);
  const status = useLaplacePage((s) => s.status);
  const progress = useLaplacePage((s) => s.progress);
  const run = useLaplacePage((s) => s.run);
  const cancel = useLaplacePage((s) => s.cancel);
  const taskId = useId();
  const gridId = useId();
  const running = status === 'running';
  const fraction = progress && progress.total > 0 ? progress.done / progress.total : 0;
  return (
    <section className="card laplace-setup" aria-labelledby={`${taskId}-title`}>
      <h3 id={`${taskId}-title`}>Experiment</h3>
      <div className="laplace-fields">
        <div className="field">
          <label htmlFor={taskId}>Task</label>
          <select
            id={taskId}
            value={settings.task}
            disabled={running}
            data-testid="laplace-task"
            onChange={(e) => setSettings({ task: e.currentTarget.value as TaskId })}
          >
            {MARGLIK_TASKS.map((t) => (
              <option key={t} value={t}>
                {TASKS[t].title}
              </option>
            ))}
          </select>
          <small className="hint">{TASKS[settings.task].teaching.setting}</small>
        </div>
        <NumberField label="Epochs" field="epochs" disabled={running} />
        <NumberField label="Training examples" field="trainExamples" disabled={running} />
        <NumberField
          label="Test examples"
          field="testExamples"
          disabled={running}
          help="Held-out MNIST test images (the task's validation set)."
        />
        <NumberField label="Fit every F epochs" field="frequency" disabled={running} />
        <NumberField label="K: Adam steps on log δ per fit" field="hyperSteps" disabled={running} />
        <NumberField label="Seed (initial weights, batch order)" field="seed" disabled={running} />
        <NumberField
          label="Images per fit for time against R (0: skip)"
          field="scalingExamples"
          disabled={running}
          help="After training, times expand and reduce Laplace fits of a small CNN with global average pooling at R = 16, 64 and 256 positions on this device."
        />
        <div className="field checkbox">
          <input
            id={gridId}
            type="checkbox"
            checked={settings.grid}
            disabled={running}
            data-testid="laplace-grid"
            onChange={(e) => setSettings({ grid: e.currentTarget.checked })}
          />
          <label htmlFor={gridId}>Also run the weight-decay grid baseline (five trainings: weight decay 0, 1e-5, 1e-4, 1e-3, 1e-2)</label>
        </div>
      </div>
      <div className="laplace-actions">
        <button type="button" className="primary" disabled={running} onClick={run} data-testid="laplace-run">
          Run marglik training (expand, then reduce)
        </button>
        <button type="button" disabled={!running} onClick={cancel} data-testid="laplace-cancel">
          Cancel
        </button>
      </div>
      {(running || progress) && (
        <div className="laplace-progress" data-testid="laplace-progress">
          <div
            className="progress-bar"
            role="progressbar"
            aria-label="marglik run"
            aria-valuemin={0}
            aria-valuemax={progress?.total ?? 1}
            aria-valuenow={status === 'done' ? (progress?.total ?? 1) : (progress?.done ?? 0)}
          >
            <div className="progress-fill" style={{ width: `${Math.round((status === 'done' ? 1 : fraction) * 100)}%` }} />
          </div>
          <p aria-live="polite">
            {status === 'done'
              ? 'Done.'
              : status === 'cancelled'
                ? 'Cancelled.'
                : status === 'failed'
                  ? 'Failed (see the message above).'
                  : progress
                    ? `${progress.stage}: ${progress.done} / ${progress.total}`
                    : 'starting…'}
            {running && progress?.values?.loss !== undefined ? ` — training loss ${progress.values.loss.toFixed(3)}` : ''}
          </p>
        </div>
      )}
    </section>
  );
}

function LiveCharts() {
  const status = useLaplacePage((s) => s.status);
  // The figures mount with their plot divs (usePlot draws into a div that exists when it mounts).
  return status === null ? null : <LiveFigures />;
}

function LiveFigures() {
  const fits = useLaplacePage((s) => s.fits);
  const result = useLaplacePage((s) => s.result);
  const layers = useMemo(() => result?.runs[0]?.layers ?? fits.expand[0]?.precision.map((_, k) => `layer ${k}`) ?? [], [result, fits]);
  const marglik = usePlot(useCallback(() => marglikFigure(fits), [fits]));
  const precision = usePlot(useCallback(() => precisionFigure(fits, layers), [fits, layers]));
  const times = usePlot(useCallback(() => fitTimeFigure(fits), [fits]));
  return (
    <section className="laplace-live" aria-label="Training with the marginal likelihood">
      <ChartFigure
        id="laplace-marglik"
        title="Log marginal likelihood per Laplace fit"
        summary={marglikSummary(fits)}
        table={() => fitsTable(fits, layers, 'marglik')}
        plotRef={marglik.ref}
        canSave={marglik.ready}
        error={marglik.error}
      />
      <ChartFigure
        id="laplace-precision"
        title="Prior precision δ_l of each layer (log scale; expand solid, reduce dashed)"
        summary={
          fits.expand.length
            ? `${layers.length} layers; last δ (expand): ${fits.expand[fits.expand.length - 1].precision.map((d) => d.toPrecision(3)).join(', ')}.`
            : 'No Laplace fit yet.'
        }
        table={() => fitsTable(fits, layers, 'precision')}
        plotRef={precision.ref}
        canSave={precision.ready}
        error={precision.error}
      />
      <ChartFigure
        id="laplace-fit-time"
        title="Time per Laplace fit (K-FAC factors, eigendecompositions, loss)"
        note="The run's first fit also compiles the device's kernels (WebGPU), so compare the later epochs."
        summary={fitTimeSummary(fits)}
        table={() => fitsTable(fits, layers, 'time')}
        plotRef={times.ref}
        canSave={times.ready}
        error={times.error}
      />
    </section>
  );
}

function metricCells(m: ClassificationMetrics) {
  return (
    <>
      <td>{(m.accuracy * 100).toFixed(1)}%</td>
      <td>{m.nll.toFixed(3)}</td>
      <td>{m.ece.toFixed(3)}</td>
    </>
  );
}

function Results() {
  const result = useLaplacePage((s) => s.result)!;
  const exportJson = useLaplacePage((s) => s.exportJson);
  const [expand, reduce] = result.runs;
  const series: ReliabilitySeries[] = useMemo(
    () => [
      { label: 'MAP (marglik, expand)', bins: expand.test.map.bins },
      { label: 'Laplace (expand)', bins: expand.test.laplace.bins },
      { label: 'Laplace (reduce)', bins: reduce.test.laplace.bins },
      ...(result.grid ? [{ label: `weight-decay grid (${result.grid.chosen})`, bins: result.grid.test.bins }] : []),
    ],
    [expand, reduce, result.grid],
  );
  const reliability = usePlot(useCallback(() => reliabilityFigure(series), [series]));
  const grid = result.grid;
  return (
    <section className="card laplace-results" data-testid="laplace-results" aria-labelledby="laplace-results-title">
      <h3 id="laplace-results-title">On test data ({expand.test.map.examples} held-out images)</h3>
      <table className="laplace-metrics" data-testid="laplace-metrics">
        <caption>Accuracy, negative log-likelihood and expected calibration error (10 bins); lower NLL and ECE are better</caption>
        <thead>
          <tr>
            <th scope="col">model</th>
            <th scope="col">accuracy</th>
            <th scope="col">NLL</th>
            <th scope="col">ECE</th>
            <th scope="col">total time</th>
          </tr>
        </thead>
        <tbody>
          {result.runs.map((r) => (
            <tr key={`${r.approx}-map`}>
              <th scope="row">marglik ({r.approx}): MAP</th>
              {metricCells(r.test.map)}
              <td rowSpan={1}>{r.totalSeconds.toFixed(1)} s</td>
            </tr>
          ))}
          {result.runs.map((r) => (
            <tr key={`${r.approx}-laplace`}>
              <th scope="row">marglik ({r.approx}): Laplace predictive</th>
              {metricCells(r.test.laplace)}
              <td>—</td>
            </tr>
          ))}
          {grid && (
            <tr>
              <th scope="row">weight-decay grid: chosen {grid.chosen}</th>
              {metricCells(grid.test)}
              <td>{grid.totalSeconds.toFixed(1)} s</td>
            </tr>
          )}
        </tbody>
      </table>
      <p>
        Learned prior precisions δ_l (expand / reduce):{' '}
        {expand.layers.map((l, k) => `${l} ${expand.precision[k].toPrecision(3)} / ${reduce.precision[k].toPrecision(3)}`).join('; ')}. Best
        log marglik: expand {expand.best.terms.logMarglik.toFixed(1)} (epoch {expand.best.epoch}), reduce{' '}
        {reduce.best.terms.logMarglik.toFixed(1)} (epoch {reduce.best.epoch}). Mean time per Laplace fit: expand{' '}
        {expand.fitMsMean.toFixed(0)} ms, reduce {reduce.fitMsMean.toFixed(0)} ms.
      </p>
      {result.scaling && <ScalingFigure />}
      {grid ? (
        <p data-testid="laplace-grid-statement">
          The baseline trains the same initial model with Adam and L2 weight decay for each of {result.weightDecayGrid.join(', ')} on{' '}
          {grid.trainExamples} training images, picks the weight decay with the lowest NLL on {grid.validationExamples} held-out training
          images ({grid.chosen}) and reports that model: {grid.grid.length} trainings, {grid.totalSeconds.toFixed(1)} s in all, against{' '}
          {expand.totalSeconds.toFixed(1)} s (expand) and {reduce.totalSeconds.toFixed(1)} s (reduce) for one marglik training each, which
          used all {expand.trainExamples} training images and no validation data.
        </p>
      ) : (
        <p>The weight-decay grid baseline was not run (tick it above to compare).</p>
      )}
      <ChartFigure
        id="laplace-reliability"
        title="Reliability diagram: accuracy against confidence"
        summary={series.map((s) => s.label).join(', ')}
        table={() => reliabilityTable(series)}
        plotRef={reliability.ref}
        canSave={reliability.ready}
        error={reliability.error}
      />
      <details>
        <summary>Grid details</summary>
        {grid && (
          <ChartTable
            table={{
              caption: 'Weight-decay grid on the validation split',
              columns: ['weight decay', 'validation NLL', 'validation accuracy', 'seconds'],
              rows: grid.grid.map((g) => [
                String(g.weightDecay),
                g.validationNll.toFixed(3),
                (g.validationAccuracy * 100).toFixed(1) + '%',
                g.seconds.toFixed(1),
              ]),
            }}
          />
        )}
      </details>
      <p>
        Device: {result.device}.{' '}
        <button type="button" onClick={exportJson} data-testid="laplace-export">
          Download the results (JSON)
        </button>
      </p>
    </section>
  );
}

function ScalingFigure() {
  const rows = useLaplacePage((s) => s.result?.scaling ?? null)!;
  const plot = usePlot(useCallback(() => scalingFigure(rows), [rows]));
  return (
    <ChartFigure
      id="laplace-scaling"
      title="Time per Laplace fit as the weight-sharing size R grows (this device)"
      note="A CNN (conv 1→32→64 at full resolution, global average pooling) on MNIST pooled to 4×4, 8×8 and 16×16: R = 16, 64, 256 positions. The forward and backward passes and the eigendecompositions cost the same for both flavours; only the factor pass differs."
      summary={scalingSummary(rows)}
      table={() => scalingTable(rows)}
      plotRef={plot.ref}
      canSave={plot.ready}
      error={plot.error}
    />
  );
}
