// Test helper (not a test file): the project's Python environment (.venv, made by
// scripts/setup-python.sh), for tests that check simpair's output with Python's own tools.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { ROOT } from './paths.ts';

/** The venv's interpreter. */
export const PYTHON = join(ROOT, '.venv', 'bin', 'python');

/**
 * Set (to 1) by CI after `bash scripts/setup-python.sh`: a missing .venv then fails the Python
 * tests instead of skipping them, so CI cannot pass by skipping.
 */
export const REQUIRE_PYTHON_ENV = 'SIMPAIR_TEST_REQUIRE_PYTHON';

/** Runs a script of scripts/ with the venv's Python; resolves with its stdout. */
export function runPython(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [join(ROOT, 'scripts', script), ...args], { cwd: ROOT, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${script} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * `describe` that needs the project's Python environment: skipped with a message when .venv
 * is absent, failing instead with `SIMPAIR_TEST_REQUIRE_PYTHON=1`.
 */
export function describeWithPython(name: string, body: () => void): void {
  const available = existsSync(PYTHON);
  const title = `${name} [Python .venv]`;
  if (!available && process.env[REQUIRE_PYTHON_ENV] !== '1') {
    console.warn(`Skipping "${title}": ${PYTHON} is absent; run \`bash scripts/setup-python.sh\` (about 2.5 min) to run it.`);
    describe.skip(title, body);
    return;
  }
  describe(title, () => {
    if (!available) {
      it(`has the Python environment (${REQUIRE_PYTHON_ENV}=1)`, () => {
        throw new Error(`${REQUIRE_PYTHON_ENV}=1 but ${PYTHON} is absent; run bash scripts/setup-python.sh first.`);
      });
      return;
    }
    body();
  });
}
