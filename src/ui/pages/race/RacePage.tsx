// The optimizer race (the landing page): setup and controls on the side, live charts, results,
// phase times and curvature in the main column, the explanation of K-FAC below, diagnostics (the
// page's own WebGPU check) at the end. Its URL state is the experiment itself (url-state.ts).
import { memo, useEffect, useMemo } from 'react';
import { useLabUi, metricSeries } from '../../lab/lab-store.ts';
import { SetupPanel, isValidConfig } from '../../setup/SetupPanel.tsx';
import { ChartControls, CurvaturePanel, MetricChart, PhaseBars } from '../../charts/index.ts';
import { Controls } from '../../controls/Controls.tsx';
import { RunProgressList } from '../../controls/RunProgressList.tsx';
import { Messages } from '../../components/Messages.tsx';
import { ResultsSection } from '../../components/ResultsSection.tsx';
import { CurvatureSelector } from '../../components/CurvatureSelector.tsx';
import { Explainer } from '../../teaching/Explainer.tsx';
import { KlClipPanel } from './KlClipPanel.tsx';
import { GpuStatusPanel } from '../../components/GpuStatusPanel.tsx';
import { SelfCheckPanel } from '../../components/SelfCheckPanel.tsx';
import { useDiagnostics } from '../../diagnostics-store.ts';
import { checkConfig } from '../../setup/config-checks.ts';
import { configToHash } from '../../url-state.ts';

// The setup form is large; it must not re-render while training (its props do not change then).
const MemoSetupPanel = memo(SetupPanel);

/** Mean-time-per-phase bars; re-renders only with the (throttled) phase totals. */
function PhaseSection() {
  const runs = useLabUi((s) => s.runs);
  const phases = useLabUi((s) => s.phases);
  const steps = useLabUi((s) => s.phaseSteps);
  // Drawn (empty) before the first experiment, so starting one does not also create the plot.
  return (
    <section className="card" aria-labelledby="phases-heading">
      <h2 id="phases-heading">Where the time goes</h2>
      <PhaseBars runs={runs} totals={phases} steps={steps} id="phase-bars" />
      <KlClipPanel />
    </section>
  );
}

/** The curvature panel: which run and layer, then A, G and the spectrum of G ⊗ A. */
function CurvatureSection() {
  const runs = useLabUi((s) => s.runs);
  const curvature = useLabUi((s) => s.curvature);
  return (
    <section className="card" aria-labelledby="curvature-heading">
      <h2 id="curvature-heading">Curvature</h2>
      <CurvatureSelector />
      <CurvaturePanel
        snapshot={curvature?.snapshot ?? null}
        runLabel={curvature ? (runs[curvature.run]?.label ?? '') : ''}
        step={curvature?.step ?? 0}
        id="curvature"
      />
    </section>
  );
}

export function RacePage({ query }: { query: string }) {
  const config = useLabUi((s) => s.config);
  const setConfig = useLabUi((s) => s.setConfig);
  const status = useLabUi((s) => s.status);
  const chart = useLabUi((s) => s.chart);
  const setChart = useLabUi((s) => s.setChart);
  const target = useLabUi((s) => s.resolved?.target?.value ?? null);
  const configValid = useMemo(() => isValidConfig(config), [config]);
  const live = status === 'running' || status === 'paused' || status === 'preparing';
  // Arriving from another page ('#/'): the address shows the experiment again. A link's own
  // experiment (query not empty) stays as it was typed, even when it was refused.
  useEffect(() => {
    const current = useLabUi.getState().config;
    if (query === '' && checkConfig(current).ok) window.history.replaceState(null, '', configToHash(current));
  }, [query]);

  return (
    <>
      <div className="page-intro">
        <p>
          Train a small model side by side with SGD, Adam, K-FAC-expand and K-FAC-reduce and watch where each one gets — per step and per
          second. Every run starts from <strong>the same initial weights</strong> and sees <strong>the same batches</strong> in the same
          order; the runs take turns step by step on one device, so their clocks are comparable.
        </p>
      </div>
      <Messages />
      <div className="lab-layout">
        <aside className="sidebar" aria-label="Experiment setup and controls">
          <Controls configValid={configValid} />
          <RunProgressList />
          <MemoSetupPanel config={config} onChange={setConfig} disabled={live} />
        </aside>
        <div className="lab-main" id="charts" tabIndex={-1}>
          <section className="card" aria-labelledby="charts-heading">
            <h2 id="charts-heading">Training curves</h2>
            <ChartControls value={chart} onChange={setChart} />
            <div className="chart-grid">
              <MetricChart
                series={metricSeries}
                metric="trainLoss"
                xAxis={chart.xAxis}
                logY={chart.logY}
                smoothing={chart.smoothing}
                title="Training loss"
                id="chart-loss"
              />
              <MetricChart
                series={metricSeries}
                metric="valMetric"
                xAxis={chart.xAxis}
                logY={false}
                smoothing={0}
                title="Validation accuracy"
                id="chart-val"
                target={target}
              />
            </div>
          </section>
          <ResultsSection />
          <PhaseSection />
          <CurvatureSection />
          <Explainer task={config.task} />
          <details
            className="card diagnostics"
            data-testid="diagnostics"
            onToggle={(e) => {
              const shell = useDiagnostics.getState();
              if (e.currentTarget.open && shell.selfCheck.state === 'idle') void shell.runSelfCheck();
            }}
          >
            <summary>Diagnostics: this page’s WebGPU check</summary>
            <div className="panels">
              <GpuStatusPanel />
              <SelfCheckPanel />
            </div>
          </details>
        </div>
      </div>
    </>
  );
}
