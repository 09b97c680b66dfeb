// "Analyse this model" on the worker side (src/worker/run-checkpoint.ts, through the lab session):
// a finished race hands a run's weights over as a checkpoint that decodes to that run's model; a
// capture while the runs step, of a run that does not exist, or with no experiment is refused.
import { afterEach, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { decodeCheckpoint } from '../../src/engine/checkpoint/checkpoint.ts';
import { reportFor, type BackendOpener } from '../../src/worker/gpu-status.ts';
import { LabSession } from '../../src/worker/lab-session.ts';
import type { LabEvent } from '../../src/worker/protocol.ts';

const cpuOpener: BackendOpener = async () => {
  const backend = new CpuBackend();
  return { backend, report: reportFor(backend, 'chosen-cpu') };
};

const sessions: LabSession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.dispose()));
});

function newSession() {
  const events: LabEvent[] = [];
  const session = new LabSession((e) => events.push(e), cpuOpener);
  sessions.push(session);
  const answers = () => events.filter((e): e is Extract<LabEvent, { type: 'run-checkpoint' }> => e.type === 'run-checkpoint');
  return { session, events, answers };
}

describe('capture-run', () => {
  it("hands a finished run's model over as a checkpoint of that run", async () => {
    const { session, answers } = newSession();
    await session.handle({
      type: 'start',
      config: {
        task: 'mlp-spirals',
        batchSize: 32,
        steps: 5,
        seed: 4,
        evalInterval: 5,
        target: null,
        optimizers: [
          { id: 'sgd', label: 'plain', hyper: { lr: 0.1 } },
          { id: 'kfac-reduce', label: 'curved', hyper: { lr: 0.05, damping: 0.01 } },
        ],
      },
    });
    await session.settled();
    await session.handle({ type: 'capture-run', requestId: 'r1', run: 1 });
    await session.handle({ type: 'capture-run', requestId: 'r2', run: 0 });
    await session.handle({ type: 'capture-run', requestId: 'r3', run: 7 });
    const [one, zero, seven] = answers();
    expect(one).toMatchObject({ requestId: 'r1', run: 1 });
    const checkpoint = decodeCheckpoint(one.bytes!);
    expect(checkpoint).toMatchObject({ task: 'mlp-spirals', seed: 4, step: 5, origin: { optimizer: 'kfac-reduce', label: 'curved' } });
    // The two runs trained differently from the same start: their weights differ.
    const other = decodeCheckpoint(zero.bytes!);
    expect(Array.from(other.params[0].data)).not.toEqual(Array.from(checkpoint.params[0].data));
    expect(seven).toMatchObject({ requestId: 'r3', bytes: null, error: expect.stringMatching(/run 7 is not a run of this experiment/) });
  });

  it('is refused with no experiment and while the runs step', async () => {
    const { session, answers } = newSession();
    await session.handle({ type: 'capture-run', requestId: 'none', run: 0 });
    expect(answers()[0]).toMatchObject({ bytes: null, error: expect.stringMatching(/no experiment/) });
    void session.handle({
      type: 'start',
      config: { task: 'mlp-spirals', batchSize: 32, steps: 5000, seed: 1, evalInterval: 1000, target: null, optimizers: [{ id: 'sgd' }] },
    });
    for (let i = 0; i < 200 && session.labStatus !== 'running'; i++) await new Promise((r) => setTimeout(r, 10));
    await session.handle({ type: 'capture-run', requestId: 'busy', run: 0 });
    expect(answers()[1]).toMatchObject({ requestId: 'busy', bytes: null, error: expect.stringMatching(/training: pause it/) });
  });
});
