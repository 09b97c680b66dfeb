// The hyperparameter reference page, rendered from the schema.
import { docsTable, GROUP_IDS, SCHEMA, type GroupSpec } from './schema.ts';

/** The primary settings of every optimizer group (the ones the lab shows at once), as a markdown list. */
function primaryList(): string {
  const lines: string[] = [];
  for (const id of GROUP_IDS) {
    const spec = SCHEMA[id] as GroupSpec;
    const keys = spec.params.filter((p) => p.primary === true).map((p) => `\`${id}.${p.key}\``);
    if (keys.length > 0) lines.push(`- ${spec.label}: ${keys.join(', ')}`);
  }
  return lines.join('\n');
}

export function hyperparameterDocs(): string {
  return `# Hyperparameters

Generated from \`src/engine/optim/schema.ts\` by \`npm run docs\` — the same schema the lab's
controls, the URL state and the CLI read. Set a value on the command line or in a URL as
\`group.key=value\`, e.g. \`adam.lr=0.003\`.

The primary settings, the ones to tune first (the lab shows them at once and the rest of a group
under "More settings"):

${primaryList()}

${docsTable().trim()}
`;
}
