import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { BERT_BASE_RANDOM, MINILM } from '../lib/config.ts';
import type { BenchContext } from '../lib/context.ts';

/** One measured size. */
export interface SizeEntry {
  readonly what: string;
  readonly bytes?: number;
  readonly note?: string;
}

async function sizeOf(path: string): Promise<number | undefined> {
  let s;
  try {
    s = await stat(path);
  } catch {
    return undefined;
  }
  if (!s.isDirectory()) return s.size;
  let total = 0;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    total += (await sizeOf(join(path, entry.name))) ?? 0;
  }
  return total;
}

async function listDirs(path: string): Promise<string[]> {
  try {
    return (await readdir(path, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * Bytes on disk: the ONNX files, the tokenizer, a trained classifier directory, the
 * embedding shard per pair (from the stores of this run), and the Lambda bundles (cdk.out
 * assets) and layers (layers/<name>/build) when they were built.
 */
export async function runSizesStage(ctx: BenchContext): Promise<SizeEntry[]> {
  const out: SizeEntry[] = [];
  for (const model of [MINILM, BERT_BASE_RANDOM]) {
    for (const file of ['onnx/model.onnx', 'onnx/model_quantized.onnx', 'tokenizer.json']) {
      const bytes = await sizeOf(join(ctx.root, model, file));
      out.push({ what: `${model}/${file}`, bytes, ...(bytes === undefined ? { note: 'missing: run the model scripts' } : {}) });
    }
  }
  if (ctx.modelDir) {
    for (const file of ['model.json', 'group1-shard1of1.bin', 'metadata.json']) {
      out.push({ what: `classifier ${file} (MiniLM, maxLen ${ctx.sizes.maxLen})`, bytes: await sizeOf(join(ctx.modelDir, file)) });
    }
  }
  const store = [...ctx.stores.values()].find((s) => s.padding === 'max-length');
  if (store) {
    const manifest = JSON.parse(await readFile(join(store.train.dir, 'manifest.json'), 'utf8')) as { count: number; shards: { bytes: number }[] };
    const bytes = manifest.shards.reduce((a, s) => a + s.bytes, 0);
    out.push({ what: `embedding shard per pair (float32, [${store.maxLen}, ${store.hidden}])`, bytes: bytes / manifest.count, note: `${manifest.count} pairs in ${manifest.shards.length} shards` });
  }
  const assets = (await listDirs(join(ctx.root, 'cdk.out'))).filter((d) => d.startsWith('asset.'));
  if (assets.length === 0) out.push({ what: 'Lambda bundles (cdk.out/asset.*)', note: 'not built (run npm run synth)' });
  for (const asset of assets) {
    out.push({ what: `cdk.out/${asset.slice(0, 18)}… (Lambda asset)`, bytes: await sizeOf(join(ctx.root, 'cdk.out', asset)) });
  }
  let layersFound = 0;
  for (const layer of await listDirs(join(ctx.root, 'layers'))) {
    const build = join(ctx.root, 'layers', layer, 'build');
    const bytes = await sizeOf(build);
    if (bytes === undefined) continue;
    layersFound++;
    out.push({ what: `${relative(ctx.root, build)} (Lambda layer, unzipped)`, bytes, note: bytes > 250 * 2 ** 20 ? 'over the 250 MB Lambda limit' : undefined });
  }
  if (layersFound === 0) out.push({ what: 'Lambda layers (layers/*/build)', note: 'not built' });
  return out;
}
