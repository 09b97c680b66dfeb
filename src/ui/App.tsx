import { useEffect } from 'react';
import { GpuStatusPanel } from './components/GpuStatusPanel.tsx';
import { SelfCheckPanel } from './components/SelfCheckPanel.tsx';
import { useLab } from './store.ts';

export function App() {
  const start = useLab((s) => s.start);
  const announcement = useLab((s) => s.announcement);
  useEffect(() => {
    void start();
  }, [start]);

  return (
    <>
      <header className="page-header">
        <h1>kfac-lab</h1>
        <p>
          kfac-lab will be a training lab in your browser: pick a small model (an MLP, a CNN, a tiny vision transformer, a graph network or
          a tiny language model) and a data set, then train it side by side with SGD, Adam, K-FAC-expand and K-FAC-reduce — every run from
          the same initial weights on the same batches — while watching loss curves, wall-clock time and curvature. Its tensor engine runs
          on WebGPU, with a CPU backend as fallback. For now this page checks that your browser can run it; the lab itself comes next.
        </p>
      </header>
      <main className="panels">
        <GpuStatusPanel />
        <SelfCheckPanel />
      </main>
      <p className="visually-hidden" role="status" aria-live="polite" data-testid="live-status">
        {announcement}
      </p>
    </>
  );
}
