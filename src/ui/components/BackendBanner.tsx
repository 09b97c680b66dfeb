// Which backend the training worker uses: the WebGPU adapter, or the CPU with the failure case and
// what to do about it, and the warning that wall-clock numbers are then not GPU-representative.
import { useLabUi } from '../lab/lab-store.ts';
import type { BackendPreference } from '../../worker/protocol.ts';
import { CPU_BACKEND_CHOICES, CPU_FALLBACK_NOTE, FAILURE_HELP } from '../webgpu-help.ts';

export function BackendBanner() {
  const backend = useLabUi((s) => s.backend);
  const status = useLabUi((s) => s.status);
  const reopen = useLabUi((s) => s.reopenBackend);
  const busy = status === 'running' || status === 'paused' || status === 'preparing';
  if (!backend) {
    return (
      <p className="banner" data-testid="backend-banner" data-backend="none">
        Starting the training worker and looking for a WebGPU adapter…
      </p>
    );
  }
  if (backend.webgpu) {
    return (
      <div className="banner banner-ok" data-testid="backend-banner" data-backend="webgpu">
        <p>
          Training on <strong>WebGPU</strong>: {backend.device.summary}.
        </p>
        <CpuChoices current={null} reopen={reopen} busy={busy} />
      </div>
    );
  }
  const kind = backend.failureKind;
  const onWasm = backend.device.backend === 'wasm';
  const cpuName = onWasm ? 'fast CPU (WebAssembly SIMD)' : 'reference CPU (float64)';
  const help = kind && kind in FAILURE_HELP ? FAILURE_HELP[kind as keyof typeof FAILURE_HELP] : null;
  return (
    <div className="banner banner-warn" role="status" data-testid="backend-banner" data-backend="cpu" data-kind={kind ?? ''}>
      <p>
        <strong>
          {kind === 'chosen-cpu'
            ? `Training on the ${cpuName} backend (your choice).`
            : `WebGPU is not available; training on the ${cpuName} backend.`}
        </strong>{' '}
        {CPU_FALLBACK_NOTE}
      </p>
      {help && (
        <details>
          <summary>{help.title}</summary>
          <p>{help.explanation}</p>
          <ul>
            {help.whatToDo.map((t) => (
              <li key={t}>{t}</li>
            ))}
          </ul>
          {backend.device.fallbackReason && (
            <p>
              Detail: <code>{backend.device.fallbackReason}</code>
            </p>
          )}
        </details>
      )}
      <button type="button" onClick={() => reopen('webgpu')} disabled={busy}>
        Try WebGPU again
      </button>
      <CpuChoices current={onWasm ? 'wasm' : 'cpu'} reopen={reopen} busy={busy} />
    </div>
  );
}

/** The CPU backends other than the current one, each a button with one line on what it is. */
function CpuChoices({
  current,
  reopen,
  busy,
}: {
  current: BackendPreference | null;
  reopen: (prefer: BackendPreference) => void;
  busy: boolean;
}) {
  return (
    <ul className="backend-choices" data-testid="cpu-choices">
      {CPU_BACKEND_CHOICES.filter((c) => c.prefer !== current).map((c) => (
        <li key={c.prefer}>
          <button type="button" onClick={() => reopen(c.prefer)} disabled={busy}>
            Use the {c.label}
          </button>{' '}
          {c.about}
        </li>
      ))}
    </ul>
  );
}
