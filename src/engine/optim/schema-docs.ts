// The hyperparameter reference page, rendered from the schema.
import { docsTable } from './schema.ts';

export function hyperparameterDocs(): string {
  return `# Hyperparameters

Generated from \`src/engine/optim/schema.ts\` by \`npm run docs\` — the same schema the lab's
controls, the URL state and the CLI read. Set a value on the command line or in a URL as
\`group.key=value\`, e.g. \`adam.lr=0.003\`.

${docsTable().trim()}
`;
}
