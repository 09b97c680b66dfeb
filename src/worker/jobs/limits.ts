// The jobs' limits, in a module without imports so that the page's URL state can share them
// without pulling the engine into the main thread.

/** A live page trains for minutes at most; longer training belongs to `npm run lab`. */
export const MAX_TRAIN_STEPS = 5000;
/** The page analyses a few hundred examples at most: enough for the spectra, quick on a laptop GPU. */
export const MAX_CURVATURE_EXAMPLES = 2048;
/** A dense exact block of n parameters costs n² memory and an n×n eigendecomposition on the host. */
export const MAX_EXACT_PARAMS = 4096;
