import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from '../helpers/cli.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

/** Debian's Chromium (`apt-get install chromium`); playwright-core drives it, nothing is downloaded. */
const CHROMIUM = process.env.SIMPAIR_TEST_CHROMIUM ?? '/usr/bin/chromium';
/** Set (to 1) by CI after installing Chromium: its absence then fails instead of skipping. */
const REQUIRE_CHROMIUM_ENV = 'SIMPAIR_TEST_REQUIRE_CHROMIUM';
/** Screenshots, kept as test artefacts (git-ignored). */
const ARTEFACTS = join(ROOT, '.test-artifacts', 'try-page');

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env[REQUIRE_CHROMIUM_ENV] !== '1') {
  console.warn(`Skipping the browser test of the page: no Chromium at ${CHROMIUM}; install Debian's package (apt-get install chromium) or set SIMPAIR_TEST_CHROMIUM.`);
}

describe.runIf(haveChromium || process.env[REQUIRE_CHROMIUM_ENV] === '1')('the page in headless Chromium', () => {
  let work: string;
  let server: Awaited<ReturnType<typeof startServe>> | undefined;
  let browser: import('playwright-core').Browser | undefined;

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`${REQUIRE_CHROMIUM_ENV}=1 but there is no Chromium at ${CHROMIUM}.`);
    work = await mkdtemp(join(tmpdir(), 'simpair-browser-'));
    await mkdir(ARTEFACTS, { recursive: true });
    server = await startServe(['--store', join(work, 'store'), '--model', TINY_BERT, '--max-len', '16', '--epochs', '1', '--no-watch']);
    const { chromium } = await import('playwright-core');
    // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('uploads a dataset, sees its run finish, then types a pair and reads the answer the API gives; no request leaves the server', async () => {
    const url = server!.url;
    const page = await browser!.newPage();
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(url) && !r.url().startsWith('blob:')) foreign.push(r.url());
    });
    await page.goto(url);
    await expect.poll(() => page.textContent('#model-status')).toMatch(/No model in service yet/);
    await page.screenshot({ path: join(ARTEFACTS, '1-empty.png'), fullPage: true });

    await page.setInputFiles('#dataset', join(ROOT, 'examples', 'train.tsv'));
    await page.getByRole('button', { name: 'Upload and train' }).click();
    await expect.poll(() => page.textContent('#upload-status')).toMatch(/Run run-[\w-]+ started/);
    const state = () => page.getAttribute('#runs tbody tr:first-child', 'data-state');
    await expect.poll(state, { timeout: 110_000, interval: 1000 }).toMatch(/SUCCEEDED|FAILED/);
    expect(await state()).toBe('SUCCEEDED');
    await expect.poll(() => page.textContent('#model-status'), { timeout: 10_000 }).toMatch(/^Model .+, runs on ONNX Runtime\.$/);
    const facts = await page.locator('#model-facts').textContent();
    expect(facts).toMatch(/maxLen\s*16/);
    // The held-out figures of the cloud run (not the last epoch's training accuracy), beside the encoder baseline's.
    expect(facts).toMatch(/Evaluated on\s*the validation rows \(the last 5 of 48\)/);
    expect(facts).toMatch(/Encoder baseline ROC AUC\s*[01]\.\d{4}/);
    // The store flow's training step draws the curves and the ROC (model and encoder baseline): both shown, neither broken.
    const pictures = page.locator('#model-pictures img');
    await expect.poll(() => pictures.count()).toBe(2);
    for (let i = 0; i < 2; i++) await expect.poll(() => pictures.nth(i).evaluate((img) => { const i = img as unknown as { complete: boolean; naturalWidth: number }; return i.complete && i.naturalWidth > 0; })).toBe(true);

    await page.getByLabel('First sentence').fill('A man is eating food.');
    await page.getByLabel('Second sentence').fill('A man is eating a meal.');
    await page.getByRole('button', { name: 'Compare' }).click();
    // The first prediction loads the model: seconds on a loaded machine (poll's default is 1 s).
    await expect.poll(() => page.textContent('#answer'), { timeout: 30_000 }).toMatch(/^Probability 0\.\d{4}: (similar \(a paraphrase\)|not similar) at threshold 0\.5\.$/);
    await page.screenshot({ path: join(ARTEFACTS, '2-answer.png'), fullPage: true });

    const shown = Number(await page.getAttribute('#answer', 'data-probability'));
    const api = await fetch(`${url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pairs: [{ sentence1: 'A man is eating food.', sentence2: 'A man is eating a meal.' }] }),
    });
    expect(shown).toBe(((await api.json()) as { predictions: { probability: number }[] }).predictions[0].probability);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('in --model-dir mode asks no GET /runs; with a token it points at its own "Access token" box, not an HTTP header (issue 19)', async () => {
    const model = join(work, 'model');
    const { simpair } = await import('../helpers/cli.ts');
    const trained = await simpair(['run', '--data', join(ROOT, 'examples', 'train.tsv'), '--model', TINY_BERT, '--out', model, '--max-len', '16', '--epochs', '1']);
    expect(trained.code, trained.stderr).toBe(0);
    const token = 'page-test-token-1234';
    const served = await startServe(['--model-dir', model, '--token', token]);
    try {
      const page = await browser!.newPage();
      const asked: string[] = [];
      const failed: number[] = [];
      page.on('request', (r) => asked.push(new URL(r.url()).pathname));
      page.on('response', (r) => {
        if (r.status() === 404) failed.push(r.status());
      });
      await page.goto(served.url);
      await expect.poll(() => page.textContent('#model-status'), { timeout: 30_000 }).toMatch(/needs an access token: enter it in "Access token" below/);
      expect(await page.textContent('#model-status')).not.toMatch(/Authorization|Bearer/);
      expect(await page.getAttribute('#token-box', 'open')).not.toBeNull();
      await page.getByLabel('Token (only if the server was started with one)').fill(token);
      await page.getByLabel('First sentence').fill('A man is eating food.');
      await page.getByLabel('Second sentence').fill('A man is eating a meal.');
      await page.getByRole('button', { name: 'Compare' }).click();
      await expect.poll(() => page.textContent('#answer'), { timeout: 30_000 }).toMatch(/^Probability 0\.\d{4}/);
      expect(asked).not.toContain('/runs');
      expect(failed).toEqual([]);
      await page.close();
    } finally {
      await served.stop();
    }
  });
});
