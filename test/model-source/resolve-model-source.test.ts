import { cp, mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModelSource } from '../../src/model-source/resolve-model-source.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { TINY_BERT } from '../helpers/paths.ts';
import { startFakeHub } from '../helpers/fake-hub.ts';

let cacheDir: string;
beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'simpair-src-'));
});
afterAll(() => rm(cacheDir, { recursive: true, force: true }));

describe('resolveModelSource', () => {
  it('accepts a local directory in the hub layout', async () => {
    const m = await resolveModelSource(TINY_BERT);
    expect(m).toEqual({ dir: TINY_BERT, onnxFile: 'onnx/model.onnx', modelId: TINY_BERT });
  });

  it('names every missing file of a local directory and the layout', async () => {
    await expect(resolveModelSource(cacheDir)).rejects.toThrow(/lacks config\.json, tokenizer\.json, onnx\/model\.onnx/);
    const floatOnly = join(cacheDir, 'float-only');
    await cp(TINY_BERT, floatOnly, { recursive: true, filter: (f) => !f.endsWith('model_quantized.onnx') });
    await expect(resolveModelSource(floatOnly, { quantized: true })).rejects.toThrow(/lacks onnx\/model_quantized\.onnx/);
    await expect(resolveModelSource('./no/such/dir')).rejects.toThrow(/does not exist/);
  });

  it('downloads a hub id (bert-base-uncased via its ONNX export) from the configured endpoint', async () => {
    const files = Object.fromEntries(
      await Promise.all(
        ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'].map(async (f) => [f, { body: await readFile(join(TINY_BERT, f)), lfs: f.endsWith('.onnx') }]),
      ),
    );
    const hub = await startFakeHub({ 'Xenova/bert-base-uncased': files });
    try {
      const m = await resolveModelSource('bert-base-uncased', { endpoint: hub.url, cacheDir, offline: false });
      expect(m.modelId).toBe('bert-base-uncased');
      expect(m.dir).toBe(join(cacheDir, 'hub', 'Xenova', 'bert-base-uncased', 'main'));
      expect((await readFile(join(m.dir, 'onnx/model.onnx'))).equals(files['onnx/model.onnx'].body)).toBe(true);
    } finally {
      await hub.close();
    }
  });

  it('copies an s3:// prefix to the local cache through the store', async () => {
    const storeRoot = await mkdtemp(join(tmpdir(), 'simpair-s3src-'));
    const store = new FsObjectStore(storeRoot);
    for (const f of ['config.json', 'tokenizer.json', 'onnx/model.onnx']) await store.put(f, await readFile(join(TINY_BERT, f)));
    const opened: string[] = [];
    const m = await resolveModelSource('s3://my-bucket/models/tiny', {
      cacheDir,
      openS3: async (bucket, prefix) => {
        opened.push(`${bucket}|${prefix}`);
        return store;
      },
    });
    expect(opened).toEqual(['my-bucket|models/tiny/']);
    expect(m.dir).toBe(join(cacheDir, 's3', 'my-bucket', 'models', 'tiny'));
    expect((await readFile(join(m.dir, 'tokenizer.json'))).equals(await readFile(join(TINY_BERT, 'tokenizer.json')))).toBe(true);
    await store.delete('config.json');
    await expect(resolveModelSource('s3://other/x', { cacheDir, openS3: async () => store })).rejects.toThrow(/s3:\/\/other\/x lacks config\.json/);
    await rm(storeRoot, { recursive: true, force: true });
  });
});
