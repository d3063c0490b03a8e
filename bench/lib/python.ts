import { runJsonChild } from './child.ts';
import { access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';

/**
 * The Python interpreter of the reference: `SIMPAIR_REF_PYTHON`, else `.venv-ref/bin/python`
 * (made by scripts/bench-python-setup.sh). Undefined when neither exists.
 */
export async function findReferencePython(root: string): Promise<string | undefined> {
  const candidates = [process.env.SIMPAIR_REF_PYTHON, join(root, '.venv-ref/bin/python')].filter((c): c is string => Boolean(c));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/**
 * Runs a Python script of the bench and returns the JSON object on the last line of its
 * stdout; stderr is forwarded (TensorFlow's start-up chatter filtered).
 */
export function runPythonJson<T>(python: string, root: string, script: string, args: readonly string[], label: string): Promise<T> {
  return runJsonChild<T>(python, [join(root, script), ...args], {
    cwd: root,
    env: { ...process.env, TF_USE_LEGACY_KERAS: '1', HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', TF_CPP_MIN_LOG_LEVEL: '2', PYTHONUNBUFFERED: '1' },
    label,
    name: script,
    forward: (line) => /^\[ref\]|^\[interop\]|Error|Traceback/.test(line),
  });
}
