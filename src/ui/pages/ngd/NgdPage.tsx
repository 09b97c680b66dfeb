// The NGD page (docs/curvature-tools.md §7): natural gradient on a wide two-layer ReLU net (only the
// first layer trained, the head fixed at ±1/√m). Exact NGD, GD at its largest stable step and K-FAC
// on the first layer run from the same weights at several widths in one 'ngd' worker job; the page
// shows the residual per step against each method's predicted line, two outputs' trajectories, λ₀
// of the Gram matrix, and a width slider along which NGD's per-step ratio approaches 1 − η.
import { useId, useMemo } from 'react';
import { ChartTable } from '../../charts/ChartFigure.tsx';
import { useToolPageStart } from '../../tool-page/use-tool-page.ts';
import { MessageList } from '../../components/Messages.tsx';
import type { NgdJobResult } from '../../../worker/jobs/ngd-job.ts';
import { Figure, JobProgressBar, NumberField } from '../../tool-page/page-parts.tsx';
import {
  buildRatioFigure,
  buildResidualFigure,
  buildTrajectoryFigure,
  formatLambda0,
  meanRatio,
  methodLegend,
  residualSummary,
  residualTable,
  trajectoryTable,
  widthTable,
} from './ngd-figures.ts';
import { DATASET_LABELS, NGD_PAGE_DATASETS, useNgdPage, type NgdPageDataset } from './ngd-store.ts';
import '../../tool-page/tool-page.css';
import '../curvature/curvature-page.css';
import '../thermodynamic/tool-pages.css';

declare global {
  interface Window {
    /** The NGD page's state for the e2e tests (e2e/ngd.spec.ts). */
    __ngd?: { readonly state: ReturnType<typeof useNgdPage.getState> };
  }
}
window.__ngd = {
  get state() {
    return useNgdPage.getState();
  },
};

export function NgdPage({ query }: { query: string }) {
  useToolPageStart(useNgdPage, query);
  const result = useNgdPage((s) => s.result);
  const messages = useNgdPage((s) => s.messages);
  const urlErrors = useNgdPage((s) => s.urlErrors);
  const dismiss = useNgdPage((s) => s.dismissMessage);
  return (
    <div className="tool-page curvature-page ngd-page">
      <div className="page-intro">
        <h2>Natural gradient on wide networks</h2>
        <p>
          A two-layer ReLU net <code>f(x) = (1/√m) Σ_r a_r relu(w_rᵀ x)</code> with the signs a_r = ±1 fixed and only the first layer
          trained, on squared loss. Zhang, Martens and Grosse (2019) proved that, once the width m is large enough, exact natural gradient
          shrinks the residual by exactly <strong>1 − η</strong> every step — however badly conditioned the problem is — while gradient
          descent’s rate depends on the smallest eigenvalue λ₀ of the Gram matrix. Run it and watch.
        </p>
      </div>
      <MessageList messages={messages} urlErrors={urlErrors} onDismiss={dismiss} testId="ngd-messages" urlErrorsTestId="ngd-url-errors" />
      <SetupCard />
      {result && <ResultView result={result} />}
      <Explanation />
    </div>
  );
}

function SetupCard() {
  const settings = useNgdPage((s) => s.settings);
  const setSettings = useNgdPage((s) => s.setSettings);
  const job = useNgdPage((s) => s.job);
  const run = useNgdPage((s) => s.run);
  const cancel = useNgdPage((s) => s.cancel);
  const busy = job?.status === 'running';
  const datasetId = useId();
  const widthsId = useId();
  const loadedFromUrl = useNgdPage((s) => s.loadedFromUrl);
  return (
    <section className="card curvature-setup" aria-labelledby="ngd-setup-heading">
      <h3 id="ngd-setup-heading">Experiment</h3>
      <div className="field">
        <label htmlFor={datasetId}>Data</label>
        <select
          id={datasetId}
          value={settings.dataset}
          disabled={busy}
          data-testid="ngd-dataset"
          onChange={(e) => setSettings({ dataset: e.currentTarget.value as NgdPageDataset })}
        >
          {NGD_PAGE_DATASETS.map((d) => (
            <option key={d} value={d}>
              {DATASET_LABELS[d]}
            </option>
          ))}
        </select>
      </div>
      <NumberField
        label="Training examples n"
        value={settings.n}
        min={2}
        max={200}
        disabled={busy}
        testId="ngd-n"
        onChange={(n) => setSettings({ n })}
        help="NGD solves an n×n system per step."
      />
      <div className="field">
        <label htmlFor={widthsId}>Widths m</label>
        <input
          id={widthsId}
          type="text"
          defaultValue={settings.widths.join(', ')}
          key={`widths-${loadedFromUrl}-${settings.widths.join(',')}`}
          disabled={busy}
          data-testid="ngd-widths"
          onBlur={(e) => {
            const list = e.currentTarget.value.split(',').map((v) => Number(v.trim()));
            if (list.length >= 1 && list.length <= 8 && list.every((w) => Number.isInteger(w) && w >= 1 && w <= 4096)) {
              const widths = [...new Set(list)].sort((a, b) => a - b);
              setSettings({ widths, widthIndex: widths.length - 1 });
            }
          }}
        />
        <p className="field-help">Up to 8 widths from 1 to 4,096, comma-separated (applied when you leave the field).</p>
      </div>
      <NumberField
        label="Step size η (NGD and K-FAC)"
        value={settings.eta}
        min={0.01}
        max={1}
        step={0.05}
        integer={false}
        disabled={busy}
        testId="ngd-eta"
        onChange={(eta) => setSettings({ eta })}
      />
      <NumberField
        label="Steps"
        value={settings.steps}
        min={1}
        max={100}
        disabled={busy}
        testId="ngd-steps"
        onChange={(steps) => setSettings({ steps })}
      />
      <NumberField
        label="K-FAC damping λ"
        value={settings.kfacDamping}
        min={1e-8}
        max={10}
        integer={false}
        disabled={busy}
        testId="ngd-damping"
        onChange={(kfacDamping) => setSettings({ kfacDamping })}
      />
      <NumberField
        label="Seed"
        value={settings.seed}
        min={0}
        max={2 ** 31 - 1}
        disabled={busy}
        testId="ngd-seed"
        onChange={(seed) => setSettings({ seed })}
      />
      <div className="button-row">
        <button type="button" className="primary" data-testid="ngd-run" disabled={busy} onClick={() => void run()}>
          Run NGD, GD and K-FAC
        </button>
        <button type="button" data-testid="ngd-cancel" disabled={!busy} onClick={cancel}>
          Cancel
        </button>
      </div>
      {job && <JobProgressBar job={job} label="Wide-network experiment" testId="ngd-progress" />}
    </section>
  );
}

function ResultView({ result }: { result: NgdJobResult }) {
  const exportJson = useNgdPage((s) => s.exportJson);
  const widthIndex = useNgdPage((s) => s.settings.widthIndex);
  const setSettings = useNgdPage((s) => s.setSettings);
  const c = result.comparison;
  const index = Math.min(Math.max(widthIndex, 0), c.widths.length - 1);
  const w = c.widths[index];
  const sliderId = useId();
  const trajectoryInput = useMemo(() => ({ w, targets: c.pairTargets, pair: c.pair }), [w, c]);
  const ngd = meanRatio(w, 'ngd');
  return (
    <section className="card curvature-report" aria-labelledby="ngd-result-heading" data-testid="ngd-result">
      <h3 id="ngd-result-heading">
        {DATASET_LABELS[c.dataset as NgdPageDataset]}, n = {c.n}, η = {c.eta}
      </h3>
      <p>
        On {result.device}. Inputs of dimension {c.d}; every method starts from the same weights at each width.
      </p>
      <div className="button-row">
        <button type="button" data-testid="ngd-export" onClick={exportJson}>
          Download the results (JSON)
        </button>
      </div>
      <div className="field">
        <label htmlFor={sliderId}>
          Width shown: <strong data-testid="ngd-width-shown">{w.width}</strong>
        </label>
        <input
          id={sliderId}
          type="range"
          min={0}
          max={c.widths.length - 1}
          step={1}
          value={index}
          data-testid="ngd-width-slider"
          aria-valuetext={`width ${w.width}`}
          onChange={(e) => setSettings({ widthIndex: Number(e.currentTarget.value) })}
        />
        <p className="field-help" data-testid="ngd-width-note" aria-live="polite">
          At width {w.width}: λ₀ = {formatLambda0(w)}, λ_max = {w.lambdaMax.toPrecision(3)}; NGD’s mean per-step ratio{' '}
          {ngd === null ? '—' : ngd.toFixed(4)} (1 − η = {(1 - c.eta).toFixed(2)}); GD’s predicted rate 1 − λ₀/λ_max = {w.gdRate.toFixed(4)}
          .
        </p>
      </div>
      <div className="approx-columns">
        <Figure
          id="ngd-residual"
          title="Residual per step"
          input={w}
          build={buildResidualFigure}
          table={residualTable}
          summary={residualSummary(w, c.eta)}
          legend={methodLegend(w, true)}
          note="Log scale; dotted: each method’s predicted line from the same start."
        />
        <Figure
          id="ngd-trajectory"
          title="Trajectories of two outputs"
          input={trajectoryInput}
          build={buildTrajectoryFigure}
          table={trajectoryTable}
          summary={`Outputs of examples ${c.pair[0]} and ${c.pair[1]} moving towards their targets (${c.pairTargets.map((t) => t.toFixed(2)).join(', ')}).`}
          legend={[...methodLegend(w, false), { label: 'target', color: '#000000', symbol: 'star' }]}
          note="NGD’s residual shrinks by the same factor in every direction, so its path is a straight line to the target."
        />
      </div>
      <Figure
        id="ngd-ratio"
        title="Per-step ratio against width"
        input={c}
        build={buildRatioFigure}
        table={widthTable}
        summary={`NGD’s mean ratio at the widest net (${c.widths.at(-1)!.width}): ${meanRatio(c.widths.at(-1)!, 'ngd')?.toFixed(4) ?? '—'}.`}
        legend={methodLegend(w, false)}
      />
      <ChartTable table={widthTable(c)} testId="ngd-width-table" />
    </section>
  );
}

function Explanation() {
  return (
    <details className="explain" open>
      <summary>What this page shows, and how to read it</summary>
      <ul>
        <li>
          <strong>NGD</strong> here is exact: with J the n × (m·d) Jacobian of the outputs, the Fisher (= Gauss–Newton) JᵀJ/n is singular
          when the net is wider than the data, and the natural-gradient step is its min-norm solution{' '}
          <code>Δw = −η Jᵀ (J Jᵀ)⁻¹ (u − y)</code>: one n×n solve with the Gram matrix J Jᵀ.
        </li>
        <li>
          To first order the outputs then move by <code>−η (u − y)</code>, so the residual shrinks by exactly 1 − η per step, whatever the
          Gram matrix’s eigenvalues. What spoils it is the Jacobian changing during training — activation patterns flipping — which matters
          less the wider the net: slide the width and watch the ratio settle on 1 − η.
        </li>
        <li>
          <strong>GD</strong> takes the largest step that contracts every direction without overshooting, 1/λ_max of the Gram matrix J Jᵀ/n;
          its slowest direction then shrinks by 1 − λ₀/λ_max per step: small λ₀, slow GD.
        </li>
        <li>
          <strong>K-FAC</strong> approximates the first layer’s Fisher by G ⊗ A (A from the inputs, G from the output gradients; damping λ).
          It is not exact NGD: its ratio sits between GD’s and NGD’s and drifts as the residual’s direction changes.
        </li>
      </ul>
    </details>
  );
}
