import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (lib/private/ is two levels down). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Entry file of a handler under functions/. */
export function handlerEntry(name: string): string {
  return join(REPO_ROOT, 'functions', name, 'index.ts');
}
