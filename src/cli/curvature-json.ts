// The JSON layout of `npm run curvature`: objects indented, arrays of numbers on one line, so that
// a matrix prints one row per line and a large output stays readable (plain JSON either way).

/** JSON text of a JSON-able value; a non-finite number prints as null (as JSON.stringify does). */
export function formatToolJson(value: unknown, indent = ''): string {
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => typeof v === 'number' || v === null)) return JSON.stringify(value);
    return `[\n${value.map((v) => inner + formatToolJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${formatToolJson(v, inner)}`).join(',\n')}\n${indent}}`;
  }
  if (ArrayBuffer.isView(value)) return JSON.stringify(Array.from(value as unknown as ArrayLike<number>));
  return JSON.stringify(value) ?? 'null';
}
