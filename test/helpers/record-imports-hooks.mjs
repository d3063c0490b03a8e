// Module hooks of record-imports.mjs (they run on Node's hooks thread).
import { appendFileSync } from 'node:fs';

let log;
let prefix;

export function initialize(data) {
  log = data.log;
  prefix = data.prefix;
}

export async function resolve(specifier, context, nextResolve) {
  if (log && prefix && specifier.startsWith(prefix)) appendFileSync(log, `${specifier}\n`);
  return nextResolve(specifier, context);
}
