import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelSourceError } from '../../src/errors.ts';
import { embeddingModelRef, resolveModelSource, resolveRecordedEmbeddingModel } from '../../src/model-source/index.ts';
import { TINY_BERT } from '../helpers/paths.ts';

let work: string;
let configSha: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-ref-'));
  configSha = createHash('sha256').update(await readFile(join(TINY_BERT, 'config.json'))).digest('hex');
});
afterEach(() => rm(work, { recursive: true, force: true }));

/** A copy of the fixture at `dir`, as a user's exported model. */
async function modelAt(dir: string): Promise<string> {
  await mkdir(join(dir, '..'), { recursive: true });
  await cp(TINY_BERT, dir, { recursive: true });
  return dir;
}

describe('embeddingModelRef', () => {
  it('records a local model by name, config.json hash and its path relative to the classifier, never an absolute path', async () => {
    const dir = await modelAt(join(work, 'checkout', 'models', 'tiny-bert'));
    const ref = await embeddingModelRef(await resolveModelSource(dir), { classifierDir: join(work, 'checkout', 'runs', 'a') });
    expect(ref).toEqual({ source: 'local', id: 'tiny-bert', onnxFile: 'onnx/model.onnx', configSha256: configSha, path: '../../models/tiny-bert' });
    expect(JSON.stringify(ref)).not.toContain(work);
  });

  it('records the int8 file when the run used it', async () => {
    const ref = await embeddingModelRef(await resolveModelSource(TINY_BERT, { quantized: true }));
    expect(ref.onnxFile).toBe('onnx/model_quantized.onnx');
  });
});

describe('resolveRecordedEmbeddingModel', () => {
  const ref = (path?: string) => ({ source: 'local' as const, id: 'tiny-bert', onnxFile: 'onnx/model.onnx', configSha256: configSha, ...(path ? { path } : {}) });

  it('finds the model beside the classifier when both moved together', async () => {
    const dir = await modelAt(join(work, 'copied-tree', 'models', 'tiny-bert'));
    const resolved = await resolveRecordedEmbeddingModel({ embeddingModel: 'tiny-bert', embedder: ref('../../models/tiny-bert') }, { classifierDir: join(work, 'copied-tree', 'runs', 'a'), searchDirs: [] });
    expect(resolved).toMatchObject({ dir, onnxFile: 'onnx/model.onnx' });
  });

  it('finds it by name in the search directories on another machine, with the ONNX file the training used', async () => {
    const dir = await modelAt(join(work, 'elsewhere', 'tiny-bert'));
    const recorded = { embeddingModel: 'tiny-bert', embedder: { ...ref('../../gone/tiny-bert'), onnxFile: 'onnx/model_quantized.onnx' } };
    const resolved = await resolveRecordedEmbeddingModel(recorded, { classifierDir: join(work, 'runs', 'a'), searchDirs: [join(work, 'nothing-here'), join(work, 'elsewhere')] });
    expect(resolved).toMatchObject({ dir, onnxFile: 'onnx/model_quantized.onnx' });
  });

  it('skips a directory of that name whose config.json differs, and says where it looked and how to fix it', async () => {
    const dir = await modelAt(join(work, 'elsewhere', 'tiny-bert'));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', hidden_size: 32, note: 'another model' }));
    const err = await resolveRecordedEmbeddingModel({ embeddingModel: 'tiny-bert', embedder: ref() }, { searchDirs: [join(work, 'elsewhere'), join(work, 'models')] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelSourceError);
    expect((err as Error).message).toMatch(/local embedding model "tiny-bert" \(config.json sha256 [0-9a-f]{12}…\), not found here/);
    expect((err as Error).message).toContain(`${dir} (another config.json`);
    expect((err as Error).message).toContain(`${join(work, 'models', 'tiny-bert')} (absent)`);
    expect((err as Error).message).toMatch(/into \.\/models\/ or a directory listed in SIMPAIR_MODELS, or pass --model DIR/);
  });

  it('still loads older models that recorded an absolute path: there if it exists, else by its name', async () => {
    const dir = await modelAt(join(work, 'old', 'tiny-bert'));
    expect((await resolveRecordedEmbeddingModel({ embeddingModel: dir }, { searchDirs: [] })).dir).toBe(dir);
    await rename(join(work, 'old'), join(work, 'moved'));
    const resolved = await resolveRecordedEmbeddingModel({ embeddingModel: dir }, { searchDirs: [join(work, 'moved')] });
    expect(resolved.dir).toBe(join(work, 'moved', 'tiny-bert'));
    await expect(resolveRecordedEmbeddingModel({ embeddingModel: dir }, { searchDirs: [] })).rejects.toThrow(/on the training machine/);
  });
});
