// The WebGPU status: adapter and limits, or which failure case applies and what to do about it.
import type { AdapterDescription } from '../../engine/backend/backend.ts';
import { formatLimit } from '../format.ts';
import type { GpuStatus } from '../gpu-session.ts';
import { useDiagnostics } from '../diagnostics-store.ts';
import { CPU_BACKEND_CHOICES, CPU_FALLBACK_NOTE, FAILURE_HELP, type FailureHelp } from '../webgpu-help.ts';

export function GpuStatusPanel() {
  const gpu = useDiagnostics((s) => s.gpu);
  const gpuErrors = useDiagnostics((s) => s.gpuErrors);
  return (
    <section className="card" aria-labelledby="gpu-heading" data-testid="gpu-status" data-state={gpu.state}>
      <h2 id="gpu-heading">WebGPU status</h2>
      <GpuStatusBody gpu={gpu} />
      {gpuErrors.count > 0 && (
        <p className="notice notice-warn">
          The GPU reported {gpuErrors.count} uncaught error{gpuErrors.count === 1 ? '' : 's'} (a kernel defect); the latest:{' '}
          <code>{gpuErrors.last}</code>
        </p>
      )}
    </section>
  );
}

function GpuStatusBody({ gpu }: { gpu: GpuStatus }) {
  switch (gpu.state) {
    case 'probing':
      return <p>Looking for a WebGPU adapter…</p>;
    case 'webgpu':
      return <WebGPUReady adapter={gpu.adapter} limits={gpu.limits} summary={gpu.summary} />;
    case 'cpu-fallback':
      return <WebGPUUnavailable help={FAILURE_HELP[gpu.kind]} detail={gpu.reason} />;
    case 'device-lost':
      return <WebGPUUnavailable help={FAILURE_HELP['device-lost']} detail={`${gpu.reason}: ${gpu.message} (was ${gpu.summary})`} />;
  }
}

function WebGPUReady({ adapter, limits, summary }: { adapter: AdapterDescription; limits: Record<string, number>; summary: string }) {
  const software = adapter.isFallbackAdapter || /swiftshader/i.test(`${adapter.vendor} ${adapter.architecture} ${adapter.description}`);
  return (
    <>
      <p className="verdict verdict-ok">
        <span aria-hidden="true">✓ </span>WebGPU is available: the lab runs on the GPU.
      </p>
      <p className="summary-line">{summary}</p>
      <h3>Adapter</h3>
      <dl className="facts">
        <dt>Vendor</dt>
        <dd>{adapter.vendor || 'not reported'}</dd>
        <dt>Architecture</dt>
        <dd>{adapter.architecture || 'not reported'}</dd>
        <dt>Device</dt>
        <dd>{adapter.device || 'not reported'}</dd>
        <dt>Description</dt>
        <dd>{adapter.description || 'not reported'}</dd>
        <dt>Fallback (software) adapter</dt>
        <dd data-testid="fallback-adapter">{adapter.isFallbackAdapter ? 'yes' : 'no'}</dd>
      </dl>
      {software && (
        <p className="notice">
          This is a software adapter (SwiftShader runs WebGPU on the CPU): results are correct, but timings are far below a real GPU’s.
        </p>
      )}
      <h3 id="limits-heading">Device limits</h3>
      <div className="table-scroll" role="region" aria-labelledby="limits-heading" tabIndex={0}>
        <table className="limits" data-testid="limits-table">
          <caption className="visually-hidden">Device limits the lab works with</caption>
          <thead>
            <tr>
              <th scope="col">Limit</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(limits).map(([name, value]) => (
              <tr key={name}>
                <th scope="row">
                  <code>{breakAtWords(name)}</code>
                </th>
                <td className="num" title={String(value)}>
                  {formatLimit(name, value)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** camelCase limit names may wrap only between words on narrow screens. */
function breakAtWords(name: string) {
  return name.split(/(?=[A-Z])/).map((part, i) => (
    <span key={i}>
      {i > 0 && <wbr />}
      {part}
    </span>
  ));
}

function WebGPUUnavailable({ help, detail }: { help: FailureHelp; detail: string }) {
  const retry = useDiagnostics((s) => s.retryWebGPU);
  const busy = useDiagnostics((s) => s.selfCheck.state === 'running');
  return (
    <>
      <div className="notice notice-warn" data-testid="gpu-failure">
        <h3>{help.title}</h3>
        <p>{help.explanation}</p>
        <p>
          Details: <code>{detail}</code>
        </p>
        <h4>What to do</h4>
        <ul>
          {help.whatToDo.map((step) => (
            <li key={step}>{step}</li>
          ))}
        </ul>
      </div>
      <p className="verdict verdict-fallback" data-testid="cpu-fallback-note">
        {CPU_FALLBACK_NOTE}
      </p>
      <ul className="backend-choices" data-testid="cpu-backends">
        {CPU_BACKEND_CHOICES.map((c) => (
          <li key={c.prefer}>
            <strong>{c.label}</strong>: {c.about}
          </li>
        ))}
      </ul>
      <button type="button" onClick={() => void retry()} aria-disabled={busy} className="button">
        Try WebGPU again
      </button>
    </>
  );
}
