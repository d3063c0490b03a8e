import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadHubFiles } from '../../src/model-source/hub-download.ts';
import { ModelSourceError } from '../../src/errors.ts';
import { startFakeHub } from '../helpers/fake-hub.ts';

const onnx = Buffer.alloc(300_000, 7);
const config = Buffer.from('{"hidden_size": 32}');
let hub: Awaited<ReturnType<typeof startFakeHub>>;
let cacheDir: string;

beforeAll(async () => {
  hub = await startFakeHub({
    'org/model': { 'config.json': { body: config }, 'onnx/model.onnx': { body: onnx, lfs: true } },
    'org/bad-lfs': { 'onnx/model.onnx': { body: onnx, lfs: true, wrongDigest: true } },
    'org/bad-small': { 'config.json': { body: config, wrongDigest: true } },
  });
});
afterAll(() => hub.close());
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'simpair-hub-'));
  hub.requests.length = 0;
});
afterEach(() => rm(cacheDir, { recursive: true, force: true }));

describe('downloadHubFiles', () => {
  it('downloads small and LFS files in the hub layout, verified, into the cache', async () => {
    const dir = await downloadHubFiles('org/model', ['config.json', 'onnx/model.onnx'], { endpoint: hub.url, cacheDir, offline: false });
    expect(dir).toBe(join(cacheDir, 'hub', 'org', 'model', 'main'));
    expect((await readFile(join(dir, 'config.json'))).equals(config)).toBe(true);
    expect((await readFile(join(dir, 'onnx/model.onnx'))).equals(onnx)).toBe(true);
    // The HEAD for the LFS file is not followed: its digest headers come from the hub itself.
    expect(hub.requests.filter((r) => r.method === 'HEAD').map((r) => r.path)).toEqual([
      '/org/model/resolve/main/config.json',
      '/org/model/resolve/main/onnx/model.onnx',
    ]);
    expect(hub.requests.some((r) => r.path.startsWith('/cdn/org/model::onnx/model.onnx'))).toBe(true);
  });

  it('reuses the cache without any request the second time', async () => {
    await downloadHubFiles('org/model', ['config.json', 'onnx/model.onnx'], { endpoint: hub.url, cacheDir, offline: false });
    hub.requests.length = 0;
    await downloadHubFiles('org/model', ['config.json', 'onnx/model.onnx'], { endpoint: hub.url, cacheDir, offline: false });
    expect(hub.requests).toEqual([]);
  });

  it('works offline from the cache, and says how to fix a cache miss offline', async () => {
    await downloadHubFiles('org/model', ['config.json'], { endpoint: hub.url, cacheDir, offline: false });
    await expect(downloadHubFiles('org/model', ['config.json'], { endpoint: hub.url, cacheDir, offline: true })).resolves.toContain('main');
    await expect(downloadHubFiles('org/model', ['onnx/model.onnx'], { endpoint: hub.url, cacheDir, offline: true })).rejects.toThrow(
      /not in the cache .*HF_HUB_OFFLINE=1.*local model directory/,
    );
  });

  it('rejects an LFS file whose sha256 does not match and caches nothing', async () => {
    await expect(downloadHubFiles('org/bad-lfs', ['onnx/model.onnx'], { endpoint: hub.url, cacheDir, offline: false })).rejects.toThrow(
      /Checksum mismatch .*0{64}/,
    );
    const left = await readdir(join(cacheDir, 'hub', 'org', 'bad-lfs', 'main', 'onnx')).catch(() => []);
    expect(left).toEqual([]);
  });

  it('rejects a small file whose git blob id does not match', async () => {
    await expect(downloadHubFiles('org/bad-small', ['config.json'], { endpoint: hub.url, cacheDir, offline: false })).rejects.toBeInstanceOf(ModelSourceError);
  });

  it('names the URL of a missing file, and skips missing optional files', async () => {
    await expect(downloadHubFiles('org/model', ['tokenizer.json'], { endpoint: hub.url, cacheDir, offline: false })).rejects.toThrow(
      /org\/model\/resolve\/main\/tokenizer\.json does not exist \(404\)/,
    );
    await expect(
      downloadHubFiles('org/model', ['config.json', 'tokenizer_config.json'], { endpoint: hub.url, cacheDir, offline: false, optional: ['tokenizer_config.json'] }),
    ).resolves.toBeTruthy();
  });

  it('sends HF_TOKEN as a bearer token', async () => {
    await downloadHubFiles('org/model', ['config.json'], { endpoint: hub.url, cacheDir, offline: false, token: 'hf_secret' });
    expect(hub.requests.every((r) => r.auth === 'Bearer hf_secret')).toBe(true);
  });

  it('explains an unreachable hub', async () => {
    await expect(downloadHubFiles('org/model', ['config.json'], { endpoint: 'http://127.0.0.1:9', cacheDir, offline: false })).rejects.toThrow(
      /Cannot reach .*local model directory/,
    );
  });

  it('rejects something that is not a model id', async () => {
    await expect(downloadHubFiles('../../etc', ['config.json'], { endpoint: hub.url, cacheDir })).rejects.toThrow(/not a Hugging Face model id/);
  });
});
