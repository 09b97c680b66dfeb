// The diffusion section of the Influence page (docs/curvature-tools.md §3, diffusion models): train
// a small denoising diffusion model on a 2-D point cloud, generate samples, and colour every training
// point by its influence on a chosen sample — under identity, K-FAC or EK-FAC — with the ranked
// lists, the training curve and a JSON export. The worker's 'diffusion' job does the work.
import { useCallback, useId, useMemo } from 'react';
import { ChartFigure, ChartTable } from '../../../charts/ChartFigure.tsx';
import { formatValue } from '../../../charts/data-table.ts';
import { usePlot } from '../../../charts/use-plot.ts';
import { JobProgressBar } from '../../../tool-page/page-parts.tsx';
import { DIFFUSION_METHODS_FOR_UI, type DiffusionMethodId } from './methods.ts';
import {
  buildInfluenceScatter,
  buildLossFigure,
  lossSummary,
  lossTable,
  METHOD_LABELS,
  ranked,
  scatterSummary,
  scatterTable,
  scoresFor,
  topOverlap,
} from './diffusion-figures.ts';
import { reusesWeights, useDiffusion, type DiffusionSettings } from './diffusion-store.ts';
import './diffusion.css';

const TOP_K = 8;

export function DiffusionInfluence({ backendLabel }: { backendLabel?: string }) {
  const result = useDiffusion((s) => s.result);
  return (
    <div className="diffusion-influence" data-testid="diffusion-section">
      <p>
        A denoising diffusion model learns to turn noise into points like its training points. Its loss for one point is the error of
        predicting the noise ε that was added at a random step t, averaged over many (t, ε) draws. Train the small model below, let it
        generate samples, and pick one: every training point is coloured by its <strong>influence</strong> on that sample’s loss —{' '}
        <span className="diffusion-helpful">blue</span> points helped the model produce it (removing them would raise its loss),{' '}
        <span className="diffusion-harmful">orange</span> points worked against it.
        {backendLabel ? ` Runs in the lab’s worker on ${backendLabel}.` : ''}
      </p>
      <div className="diffusion-layout">
        <DiffusionSetupCard />
        {result ? <DiffusionResultView /> : null}
      </div>
      <DiffusionExplainer />
    </div>
  );
}

function NumberInput(props: {
  label: string;
  value: number;
  min: number;
  max: number;
  step?: number;
  integer?: boolean;
  disabled: boolean;
  testId: string;
  help?: string;
  onChange: (v: number) => void;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        type="number"
        min={props.min}
        max={props.max}
        step={props.step ?? 1}
        value={props.value}
        disabled={props.disabled}
        data-testid={props.testId}
        aria-describedby={props.help ? `${id}-help` : undefined}
        onChange={(e) => {
          const v = Number(e.currentTarget.value);
          if (Number.isFinite(v) && v >= props.min && v <= props.max && (!props.integer || Number.isInteger(v))) props.onChange(v);
        }}
      />
      {props.help && (
        <p className="field-help" id={`${id}-help`}>
          {props.help}
        </p>
      )}
    </div>
  );
}

function DiffusionSetupCard() {
  const settings = useDiffusion((s) => s.settings);
  const setSettings = useDiffusion((s) => s.setSettings);
  const job = useDiffusion((s) => s.job);
  const run = useDiffusion((s) => s.run);
  const cancel = useDiffusion((s) => s.cancel);
  const reuse = useDiffusion(reusesWeights);
  const busy = job?.status === 'running';
  const cloudId = useId();
  const set = (partial: Partial<DiffusionSettings>) => setSettings(partial);
  return (
    <section className="card diffusion-setup" aria-labelledby="diffusion-setup-heading">
      <h4 id="diffusion-setup-heading">Data, model and measurement</h4>
      <div className="field">
        <label htmlFor={cloudId}>Training points</label>
        <select
          id={cloudId}
          value={settings.cloud}
          disabled={busy}
          data-testid="diffusion-cloud"
          onChange={(e) => set({ cloud: e.currentTarget.value as DiffusionSettings['cloud'] })}
        >
          <option value="spirals">two spirals</option>
          <option value="checkerboard">checkerboard</option>
        </select>
      </div>
      <NumberInput
        label="Number of training points"
        value={settings.points}
        min={16}
        max={2048}
        step={2}
        integer
        disabled={busy}
        testId="diffusion-points"
        onChange={(points) => set({ points: settings.cloud === 'spirals' ? points - (points % 2) : points })}
      />
      <NumberInput
        label="Training steps (Adam, batches of 64)"
        value={settings.trainSteps}
        min={1}
        max={5000}
        integer
        disabled={busy}
        testId="diffusion-steps"
        onChange={(trainSteps) => set({ trainSteps })}
        help="The denoiser is an MLP (two hidden layers of 64, ReLU) on the noisy point and a sinusoidal embedding of t; T = 100 diffusion steps. On a software WebGPU adapter pick the fast CPU (WebAssembly) backend: this small model trains in seconds there."
      />
      <NumberInput
        label="Seed"
        value={settings.seed}
        min={0}
        max={2 ** 31 - 1}
        integer
        disabled={busy}
        testId="diffusion-seed"
        onChange={(seed) => set({ seed })}
      />
      <NumberInput
        label="Sampling seed"
        value={settings.sampleSeed}
        min={0}
        max={2 ** 31 - 1}
        integer
        disabled={busy}
        testId="diffusion-sample-seed"
        onChange={(sampleSeed) => set({ sampleSeed })}
      />
      <NumberInput
        label="Samples to attribute"
        value={settings.queries}
        min={1}
        max={64}
        integer
        disabled={busy}
        testId="diffusion-queries"
        onChange={(queries) => set({ queries })}
      />
      <fieldset className="field" disabled={busy}>
        <legend>Measure the sample by</legend>
        <label className="radio">
          <input
            type="radio"
            name="diffusion-measurement"
            checked={settings.measurement === 'loss'}
            data-testid="diffusion-measurement-loss"
            onChange={() => set({ measurement: 'loss' })}
          />
          its diffusion loss (the training loss at the sample)
        </label>
        <label className="radio">
          <input
            type="radio"
            name="diffusion-measurement"
            checked={settings.measurement === 'elbo'}
            data-testid="diffusion-measurement-elbo"
            onChange={() => set({ measurement: 'elbo' })}
          />
          its ELBO estimate (each step weighted as in the likelihood bound)
        </label>
      </fieldset>
      <NumberInput
        label="Damping λ (relative to K-FAC’s mean eigenvalue)"
        value={settings.relativeDamping}
        min={1e-6}
        max={1e3}
        step={0.01}
        disabled={busy}
        testId="diffusion-damping"
        onChange={(relativeDamping) => set({ relativeDamping })}
        help="Larger λ pulls every method towards the plain gradient dot product."
      />
      <NumberInput
        label="(t, ε) draws per training point"
        value={settings.trainDraws}
        min={1}
        max={256}
        integer
        disabled={busy}
        testId="diffusion-draws"
        onChange={(trainDraws) => set({ trainDraws })}
        help="Each point’s loss and gradient average over this many fixed draws; more draws give steadier scores (the benchmark uses 64) and a slower K-FAC fit."
      />
      <div className="button-row">
        <button type="button" className="primary" data-testid="diffusion-run" disabled={busy} onClick={() => void run()}>
          {reuse ? 'Sample and attribute again' : 'Train, sample and attribute'}
        </button>
        {reuse && (
          <button type="button" data-testid="diffusion-retrain" disabled={busy} onClick={() => void run({ retrain: true })}>
            Retrain
          </button>
        )}
        <button type="button" data-testid="diffusion-cancel" disabled={!busy} onClick={cancel}>
          Cancel
        </button>
      </div>
      {job && (
        <JobProgressBar job={job} label="Diffusion model" testId="diffusion-progress">
          {job.status === 'failed' && (
            <p role="alert" className="diffusion-error" data-testid="diffusion-error">
              {job.error}
            </p>
          )}
        </JobProgressBar>
      )}
    </section>
  );
}

function DiffusionResultView() {
  const result = useDiffusion((s) => s.result)!;
  const method = useDiffusion((s) => s.method);
  const query = useDiffusion((s) => s.query);
  const setMethod = useDiffusion((s) => s.setMethod);
  const setQuery = useDiffusion((s) => s.setQuery);
  const exportJson = useDiffusion((s) => s.exportJson);
  const queryId = useId();
  const scatter = usePlot(useCallback(() => buildInfluenceScatter(result, method, query), [result, method, query]));
  const loss = usePlot(useCallback(() => buildLossFigure(result), [result]));
  const scores = scoresFor(result, method, query);
  const lists = useMemo(() => (scores ? ranked(result, scores, TOP_K) : null), [result, scores]);
  const available = result.influence.methods.map((m) => m.method);
  const timing = result.influence.methods.find((m) => m.method === method);
  return (
    <section className="card diffusion-result" aria-labelledby="diffusion-result-heading" data-testid="diffusion-result">
      <h4 id="diffusion-result-heading">Which training points made this sample?</h4>
      <p>
        {result.points.length / 2} training points ({result.setup.cloud}), {result.samples.length / 2} generated samples, the first{' '}
        {result.queries} attributed; on {result.device}. Sample loss over {result.influence.queryDraws} fixed (t, ε) draws, training points
        over {result.influence.trainDraws} each; λ = {formatValue(result.influence.damping)}.
      </p>
      <div className="diffusion-controls">
        <fieldset className="field">
          <legend>Method</legend>
          {DIFFUSION_METHODS_FOR_UI.filter((m: DiffusionMethodId) => available.includes(m)).map((m) => (
            <label key={m} className="radio">
              <input
                type="radio"
                name="diffusion-method"
                checked={method === m}
                data-testid={`diffusion-method-${m}`}
                onChange={() => setMethod(m)}
              />
              {METHOD_LABELS[m]}
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor={queryId}>Sample</label>
          <select id={queryId} value={query} data-testid="diffusion-query" onChange={(e) => setQuery(Number(e.currentTarget.value))}>
            {Array.from({ length: result.queries }, (_, q) => (
              <option key={q} value={q}>
                {`sample ${q + 1} at (${result.samples[2 * q].toFixed(2)}, ${result.samples[2 * q + 1].toFixed(2)}), loss ${formatValue(result.influence.queryLoss[q])}`}
              </option>
            ))}
          </select>
        </div>
        <div className="button-row">
          <button type="button" data-testid="diffusion-export" onClick={exportJson}>
            Export JSON
          </button>
        </div>
      </div>
      <ChartFigure
        id="diffusion-scatter"
        title="Training points coloured by influence on the chosen sample"
        note="Blue helped, orange hurt, grey barely mattered; the colour scale is symmetric around 0. Grey dots: all generated samples; circles: the attributed ones; star: the chosen one."
        summary={scatterSummary(result, method, query)}
        table={() => scatterTable(result, method, query)}
        plotRef={scatter.ref}
        canSave={scatter.ready}
        error={scatter.error}
        plotClassName="chart-plot--square"
      />
      {timing && (
        <p className="muted" data-testid="diffusion-timing">
          {METHOD_LABELS[method]}: curvature fit {timing.fitSeconds.toFixed(2)} s, scoring {result.points.length / 2} points for{' '}
          {result.queries} samples {timing.scoreSeconds.toFixed(2)} s.
        </p>
      )}
      {lists && (
        <div className="diffusion-lists">
          <RankedTable title="Most helpful training points" rows={lists.helpful} testId="diffusion-helpful" />
          <RankedTable title="Most harmful training points" rows={lists.harmful} testId="diffusion-harmful" />
        </div>
      )}
      <MethodAgreement />
      {result.losses.length > 0 && (
        <ChartFigure
          id="diffusion-loss"
          title="Training loss"
          summary={lossSummary(result)}
          table={() => lossTable(result)}
          plotRef={loss.ref}
          canSave={loss.ready}
          error={loss.error}
        />
      )}
    </section>
  );
}

function RankedTable({
  title,
  rows,
  testId,
}: {
  title: string;
  rows: { index: number; x: number; y: number; score: number }[];
  testId: string;
}) {
  return (
    <ChartTable
      testId={testId}
      table={{
        caption: title,
        columns: ['point', 'x₁', 'x₂', 'influence'],
        rows: rows.map((r) => [String(r.index), r.x.toFixed(2), r.y.toFixed(2), formatValue(r.score)]),
      }}
    />
  );
}

function MethodAgreement() {
  const result = useDiffusion((s) => s.result)!;
  const query = useDiffusion((s) => s.query);
  const methods = result.influence.methods.map((m) => m.method);
  const pairs: [DiffusionMethodId, DiffusionMethodId][] = [];
  for (let i = 0; i < methods.length; i++) for (let j = i + 1; j < methods.length; j++) pairs.push([methods[i], methods[j]]);
  if (pairs.length === 0) return null;
  return (
    <p className="muted" data-testid="diffusion-agreement">
      Agreement on the {TOP_K} most helpful points of sample {query + 1}:{' '}
      {pairs
        .map(
          ([a, b]) =>
            `${METHOD_LABELS[a]} vs ${METHOD_LABELS[b]} ${Math.round(100 * topOverlap(scoresFor(result, a, query)!, scoresFor(result, b, query)!, TOP_K))}%`,
        )
        .join('; ')}
      .
    </p>
  );
}

function DiffusionExplainer() {
  return (
    <details className="explain">
      <summary>What the influence of a training point on a generated sample means</summary>
      <ul>
        <li>
          The score is ∇m(sample)ᵀ (H + λI)⁻¹ ∇ℓ(point): how much the sample’s loss m would rise if the training point were removed and the
          model retrained, to first order around the trained weights. Positive (blue): the point helped produce the sample.
        </li>
        <li>
          <strong>H</strong> is the curvature (GGN) of the training loss. <strong>Identity</strong> ignores it (a plain gradient dot
          product); <strong>K-FAC</strong> approximates each layer’s block by a Kronecker product, fitted here over the (t, ε) draws of
          every training point — each draw is one loss term, so it is K-FAC-expand (docs/kfac.md §2); <strong>EK-FAC</strong> keeps K-FAC’s
          eigenvectors and refits the eigenvalues to the data.
        </li>
        <li>
          Measured by the diffusion loss, nearby training points usually help; measured by the ELBO estimate, the small-t steps (fine
          detail) weigh much more, so the picture can change. Both are estimates over a fixed set of random draws.
        </li>
        <li>
          Caveats: influence functions are a local, linear approximation; the model is not trained to convergence, training is noisy, and
          the scores predict the effect of removing points only roughly. The benchmark (npm run bench -- influence) measures how well they
          predict retraining on random halves of the data (the LDS).
        </li>
      </ul>
    </details>
  );
}
