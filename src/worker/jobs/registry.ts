// The worker's job kinds (src/worker/protocol.ts: JOB_KINDS), each defined in its own module.
import type { JobKind } from '../protocol.ts';
import { curvatureJob } from './curvature-job.ts';
import { diffusionJob } from './diffusion-job.ts';
import { editJob } from './edit-job.ts';
import type { JobDefinition } from './job.ts';
import { pruneJob } from './prune-job.ts';
import { trainJob } from './train-job.ts';
import { influenceJob } from './influence-job.ts';
import { thermoJob } from './thermo-job.ts';
import { ngdJob } from './ngd-job.ts';
import { marglikJob } from './marglik-job.ts';

export const JOBS: Readonly<Record<JobKind, JobDefinition<never, unknown>>> = {
  train: trainJob as JobDefinition<never, unknown>,
  influence: influenceJob as JobDefinition<never, unknown>,
  thermo: thermoJob as JobDefinition<never, unknown>,
  ngd: ngdJob as JobDefinition<never, unknown>,
  curvature: curvatureJob as JobDefinition<never, unknown>,
  diffusion: diffusionJob as JobDefinition<never, unknown>,
  edit: editJob as JobDefinition<never, unknown>,
  prune: pruneJob as JobDefinition<never, unknown>,
  marglik: marglikJob as JobDefinition<never, unknown>,
};
