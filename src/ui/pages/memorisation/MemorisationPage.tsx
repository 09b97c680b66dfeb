// The Memorisation page (docs/curvature-tools.md §4, after Merullo et al.): train (or load) a model
// that learned a rule and memorised exceptions, then remove the low-curvature Kronecker components
// of chosen layers and watch what it forgets. The worker's 'edit' job trains, fits K-FAC with the
// true Fisher and evaluates every ρ of the grid for the K-FAC edit, SVD at equal rank and the
// rectangle variant; dragging ρ reads that result. Settings live in the URL.
import { useCallback, useEffect, useId, useMemo, useState } from 'react';
import { EXPERIMENT_IDS, EXPERIMENTS, type ExperimentId } from '../../../engine/memorisation/experiments.ts';
import type { LayerDiagnostics } from '../../../engine/memorisation/sweep.ts';
import { ChartFigure, ChartTable } from '../../charts/ChartFigure.tsx';
import { formatPercent } from '../../charts/data-table.ts';
import { usePlot } from '../../charts/use-plot.ts';
import { loadPlotly } from '../../charts/plotly-loader.ts';
import { MessageList } from '../../components/Messages.tsx';
import { describeCheckpoint } from '../../checkpoints/checkpoint-library.ts';
import { CheckpointCard } from '../../tool-page/CheckpointCard.tsx';
import { JobProgressBar } from '../../tool-page/page-parts.tsx';
import { MAX_TRAIN_STEPS } from '../../../worker/jobs/limits.ts';
import {
  accuracyLegend,
  accuracySummary,
  accuracyTable,
  buildAccuracyFigure,
  buildPairsFigure,
  buildSpectrumFigure,
  findings,
  METHOD_STYLES,
  METRICS,
  pairsSummary,
  rowAt,
  spectrumTable,
} from './memorisation-figures.ts';
import { useMemorisationPage } from './memorisation-store.ts';
import '../../tool-page/tool-page.css';
import './memorisation-page.css';

export function MemorisationPage({ query }: { query: string }) {
  const init = useMemorisationPage((s) => s.init);
  useEffect(() => init(query), [init, query]);
  useEffect(() => {
    loadPlotly().catch(() => {
      // The figures show the load failure themselves.
    });
  }, []);
  const result = useMemorisationPage((s) => s.result);
  return (
    <div className="tool-page memorisation-page">
      <div className="page-intro">
        <h2>Memorisation and rules in the curvature spectrum</h2>
        <p>
          Merullo et al. (“From Memorization to Reasoning in the Spectrum of Loss Curvature”) find that what a network memorises lives in
          the directions of its weights where the loss is flat: remove a layer’s low-curvature Kronecker components (K-FAC’s eigenbasis,
          curvature κᵢ μⱼ) and the model stops reciting its memorised examples while keeping most of its general ability — though
          arithmetic-like skills suffer too. Here you can test that on two small models of the lab that learned a rule <em>and</em>{' '}
          memorised exceptions to it.
        </p>
        <details className="explain">
          <summary>The edit, the baselines and what the lab measured</summary>
          <ul>
            <li>
              <strong>K-FAC edit (pairwise):</strong> write a layer’s weight W in the eigenbasis of its factors, C = Q_Gᵀ W Q_A; rank the
              components (i, j) by κᵢ μⱼ, keep the fewest largest ones whose curvature adds up to a share ρ of the total (Σκ)(Σμ), and set
              the rest of C to zero. ρ = 1 is the unedited model. K-FAC is fitted over the training set with labels sampled from the model
              (the true Fisher); biases are never edited.
            </li>
            <li>
              <strong>Rectangle variant:</strong> keep the top eigenvectors of G and of A that each reach ρ of their own mass.
            </li>
            <li>
              <strong>SVD at equal rank:</strong> the best approximation of W with as many singular directions as the K-FAC edit’s result
              has (its rank): the same budget, but chosen by the weight’s size instead of the loss’s curvature.
            </li>
            <li>
              <strong>Measured here</strong> (<code>npm run bench -- edit</code>, WASM, 3 seeds; README “Memorisation editing”): the
              curvature of these small models is so concentrated that every ρ ≤ 0.99 wrecks them; the useful range is ρ ≈ 0.999–0.9999,
              hence the grid’s fine end. On the noisy-label CNN the K-FAC edit of fc1 and fc2 at ρ = 0.9995–0.9999 (the best ρ depends on
              the seed) cuts memorised-label accuracy from 100% to 28–45% while test accuracy stays within 2 points, on every seed; SVD at
              equal rank and the rectangle variant do that on none. On modular arithmetic no method removes the exceptions before held-out
              accuracy falls. The text under the charts states what your own run shows.
            </li>
          </ul>
        </details>
      </div>
      <PageMessages />
      <div className="memorisation-layout">
        <SetupCard />
        <ModelCard />
      </div>
      {result && <ResultView />}
    </div>
  );
}

function PageMessages() {
  const messages = useMemorisationPage((s) => s.messages);
  const urlErrors = useMemorisationPage((s) => s.urlErrors);
  const dismiss = useMemorisationPage((s) => s.dismissMessage);
  return (
    <MessageList
      messages={messages}
      urlErrors={urlErrors}
      onDismiss={dismiss}
      testId="memorisation-messages"
      urlErrorsTestId="memorisation-url-errors"
    />
  );
}

function SetupCard() {
  const settings = useMemorisationPage((s) => s.settings);
  const setSettings = useMemorisationPage((s) => s.setSettings);
  const setExperiment = useMemorisationPage((s) => s.setExperiment);
  const toggleLayer = useMemorisationPage((s) => s.toggleLayer);
  const job = useMemorisationPage((s) => s.job);
  const checkpoint = useMemorisationPage((s) => s.checkpoint);
  const run = useMemorisationPage((s) => s.run);
  const cancel = useMemorisationPage((s) => s.cancel);
  const busy = job?.status === 'running';
  const experimentId = useId();
  const stepsId = useId();
  const seedId = useId();
  const def = EXPERIMENTS[settings.experiment];
  return (
    <section className="card memorisation-setup" aria-labelledby="memorisation-setup-heading">
      <h3 id="memorisation-setup-heading">Experiment</h3>
      <div className="field">
        <label htmlFor={experimentId}>Experiment</label>
        <select
          id={experimentId}
          value={settings.experiment}
          disabled={busy}
          data-testid="edit-experiment"
          onChange={(e) => setExperiment(e.currentTarget.value as ExperimentId)}
        >
          {EXPERIMENT_IDS.map((id) => (
            <option key={id} value={id}>
              {EXPERIMENTS[id].title}
            </option>
          ))}
        </select>
        <p className="field-help">{def.description}</p>
      </div>
      <fieldset className="field" disabled={busy}>
        <legend>Layers to edit</legend>
        <div className="layer-choices">
          {def.layerNames.map((name, i) => (
            <label key={name} className="checkbox">
              <input
                type="checkbox"
                checked={settings.layers.includes(i)}
                data-testid={`edit-layer-${i}`}
                onChange={() => toggleLayer(i)}
              />
              {name}
            </label>
          ))}
        </div>
      </fieldset>
      <fieldset className="field" disabled={busy}>
        <legend>Model</legend>
        <label className="radio">
          <input
            type="radio"
            name="edit-model"
            checked={settings.model === 'train'}
            data-testid="edit-model-train"
            onChange={() => setSettings({ model: 'train' })}
          />
          Train it here ({def.training.optimizer}, batch {def.training.batchSize})
        </label>
        <label className="radio">
          <input
            type="radio"
            name="edit-model"
            checked={settings.model === 'checkpoint'}
            data-testid="edit-model-checkpoint"
            onChange={() => setSettings({ model: 'checkpoint' })}
          />
          A checkpoint trained earlier (kept in this browser or a file)
        </label>
      </fieldset>
      {settings.model === 'train' && (
        <div className="field-row">
          <div className="field">
            <label htmlFor={stepsId}>Training steps</label>
            <input
              id={stepsId}
              type="number"
              min={1}
              max={MAX_TRAIN_STEPS}
              value={settings.steps}
              disabled={busy}
              data-testid="edit-steps"
              onChange={(e) => {
                const v = Number(e.currentTarget.value);
                if (Number.isInteger(v) && v >= 1 && v <= MAX_TRAIN_STEPS) setSettings({ steps: v });
              }}
            />
            <p className="field-help">
              The recipe fits the exceptions in {def.training.steps} steps; fewer steps give a model that has not memorised them yet.
            </p>
          </div>
          <div className="field">
            <label htmlFor={seedId}>Seed</label>
            <input
              id={seedId}
              type="number"
              min={0}
              value={settings.seed}
              disabled={busy}
              onChange={(e) => {
                const v = Number(e.currentTarget.value);
                if (Number.isInteger(v) && v >= 0) setSettings({ seed: v });
              }}
            />
          </div>
        </div>
      )}
      {/* Keyed by the grid: a grid from elsewhere (a link, an experiment change) resets the text. */}
      <RhoGridField key={settings.rhos.join(',')} disabled={busy} />
      <div className="button-row">
        <button
          type="button"
          className="primary"
          data-testid="edit-run"
          disabled={busy || (settings.model === 'checkpoint' && !checkpoint)}
          onClick={() => void run()}
        >
          {settings.model === 'train' ? 'Train, then edit' : 'Edit this checkpoint'}
        </button>
        <button type="button" disabled={!busy} data-testid="edit-cancel" onClick={cancel}>
          Cancel
        </button>
      </div>
      {job && <JobProgressBar job={job} label="Train, fit, edit" ariaLabel="Edit job progress" testId="edit-progress" />}
    </section>
  );
}

/** The ρ grid as editable text: applied when it parses (values in (0, 1], ρ = 1 always added). */
function RhoGridField({ disabled }: { disabled: boolean }) {
  const rhos = useMemorisationPage((s) => s.settings.rhos);
  const setSettings = useMemorisationPage((s) => s.setSettings);
  const [text, setText] = useState(rhos.join(', '));
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  const apply = () => {
    const values = text
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '')
      .map(Number);
    if (values.length === 0 || values.length > 40 || values.some((x) => !(x > 0 && x <= 1))) {
      setError('Expected 1 to 40 numbers in (0, 1], separated by commas.');
      return;
    }
    setError(null);
    setSettings({ rhos: [...new Set([...values, 1])].sort((a, b) => a - b) });
  };
  return (
    <div className="field">
      <label htmlFor={id}>ρ grid (keep-mass values the job evaluates; ρ = 1 is the unedited model)</label>
      <input
        id={id}
        type="text"
        value={text}
        disabled={disabled}
        data-testid="edit-rhos"
        aria-invalid={error !== null}
        aria-describedby={`${id}-help`}
        onChange={(e) => setText(e.currentTarget.value)}
        onBlur={apply}
        onKeyDown={(e) => {
          if (e.key === 'Enter') apply();
        }}
      />
      <p className="field-help" id={`${id}-help`} role={error ? 'alert' : undefined}>
        {error ?? 'These models keep almost all of their curvature in a few components: the interesting edits are at ρ ≈ 0.999–0.9999.'}
      </p>
    </div>
  );
}

function ModelCard() {
  const checkpoint = useMemorisationPage((s) => s.checkpoint);
  const stored = useMemorisationPage((s) => s.stored);
  const keep = useMemorisationPage((s) => s.keepInBrowser);
  const download = useMemorisationPage((s) => s.downloadModel);
  const openStored = useMemorisationPage((s) => s.openStored);
  const forget = useMemorisationPage((s) => s.forgetStored);
  const upload = useMemorisationPage((s) => s.upload);
  return (
    <CheckpointCard
      prefix="memorisation"
      current={
        checkpoint && (
          <>
            Current model: <strong>{describeCheckpoint(checkpoint.summary)}</strong>, {checkpoint.from}.
          </>
        )
      }
      empty="No model yet: train one here (it is kept as a checkpoint of the base task), or open one trained earlier."
      stored={stored}
      onKeep={keep}
      onDownload={download}
      onUpload={upload}
      onOpenStored={openStored}
      onForget={forget}
      testIds={{ current: 'edit-checkpoint' }}
    />
  );
}

function ResultView() {
  const result = useMemorisationPage((s) => s.result)!;
  const rho = useMemorisationPage((s) => s.settings.rho);
  const setSettings = useMemorisationPage((s) => s.setSettings);
  const exportJson = useMemorisationPage((s) => s.exportJson);
  const { sweep } = result;
  const rhos = sweep.rhos;
  const index = Math.max(0, rhos.indexOf(rho));
  const shown = rhos[index];
  const sliderId = useId();
  const [layerIndex, setLayerIndex] = useState(0);
  const layer = sweep.layers[Math.min(layerIndex, sweep.layers.length - 1)];
  const model =
    result.model.kind === 'train'
      ? `the model trained here (${result.model.steps} steps, seed ${result.model.seed})`
      : `the checkpoint after ${result.model.steps} steps${result.model.origin ? ` of ${result.model.origin}` : ''}`;
  return (
    <section className="card memorisation-result" aria-labelledby="memorisation-result-heading" data-testid="edit-result">
      <h3 id="memorisation-result-heading">Editing {model}</h3>
      <p className="muted">
        {EXPERIMENTS[result.experiment].title}; edited {sweep.layers.map((l) => `${l.name} (${l.dOut} × ${l.dIn})`).join(', ')}; on{' '}
        {result.device}. K-FAC fit {(sweep.fitMs / 1000).toFixed(1)} s, {sweep.rows.length} edits evaluated in{' '}
        {(sweep.editMs / 1000).toFixed(1)} s.
      </p>
      <div className="field rho-slider">
        <label htmlFor={sliderId}>
          Keep-mass ρ = <strong data-testid="edit-rho">{shown}</strong>
        </label>
        <input
          id={sliderId}
          type="range"
          min={0}
          max={rhos.length - 1}
          step={1}
          value={index}
          aria-valuetext={`ρ = ${shown}`}
          data-testid="edit-rho-slider"
          onChange={(e) => setSettings({ rho: rhos[Number(e.currentTarget.value)] })}
        />
      </div>
      <table className="accuracy-readout" data-testid="edit-readout">
        <caption>Accuracies at ρ = {shown}</caption>
        <thead>
          <tr>
            <th scope="col">method</th>
            <th scope="col">kept rank</th>
            {METRICS.map((m) => (
              <th key={m.key} scope="col">
                {m.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {(['kfac', 'svd', 'rectangle'] as const).map((method) => {
            const row = rowAt(sweep, method, shown);
            return row ? (
              <tr key={method} data-testid={`readout-${method}`}>
                <th scope="row">{METHOD_STYLES[method].label}</th>
                <td>{row.keptRank}</td>
                {METRICS.map((m) => (
                  <td key={m.key} data-metric={m.key}>
                    {formatPercent(row[m.key])}
                  </td>
                ))}
              </tr>
            ) : null;
          })}
        </tbody>
      </table>
      <AccuracyFigure rho={shown} />
      <p className="findings" data-testid="edit-findings">
        {findings(sweep)}
      </p>
      {layer && (
        <>
          <div className="field">
            <label htmlFor={`${sliderId}-layer`}>Layer</label>
            <select
              id={`${sliderId}-layer`}
              value={sweep.layers.indexOf(layer)}
              onChange={(e) => setLayerIndex(Number(e.currentTarget.value))}
            >
              {sweep.layers.map((l, k) => (
                <option key={l.name} value={k}>
                  {l.name} ({l.dOut} × {l.dIn})
                </option>
              ))}
            </select>
          </div>
          <div className="layer-figures">
            <PairsFigure layer={layer} rho={shown} />
            <SpectrumFigure layer={layer} rho={shown} />
          </div>
          <p className="muted">
            Per curvature band (the pairs the edit keeps up to each ρ of the grid, then those it removes at every ρ &lt; 1): the band’s
            share of the weight’s energy ‖W‖², and how strongly it drives the layer’s output for memorised and for clean training examples
            (mean ‖(C ⊙ M_band) Q_Aᵀ a‖² over the layer’s inputs a). If memorised examples lived in the low-curvature bands, their ratio
            would rise in the last rows.
          </p>
          <ChartTable table={spectrumTable(layer)} testId="edit-bands" />
        </>
      )}
      <div className="button-row">
        <button type="button" data-testid="edit-export" onClick={exportJson}>
          Export results (JSON)
        </button>
      </div>
    </section>
  );
}

function AccuracyFigure({ rho }: { rho: number }) {
  const sweep = useMemorisationPage((s) => s.result!.sweep);
  const plot = usePlot(useCallback(() => buildAccuracyFigure(sweep, rho), [sweep, rho]));
  const legend = useMemo(() => accuracyLegend(), []);
  return (
    <ChartFigure
      id="edit-accuracy"
      title="Accuracy against ρ"
      note="K-FAC edit solid, SVD at equal rank dashed, rectangle dotted; the dotted vertical line is the slider’s ρ."
      summary={accuracySummary(sweep, rho)}
      table={() => accuracyTable(sweep)}
      legend={legend}
      plotRef={plot.ref}
      canSave={plot.ready}
      error={plot.error}
    />
  );
}

function PairsFigure({ layer, rho }: { layer: LayerDiagnostics; rho: number }) {
  const plot = usePlot(useCallback(() => buildPairsFigure(layer, rho), [layer, rho]));
  return (
    <ChartFigure
      id="edit-pairs"
      title={`Kept (blue) and removed (orange) components, ${layer.name}`}
      summary={pairsSummary(layer, rho)}
      table={() => spectrumTable(layer)}
      plotRef={plot.ref}
      canSave={plot.ready}
      error={plot.error}
      plotClassName="chart-plot--square"
    />
  );
}

function SpectrumFigure({ layer, rho }: { layer: LayerDiagnostics; rho: number }) {
  const plot = usePlot(useCallback(() => buildSpectrumFigure(layer, rho), [layer, rho]));
  return (
    <ChartFigure
      id="edit-spectrum"
      title={`Curvature spectrum κᵢ μⱼ with the cut, ${layer.name}`}
      summary={pairsSummary(layer, rho)}
      table={() => spectrumTable(layer)}
      plotRef={plot.ref}
      canSave={plot.ready}
      error={plot.error}
    />
  );
}
