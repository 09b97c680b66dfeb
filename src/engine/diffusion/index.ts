// The small denoising diffusion model of the influence tool (docs/curvature-tools.md §3): schedule,
// denoiser, (t, ε) draws and their batches, training, sampling, per-point losses, influence.
export * from './schedule.ts';
export * from './denoiser.ts';
export * from './point-cloud.ts';
export * from './draws.ts';
export * from './draw-loss.ts';
export * from './train.ts';
export * from './sample.ts';
export * from './setup.ts';
export * from './influence.ts';
