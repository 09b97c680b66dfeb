// The Thermodynamic page (docs/curvature-tools.md §6): K-FAC whose factor inverses come from a
// simulated noisy analog (Ornstein–Uhlenbeck) device, raced against digital K-FAC and Adam on the
// same weights and batches; the device's inverse error against its samples S and bits b, on the
// model's own factors; and the cost model digital n³ vs analog n²κ² with the measured condition
// numbers as the model widens. Everything runs as one 'thermo' worker job; settings live in the URL.
import { useId, useState } from 'react';
import { ChartTable } from '../../charts/ChartFigure.tsx';
import { useToolPageStart } from '../../tool-page/use-tool-page.ts';
import { MessageList } from '../../components/Messages.tsx';
import { MAX_TRAIN_STEPS } from '../../../worker/jobs/limits.ts';
import type { ThermoJobResult } from '../../../worker/jobs/thermo-job.ts';
import { Figure, JobProgressBar, NumberField } from '../../tool-page/page-parts.tsx';
import {
  buildAccuracyFigure,
  buildCostFigure,
  buildErrorVsBitsFigure,
  buildErrorVsSamplesFigure,
  buildLossFigure,
  COST_LEGEND,
  costSummary,
  costTable,
  errorLegend,
  errorSummary,
  errorTable,
  errorVsBitsLegend,
  raceLegend,
  raceSummary,
  raceTable,
} from './thermo-figures.ts';
import {
  formatDevice,
  PAGE_WIDTHS,
  parseDevice,
  TASK_LABELS,
  THERMO_PAGE_TASKS,
  useThermoPage,
  type ThermoPageTask,
} from './thermo-store.ts';
import '../../tool-page/tool-page.css';
import '../curvature/curvature-page.css';
import './tool-pages.css';

declare global {
  interface Window {
    /** The Thermodynamic page's state for the e2e tests (e2e/thermodynamic.spec.ts). */
    __thermo?: { readonly state: ReturnType<typeof useThermoPage.getState> };
  }
}
window.__thermo = {
  get state() {
    return useThermoPage.getState();
  },
};

export function ThermodynamicPage({ query }: { query: string }) {
  useToolPageStart(useThermoPage, query);
  const result = useThermoPage((s) => s.result);
  const messages = useThermoPage((s) => s.messages);
  const urlErrors = useThermoPage((s) => s.urlErrors);
  const dismiss = useThermoPage((s) => s.dismissMessage);
  return (
    <div className="tool-page curvature-page thermo-page">
      <div className="page-intro">
        <h2>Thermodynamic K-FAC: inverting curvature on noisy analog hardware</h2>
        <p>
          K-FAC’s expensive step is inverting its Kronecker factors A and G. A <strong>thermodynamic computer</strong> would do it
          physically: a circuit whose state x follows <code>dx = −M x dt + √2 dW</code> settles into a Gaussian whose covariance is{' '}
          <strong>M⁻¹</strong>, so averaging x xᵀ over S samples estimates the inverse. Here that device is simulated exactly, with the
          numbers sent to and from it rounded to b bits, and plugged into K-FAC. Does the second-order advantage survive the noise?
        </p>
      </div>
      <MessageList
        messages={messages}
        urlErrors={urlErrors}
        onDismiss={dismiss}
        testId="thermo-messages"
        urlErrorsTestId="thermo-url-errors"
      />
      <SetupCard />
      {result && <ResultView result={result} />}
      <Explanation />
    </div>
  );
}

function SetupCard() {
  const settings = useThermoPage((s) => s.settings);
  const setSettings = useThermoPage((s) => s.setSettings);
  const job = useThermoPage((s) => s.job);
  const run = useThermoPage((s) => s.run);
  const cancel = useThermoPage((s) => s.cancel);
  const busy = job?.status === 'running';
  const taskId = useId();
  const deviceId = useId();
  const [deviceError, setDeviceError] = useState<string | null>(null);
  const loadedFromUrl = useThermoPage((s) => s.loadedFromUrl);
  const widths = settings.widths.length > 0 ? settings.widths : PAGE_WIDTHS[settings.task];
  return (
    <section className="card curvature-setup" aria-labelledby="thermo-setup-heading">
      <h3 id="thermo-setup-heading">Experiment</h3>
      <div className="field">
        <label htmlFor={taskId}>Task</label>
        <select
          id={taskId}
          value={settings.task}
          disabled={busy}
          data-testid="thermo-task"
          onChange={(e) => setSettings({ task: e.currentTarget.value as ThermoPageTask, widths: [] })}
        >
          {THERMO_PAGE_TASKS.map((t) => (
            <option key={t} value={t}>
              {TASK_LABELS[t]}
            </option>
          ))}
        </select>
        <p className="field-help">
          Adam and K-FAC use the task preset’s learning rate and damping; every run starts from the same weights and sees the same batches.
        </p>
      </div>
      <NumberField
        label="Training steps per run"
        value={settings.steps}
        min={1}
        max={MAX_TRAIN_STEPS}
        disabled={busy}
        testId="thermo-steps"
        onChange={(steps) => setSettings({ steps })}
      />
      <NumberField
        label="Seed"
        value={settings.seed}
        min={0}
        max={2 ** 31 - 1}
        disabled={busy}
        testId="thermo-seed"
        onChange={(seed) => setSettings({ seed })}
      />
      <NumberField
        label="Validation accuracy every … steps"
        value={settings.evalEvery}
        min={1}
        max={MAX_TRAIN_STEPS}
        disabled={busy}
        testId="thermo-eval"
        onChange={(evalEvery) => setSettings({ evalEvery })}
      />
      <div className="field">
        <label htmlFor={deviceId}>Device settings raced (bits × samples)</label>
        <input
          id={deviceId}
          type="text"
          defaultValue={formatDevice(settings.device)}
          key={`device-${loadedFromUrl}`}
          disabled={busy}
          data-testid="thermo-device"
          aria-describedby={`${deviceId}-help`}
          onChange={(e) => {
            const text = e.currentTarget.value;
            const parsed = parseDevice(text);
            setDeviceError(parsed ? null : 'Write up to 6 settings like 8x1000, 4x100 (bits 0 = exact or 2 … 32; samples 1 … 100000).');
            if (parsed) setSettings({ device: parsed });
          }}
        />
        <p className="field-help" id={`${deviceId}-help`}>
          {deviceError ??
            'Each b×S is one thermodynamic K-FAC run: b bits for what goes to and from the device (0 = exact), S samples per factor and inversion.'}
        </p>
      </div>
      <p className="field-help">
        Cost model widths: {widths.join(', ')} ({settings.task === 'vit-mnist' ? 'embedding dim' : 'hidden units'}), each trained{' '}
        {settings.widthSteps} Adam steps before its factors are measured.
      </p>
      <div className="button-row">
        <button
          type="button"
          className="primary"
          data-testid="thermo-run"
          disabled={busy || deviceError !== null}
          onClick={() => void run()}
        >
          Run the experiment
        </button>
        <button type="button" data-testid="thermo-cancel" disabled={!busy} onClick={cancel}>
          Cancel
        </button>
      </div>
      {job && <JobProgressBar job={job} label="Thermodynamic experiment" testId="thermo-progress" />}
    </section>
  );
}

function ResultView({ result }: { result: ThermoJobResult }) {
  const exportJson = useThermoPage((s) => s.exportJson);
  const { race, errors, cost } = result;
  return (
    <section className="card curvature-report" aria-labelledby="thermo-result-heading" data-testid="thermo-result">
      <h3 id="thermo-result-heading">
        {TASK_LABELS[result.config.task as ThermoPageTask]}, seed {race.seed}, {race.steps} steps
      </h3>
      <p>
        On {result.device}. K-FAC: lr {String(race.hyper.kfac.lr)}, damping {String(race.hyper.kfac.damping)} (π-damping, Cholesky for the
        digital run); Adam: lr {String(race.hyper.adam.lr)}; batch {race.batchSize}.
      </p>
      <div className="button-row">
        <button type="button" data-testid="thermo-export" onClick={exportJson}>
          Download the results (JSON)
        </button>
      </div>
      <h4>The race</h4>
      <div className="approx-columns">
        <Figure
          id="thermo-loss"
          title="Training loss"
          input={race}
          build={buildLossFigure}
          table={raceTable}
          summary={raceSummary(race)}
          legend={raceLegend(race)}
          note="Debiased moving average (0.6); log scale."
        />
        <Figure
          id="thermo-accuracy"
          title="Validation accuracy"
          input={race}
          build={buildAccuracyFigure}
          table={raceTable}
          summary={raceSummary(race)}
          legend={raceLegend(race)}
        />
      </div>
      <ChartTable table={raceTable(race)} testId="thermo-race-table" />
      <h4>How good are the device’s inverses?</h4>
      <p className="muted">
        On the digital K-FAC model’s own π-damped factors (
        {result.factors.map((f) => `${f.layer} ${f.factor} n=${f.n} κ=${f.condition.toPrecision(3)}`).join('; ')}).
      </p>
      <div className="approx-columns">
        <Figure
          id="thermo-error-samples"
          title="Inverse error against samples S"
          input={errors}
          build={buildErrorVsSamplesFigure}
          table={errorTable}
          summary={errorSummary(errors)}
          legend={errorLegend(errors)}
          note="Log–log; a Monte Carlo estimate falls like 1/√S until quantisation sets a floor."
        />
        <Figure
          id="thermo-error-bits"
          title="Inverse error against bits b"
          input={errors}
          build={buildErrorVsBitsFigure}
          table={errorTable}
          summary={errorSummary(errors)}
          legend={errorVsBitsLegend(errors)}
        />
      </div>
      <h4>Cost as the model widens</h4>
      <Figure
        id="thermo-cost"
        title="Operations per factor inversion"
        input={cost}
        build={buildCostFigure}
        table={costTable}
        summary={costSummary(cost)}
        legend={COST_LEGEND}
        note="Digital Cholesky O(n³) against the analog device’s O(n² κ²), with κ measured on each width’s damped factors."
      />
      <ChartTable table={costTable(cost)} testId="thermo-cost-table" />
    </section>
  );
}

function Explanation() {
  return (
    <details className="explain" open>
      <summary>What this page shows, and how to read it</summary>
      <ul>
        <li>
          <strong>The device.</strong> For a damped factor M, the Ornstein–Uhlenbeck process <code>dx = −M x dt + √2 dW</code> has
          stationary covariance M⁻¹. The simulation is exact: in M’s eigenbasis each mode y relaxes as{' '}
          <code>y ← e^(−ℓ dt) y + √((1 − e^(−2ℓ dt))/ℓ) ξ</code>. S samples, dt apart, give the estimate M̂⁻¹ = (1/S) Σ x xᵀ. Each factor’s
          chain continues where the previous inversion left it (hot start), so no samples are spent relaxing.
        </li>
        <li>
          <strong>Quantisation.</strong> The matrix going in and the estimate coming out are rounded to b bits: step s = max|M| / (2^(b−1) −
          1), Q(M) = s·round(M/s), so each entry moves by at most s/2. Modes of the rounded matrix at or below one step cannot be held by
          the device and are clamped to s.
        </li>
        <li>
          <strong>The race.</strong> Digital K-FAC inverts (A + π√λ I) and (G + √λ/π I) exactly; thermodynamic K-FAC hands the same damped
          factors to the device. “Kept share” is (steps_Adam − steps_run) / (steps_Adam − steps_K-FAC): 100% keeps all of K-FAC’s advantage
          in steps, 0% is no better than Adam.
        </li>
        <li>
          <strong>Error curves.</strong> The relative error of a covariance estimate from S independent samples of an n-dimensional Gaussian
          is about √(n/S), so the large input factor A (n = 197 for the MNIST MLP) needs S ≫ n. Low b adds a floor that more samples cannot
          remove.
        </li>
        <li>
          <strong>Cost model.</strong> A digital inversion costs O(n³). The device needs time to decorrelate its slowest mode (∝ κ) and
          samples for accuracy, giving O(n² κ²) (Donatella et al.). It wins when κ² &lt; n: the table shows the measured κ of this model’s
          damped factors as the width grows.
        </li>
      </ul>
    </details>
  );
}
