/**
 * Install hygiene for today's and the next npm (issue 9, point 12): every dependency install
 * script is declared in package.json's `allowScripts` (onnxruntime-node's denied: on Linux x64
 * its only job is downloading the CUDA provider, which needs the network and which simpair never
 * uses), and no project config npm does not know. The full offline `npm ci` of a fresh copy
 * runs in scripts/check-install.sh (a CI step: it takes a minute).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paths.ts';

function npm(args: string[]) {
  // npm's own environment variables from an `npm test` parent would mask the project's config.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  return spawnSync('npm', args, { cwd: ROOT, env, encoding: 'utf8' });
}

describe('npm install scripts and config', () => {
  it('covers every dependency install script with an allowScripts decision', () => {
    const out = npm(['install-scripts', 'ls']);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout + out.stderr).not.toMatch(/not yet covered/);
  });

  it('denies onnxruntime-node its download script and allows esbuild', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
    expect(pkg.allowScripts).toMatchObject({ 'onnxruntime-node': false, esbuild: true });
  });

  it('sets no project config npm does not know (npm warns it will stop working)', () => {
    const out = npm(['config', 'list']);
    expect(out.status).toBe(0);
    expect(out.stderr).not.toMatch(/Unknown (project|user|builtin)? ?config/);
  });
});
