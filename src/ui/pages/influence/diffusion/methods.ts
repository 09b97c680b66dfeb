// The methods the diffusion section offers, in display order (the worker's diffusion job accepts the same).
import type { DiffusionMethod } from '../../../../worker/jobs/diffusion-job.ts';

export type DiffusionMethodId = DiffusionMethod;
export const DIFFUSION_METHODS_FOR_UI: readonly DiffusionMethodId[] = ['identity', 'kfac', 'ekfac'];
