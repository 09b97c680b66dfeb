// Writes docs/hyperparameters.md from the hyperparameter schema (src/engine/optim/schema.ts), the
// one source of truth; test/optim/schema-docs.test.ts fails when the file is out of date.
import { writeFileSync } from 'node:fs';
import { hyperparameterDocs } from '../src/engine/optim/schema-docs.ts';

writeFileSync(new URL('../docs/hyperparameters.md', import.meta.url), hyperparameterDocs());
console.log('wrote docs/hyperparameters.md');
