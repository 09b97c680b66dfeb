// The curvature of one K-FAC layer: heatmaps of the Kronecker factors A and G and the spectrum of G ⊗ A.

import { useCallback, useMemo } from 'react';
import type { CurvatureSnapshot, MatrixView } from '../../engine/curvature/snapshot.ts';
import { ChartFigure } from './ChartFigure.tsx';
import {
  buildFactorFigure,
  buildSpectrumFigure,
  curvatureSummary,
  factorSummary,
  factorTable,
  matrixSizeNote,
  SPECTRUM_FACTOR_STYLES,
  spectrumTable,
} from './curvature-figures.ts';
import type { LegendItem } from './legend-items.ts';
import { usePlot, useThrottledValue } from './use-plot.ts';
import './charts.css';

export interface CurvaturePanelProps {
  snapshot: CurvatureSnapshot | null;
  runLabel: string;
  step: number;
  id?: string;
}

export function CurvaturePanel({ snapshot, runLabel, step, id = 'curvature' }: CurvaturePanelProps) {
  if (snapshot === null) {
    return (
      <div className="curvature-panel" id={id}>
        <p className="chart-empty">Curvature appears once a K-FAC run has taken a step.</p>
      </div>
    );
  }
  return (
    <div className="curvature-panel" id={id}>
      <p className="curvature-context">
        Layer <code>{snapshot.layer}</code> of {runLabel} (K-FAC-{snapshot.approx}), step {step}.
      </p>
      <div className="chart-grid curvature-grid">
        <FactorHeatmap id={`${id}-a`} view={snapshot.inputFactor} factor="A" />
        <FactorHeatmap id={`${id}-g`} view={snapshot.gradFactor} factor="G" />
        <SpectrumChart id={`${id}-spectrum`} snapshot={snapshot} runLabel={runLabel} step={step} />
      </div>
    </div>
  );
}

function FactorHeatmap({ id, view, factor }: { id: string; view: MatrixView; factor: 'A' | 'G' }) {
  const plot = usePlot(useCallback(() => buildFactorFigure(view, factor), [view, factor]));
  const summary = useThrottledValue(useMemo(() => factorSummary(view, factor), [view, factor]));
  const title = factor === 'A' ? 'Input factor A' : 'Gradient factor G';
  return (
    <ChartFigure
      id={id}
      title={title}
      note={`${matrixSizeNote(view)}; orange below 0, grey at 0, blue above, symmetric around 0.`}
      summary={summary}
      table={() => factorTable(view, factor)}
      plotRef={plot.ref}
      canSave={plot.ready}
      error={plot.error}
      plotClassName="chart-plot--square"
    />
  );
}

const SPECTRUM_LEGEND: LegendItem[] = [
  { label: 'G ⊗ A (colour: magnitude)', color: '#21918c', symbol: 'circle' },
  { label: 'A', ...SPECTRUM_FACTOR_STYLES.A },
  { label: 'G', ...SPECTRUM_FACTOR_STYLES.G },
  { label: 'damping λ', color: '#1b1f24', dash: 'dash' },
];

function SpectrumChart({ id, snapshot, runLabel, step }: { id: string; snapshot: CurvatureSnapshot; runLabel: string; step: number }) {
  const plot = usePlot(useCallback(() => buildSpectrumFigure(snapshot), [snapshot]));
  // spectrumStats walks every product eigG[i]·eigA[j]: once per snapshot, not per render.
  const summary = useThrottledValue(useMemo(() => curvatureSummary(snapshot, runLabel, step), [snapshot, runLabel, step]));
  return (
    <ChartFigure
      id={id}
      title="Eigenvalues of G ⊗ A"
      note="Log scale; the dashed line is the damping λ: directions below it are governed by the damping rather than the curvature."
      summary={summary}
      table={() => spectrumTable(snapshot)}
      legend={SPECTRUM_LEGEND}
      plotRef={plot.ref}
      canSave={plot.ready}
      error={plot.error}
    />
  );
}
