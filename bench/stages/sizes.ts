import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { BERT_BASE_RANDOM, MINILM } from '../lib/config.ts';
import type { BenchContext } from '../lib/context.ts';
import { note } from '../lib/log.ts';

const execFileAsync = promisify(execFile);
const MiB = 2 ** 20;
/** Lambda's limit on a function's unzipped code plus all its layers. */
const LAMBDA_UNZIPPED_LIMIT = 250 * MiB;

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
 * embedding shard per pair (from the stores of this run), the Lambda bundles and layers as
 * `cdk synth` writes them (synthesized into the work directory, offline; see
 * {@link lambdaAssetSizes}), and the layer builds (layers/<name>/build).
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
  out.push(...(await lambdaAssetSizes(ctx)));
  let layersFound = 0;
  for (const layer of await listDirs(join(ctx.root, 'layers'))) {
    const build = join(ctx.root, 'layers', layer, 'build');
    const bytes = await sizeOf(build);
    if (bytes === undefined) continue;
    layersFound++;
    out.push({ what: `${relative(ctx.root, build)} (Lambda layer, unzipped)`, bytes, note: bytes > LAMBDA_UNZIPPED_LIMIT ? 'over the 250 MB Lambda limit' : undefined });
  }
  if (layersFound === 0) out.push({ what: 'Lambda layers (layers/*/build)', note: 'not built' });
  return out;
}

function humanBytes(bytes: number): string {
  return bytes < MiB ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / MiB).toFixed(1)} MiB`;
}

/** The parts of a synthesized CloudFormation template the sizes need. */
interface TemplateResource {
  readonly Type: string;
  readonly Metadata?: Record<string, unknown>;
  readonly Properties?: { readonly Layers?: readonly unknown[] };
}

/**
 * Runs `cdk synth` into the work directory (no deployment, no AWS call: esbuild bundles and
 * layer copies); on failure falls back to the repository's cdk.out, if any.
 */
async function synthesize(ctx: BenchContext): Promise<{ dir: string; how: string } | undefined> {
  const dir = join(ctx.workDir, 'cdk.out');
  const t0 = performance.now();
  try {
    await execFileAsync(process.execPath, [join(ctx.root, 'node_modules/aws-cdk/bin/cdk'), 'synth', '--quiet', '--no-notices', '--no-version-reporting', '--output', dir], {
      cwd: ctx.root,
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
      timeout: 600_000,
      maxBuffer: 64 * MiB,
    });
    const seconds = (performance.now() - t0) / 1000;
    note(`cdk synth: ${seconds.toFixed(0)} s`);
    return { dir, how: `cdk synth of this checkout (${seconds.toFixed(0)} s)` };
  } catch (err) {
    note(`cdk synth failed, using cdk.out if present: ${(err as Error).message.split('\n')[0]}`);
    const existing = join(ctx.root, 'cdk.out');
    return existsSync(existing) ? { dir: existing, how: 'cdk.out of an earlier npm run synth (this synth failed)' } : undefined;
  }
}

/**
 * Every Lambda function's bundle and every layer of the synthesized stack (unzipped bytes of
 * its cdk.out asset), named by construct path; a function's note lists its layers and the
 * total against Lambda's 250 MB limit.
 */
async function lambdaAssetSizes(ctx: BenchContext): Promise<SizeEntry[]> {
  const synth = await synthesize(ctx);
  if (!synth) return [{ what: 'Lambda bundles and layers (cdk synth)', note: 'cdk synth failed and no cdk.out: run npm run synth' }];
  const out: SizeEntry[] = [];
  const templates = (await readdir(synth.dir)).filter((f) => f.endsWith('.template.json'));
  for (const file of templates) {
    const resources = (JSON.parse(await readFile(join(synth.dir, file), 'utf8')) as { Resources?: Record<string, TemplateResource> }).Resources ?? {};
    const assetOf = (r: TemplateResource) => (typeof r.Metadata?.['aws:asset:path'] === 'string' ? (r.Metadata['aws:asset:path'] as string) : undefined);
    const nameOf = (r: TemplateResource) => String(r.Metadata?.['aws:cdk:path'] ?? '?').replace(/\/Resource$/, '');
    const layers = new Map<string, { name: string; bytes: number | undefined }>();
    for (const [id, r] of Object.entries(resources)) {
      const asset = assetOf(r);
      if (r.Type !== 'AWS::Lambda::LayerVersion' || !asset) continue;
      const layer = { name: nameOf(r), bytes: await sizeOf(join(synth.dir, asset)) };
      layers.set(id, layer);
      out.push({ what: `Lambda layer ${layer.name} (unzipped)`, bytes: layer.bytes, note: synth.how });
    }
    for (const r of Object.values(resources)) {
      const asset = assetOf(r);
      if (r.Type !== 'AWS::Lambda::Function' || !asset) continue;
      const bytes = await sizeOf(join(synth.dir, asset));
      const js = await sizeOf(join(synth.dir, asset, 'index.js'));
      const map = await sizeOf(join(synth.dir, asset, 'index.js.map'));
      const used = (r.Properties?.Layers ?? []).map((l) => layers.get(String((l as { Ref?: unknown }).Ref)));
      const total = (bytes ?? 0) + used.reduce((a, l) => a + (l?.bytes ?? 0), 0);
      const layerNames = used.map((l) => l?.name.split('/').pop() ?? 'external').join(' + ');
      out.push({
        what: `Lambda ${nameOf(r)}: bundle`,
        bytes,
        note: `${js !== undefined ? `index.js ${humanBytes(js)}${map !== undefined ? ` + source map ${humanBytes(map)}` : ''}; ` : ''}layers: ${layerNames || 'none'}; with layers ${humanBytes(total)} unzipped${total > LAMBDA_UNZIPPED_LIMIT ? ' (over the 250 MB limit)' : ''}`,
      });
    }
  }
  return out;
}
