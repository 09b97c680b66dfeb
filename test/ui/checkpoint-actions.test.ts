// The tool pages' shared checkpoint actions (src/ui/checkpoints/checkpoint-actions.ts): what each
// one hands to the page (adopt), stores, downloads and says, with the IndexedDB library faked.
import { beforeEach, describe, expect, it, vi } from 'vitest';

const library = vi.hoisted(() => ({
  loadCheckpoint: vi.fn(),
  readUpload: vi.fn(),
  storeCheckpoint: vi.fn(),
  deleteCheckpoint: vi.fn(),
  downloadCheckpoint: vi.fn(),
}));

vi.mock('../../src/ui/checkpoints/checkpoint-library.ts', () => ({
  ...library,
  describeCheckpoint: (s: { task: string }) => `model of ${s.task}`,
}));

const { checkpointActions } = await import('../../src/ui/checkpoints/checkpoint-actions.ts');

const summary = { task: 'mlp-mnist' } as never;
const bytes = new Uint8Array([1, 2, 3]);

function setup(held: { bytes: Uint8Array; summary: never } | null = { bytes, summary }) {
  const messages: [string, string][] = [];
  const adopt = vi.fn();
  const refreshStored = vi.fn(async () => {});
  const actions = checkpointActions({
    current: () => held,
    stored: () => [{ id: 'a', name: 'first', savedAt: '2026-01-01T00:00:00Z', summary }],
    refreshStored,
    message: (kind, text) => messages.push([kind, text]),
    adopt,
    keptMessage: 'kept.',
    uploadError: 'That file cannot be used here',
  });
  return { actions, messages, adopt, refreshStored };
}

describe('checkpointActions', () => {
  beforeEach(() => Object.values(library).forEach((f) => f.mockReset()));

  it('opens a kept checkpoint under its name, and says so when it cannot', async () => {
    const { actions, adopt, messages } = setup();
    library.loadCheckpoint.mockResolvedValueOnce(bytes);
    await actions.openStored('a');
    expect(adopt).toHaveBeenCalledWith(bytes, 'kept in this browser as “first”');
    library.loadCheckpoint.mockRejectedValueOnce(new Error('gone'));
    await actions.openStored('b');
    expect(messages).toEqual([['error', 'That checkpoint could not be opened: gone']]);
  });

  it('hands an uploaded file with its summary to the page; a page that refuses it gets the page’s message', async () => {
    const { actions, adopt, messages } = setup();
    library.readUpload.mockResolvedValue({ bytes, summary });
    await actions.upload({ name: 'm.kfacckpt' } as File);
    expect(adopt).toHaveBeenCalledWith(bytes, 'the file m.kfacckpt', summary);
    adopt.mockImplementationOnce(() => {
      throw new Error('wrong task');
    });
    await actions.upload({ name: 'x.kfacckpt' } as File);
    expect(messages).toEqual([['error', 'That file cannot be used here: wrong task']]);
  });

  it('keeps, downloads and forgets, refreshing the list', async () => {
    const { actions, messages, refreshStored } = setup();
    await actions.keepInBrowser();
    expect(library.storeCheckpoint).toHaveBeenCalledWith(bytes, 'model of mlp-mnist');
    expect(messages).toEqual([['info', 'kept.']]);
    actions.download();
    expect(library.downloadCheckpoint).toHaveBeenCalledWith(bytes, summary);
    library.deleteCheckpoint.mockRejectedValueOnce(new Error('locked'));
    await actions.forgetStored('a');
    expect(messages[1]).toEqual(['error', 'The checkpoint could not be removed: locked']);
    expect(refreshStored).toHaveBeenCalledTimes(2);
  });

  it('does nothing without a model', async () => {
    const { actions, messages } = setup(null);
    await actions.keepInBrowser();
    actions.download();
    expect(library.storeCheckpoint).not.toHaveBeenCalled();
    expect(library.downloadCheckpoint).not.toHaveBeenCalled();
    expect(messages).toEqual([]);
  });
});
