import { readdirSync } from 'node:fs';
import { build, type Metafile, type Platform } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { handlerEntry } from '../../lib/private/paths.ts';
import { SIMPAIR_BUNDLING } from '../../lib/private/simpair-function.ts';
import { ROOT } from '../helpers/paths.ts';

/** Every Lambda handler (a folder of functions/ with an index.ts, commons aside). */
const FUNCTIONS = readdirSync(`${ROOT}/functions`, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'commons')
  .map((d) => d.name)
  .sort();

/** The handlers that run BERT, and so the only ones that may require onnxruntime-node. */
const ONNX_RUNTIME_USERS = ['embed-shard', 'predict'];

/**
 * The external packages the handler's bundle requires or imports, found as the stack bundles
 * it (SIMPAIR_BUNDLING, the settings simpairFunction gives NodejsFunction): dynamic imports
 * and requires anywhere in the bundled code count, not only those run at load time.
 */
async function externalsOf(fn: string): Promise<string[]> {
  const { format, target, platform, mainFields, externalModules, banner, define } = SIMPAIR_BUNDLING;
  const result = await build({
    entryPoints: [handlerEntry(fn)],
    bundle: true,
    write: false,
    metafile: true,
    outfile: `${fn}.js`,
    logLevel: 'silent',
    format: format === 'cjs' ? 'cjs' : 'esm',
    target,
    platform: platform as Platform,
    mainFields,
    external: [...externalModules],
    banner: { js: banner },
    define,
  });
  const imports = Object.values((result.metafile as Metafile).outputs).flatMap((o) => o.imports);
  return [...new Set(imports.filter((i) => i.external && !i.path.startsWith('node:')).map((i) => i.path))].sort();
}

describe('Lambda bundles (esbuild, as the stack bundles them)', () => {
  it('finds the eight handlers', () => {
    expect(FUNCTIONS).toHaveLength(8);
  });

  it.each(FUNCTIONS)('functions/%s: no TensorFlow.js (nor vega) anywhere in the bundle; onnxruntime-node only where BERT runs', async (fn) => {
    const externals = await externalsOf(fn);
    expect(externals.filter((p) => p.startsWith('@tensorflow/') || p === 'vega')).toEqual([]);
    expect(externals.includes('onnxruntime-node')).toBe(ONNX_RUNTIME_USERS.includes(fn));
  });

  it('the check sees an external where one is required (the training core imports TF.js)', async () => {
    const { format, platform, externalModules } = SIMPAIR_BUNDLING;
    const result = await build({
      entryPoints: [`${ROOT}/src/classifier/index.ts`],
      bundle: true,
      write: false,
      metafile: true,
      outfile: 'classifier.js',
      logLevel: 'silent',
      format: format === 'cjs' ? 'cjs' : 'esm',
      platform: platform as Platform,
      external: [...externalModules],
    });
    const paths = Object.values((result.metafile as Metafile).outputs).flatMap((o) => o.imports.map((i) => i.path));
    expect(paths).toContain('@tensorflow/tfjs-core');
  });
});
