/**
 * Install hygiene for today's and the next npm (issue 9, point 12): every dependency install
 * script is declared in package.json's `allowScripts` (onnxruntime-node's denied: on Linux x64
 * its only job is downloading the CUDA provider, which needs the network and which simpair never
 * uses), and no project config npm does not know. The full offline `npm ci` of a fresh copy
 * runs in scripts/check-install.sh (a CI step: it takes a minute).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

describe('scripts/make-venv.sh (setup-python.sh, bench-python-setup.sh)', () => {
  // A stand-in venv: its python records the pip calls and answers the torch-version probe with
  // FAKE_TORCH. It does not install anything (real pip is exercised by setup-python.sh in CI);
  // what it checks is what the script says and asks pip for.
  function makeVenv(fakeTorch: string, env: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'simpair-venv-'));
    mkdirSync(join(dir, 'venv', 'bin'), { recursive: true });
    const python = join(dir, 'venv', 'bin', 'python');
    writeFileSync(python, `#!/bin/sh\nif [ "$1" = "-c" ]; then echo "${fakeTorch}"; else echo "$@" >> "${join(dir, 'pip.log')}"; fi\n`);
    chmodSync(python, 0o755);
    const res = spawnSync('bash', ['-c', `source scripts/make-venv.sh && make_venv "${join(dir, 'venv')}" scripts/requirements.txt`], {
      cwd: ROOT,
      env: { ...process.env, BASE_PYTHON: 'python3', TORCH_INDEX_URL: '', ...env },
      encoding: 'utf8',
    });
    const pip = readFileSync(join(dir, 'pip.log'), 'utf8');
    rmSync(dir, { recursive: true, force: true });
    return { ...res, pip };
  }

  it('names each step as it starts (issue 19: two minutes with no output)', () => {
    const res = makeVenv('2.13.0+cpu ');
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/make-venv: step 1\/2: torch 2\.13\.0 .*minutes/);
    expect(res.stdout).toMatch(/make-venv: step 2\/2: requirements\.txt/);
    expect(res.stderr).not.toMatch(/warning/);
  });

  it('asks TORCH_INDEX_URL for torch when set, and warns when the torch installed is a CUDA build', () => {
    const res = makeVenv('2.13.0+cu126 12.6', { TORCH_INDEX_URL: 'https://download.pytorch.org/whl/cpu' });
    expect(res.pip).toMatch(/install --quiet --index-url https:\/\/download\.pytorch\.org\/whl\/cpu torch==2\.13\.0/);
    expect(res.stderr).toMatch(/warning: torch 2\.13\.0\+cu126 12\.6 is a CUDA build.*TORCH_INDEX_URL=https:\/\/download\.pytorch\.org\/whl\/cpu/);
  });
});
