// Every task's preset trains on the WASM backend through the same runner as the CLI: the four
// optimizers finish two steps with finite losses and a repeated run leaves no tensor alive (the fast CPU backend must
// run everything the reference one runs).
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { WasmBackend } from '../../src/engine/backend/wasm/wasm-backend.ts';
import { createBackend } from '../../src/engine/backend/create-backend.ts';
import { TASK_IDS } from '../../src/engine/lab/tasks.ts';
import { parseLabArgs, type LabRunArgs } from '../../src/cli/lab-args.ts';
import { runLab } from '../../src/cli/lab-report.ts';
import { deviceOf, labJson } from '../../src/engine/lab/report.ts';

const wasm = new WasmBackend();
const cpu = new CpuBackend();
afterAll(() => {
  wasm.destroy();
  cpu.destroy();
});

/** Live tensors a second run of the same config adds on the reference CPU backend. */
async function secondRunGrowth(args: LabRunArgs): Promise<number> {
  await runLab(cpu, args.config);
  const cached = cpu.memory().liveTensors;
  await runLab(cpu, args.config);
  return cpu.memory().liveTensors - cached;
}

describe('a short run per preset on the WASM backend', () => {
  for (const id of TASK_IDS) {
    it(`${id}: every preset run finishes 2 steps with finite losses and leaves no tensor alive`, async () => {
      const args = parseLabArgs(['--task', id, '--steps', '2', '--eval-interval', '2', '--backend', 'wasm']) as LabRunArgs;
      const result = await runLab(wasm, args.config);
      // The task's data stays cached on the backend; a second run must leave exactly as many
      // tensors alive as it does on the reference backend (the same dispose semantics).
      const cached = wasm.memory().liveTensors;
      await runLab(wasm, args.config);
      const grown = wasm.memory().liveTensors - cached;
      // No task leaves tensors behind; should one, the reference run tells an engine leak from a WASM one.
      if (grown !== 0) expect(grown, 'tensors left alive by a second run, vs the reference CPU').toBe(await secondRunGrowth(args));
      expect(grown, 'tensors left alive by a second run').toBe(0);
      const doc = labJson(result, deviceOf(wasm));
      expect(doc.device.backend).toBe('wasm');
      for (const run of doc.runs) {
        expect(run.error, run.label).toBeNull();
        expect(run.history.step).toEqual([1, 2]);
        expect(run.history.trainLoss.every(Number.isFinite)).toBe(true);
      }
    }, 60_000);
  }
});

describe('createBackend', () => {
  it("gives the WASM backend for prefer: 'wasm'", async () => {
    const be = await createBackend({ prefer: 'wasm' });
    expect(be.name).toBe('wasm');
    expect(be.info.fallbackReason).toBeUndefined();
    be.destroy();
  });
});
