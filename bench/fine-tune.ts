/**
 * Bench of `simpair run --fine-tune-encoder` against its Python reference
 * (bench/reference/fine_tune_reference.py: transformers + PyTorch CPU) on MRPC, same model,
 * rows, maxLen, epochs, batch size and learning rates; the frozen encoder's cosine baseline
 * (from the same simpair run) beside them. One seed per invocation.
 *
 * Usage: node bin/run-ts.js bench/fine-tune.ts [--train-rows N] [--test-rows N] [--epochs 3]
 *          [--max-len 64] [--seed 42] [--no-reference]
 * Needs the tensorflow backend, models/all-MiniLM-L6-v2 (scripts/export_minilm.py) and, for the
 * reference, .venv (scripts/setup-python.sh) or SIMPAIR_FT_PYTHON. Writes
 * bench/results/fine-tune-<time>.json and prints a Markdown table.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runJob } from '../src/pipeline/run-job.ts';
import { runJsonChild } from './lib/child.ts';
import { MRPC_FILES } from './lib/mrpc.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    'train-rows': { type: 'string' },
    'test-rows': { type: 'string' },
    epochs: { type: 'string', default: '3' },
    'max-len': { type: 'string', default: '64' },
    seed: { type: 'string', default: '42' },
    'no-reference': { type: 'boolean', default: false },
  },
});
const epochs = Number(values.epochs);
const maxLen = Number(values['max-len']);
const seed = Number(values.seed);
const trainRows = values['train-rows'] ? Number(values['train-rows']) : undefined;
const testRows = values['test-rows'] ? Number(values['test-rows']) : undefined;
const model = join(root, 'models', 'all-MiniLM-L6-v2');

/** The first `rows` data rows of an MRPC file (header kept), in `dir`. */
async function head(file: string, rows: number | undefined, dir: string, name: string): Promise<string> {
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/).filter((l, i) => i === 0 || l.trim() !== '');
  const out = join(dir, name);
  await writeFile(out, lines.slice(0, rows === undefined ? undefined : rows + 1).join('\r\n') + '\r\n');
  return out;
}

const work = await mkdtemp(join(tmpdir(), 'simpair-bench-fine-tune-'));
try {
  const train = await head(MRPC_FILES.train, trainRows, work, 'msr_paraphrase_train.txt');
  const test = await head(MRPC_FILES.test, testRows, work, 'msr_paraphrase_test.txt');
  const t0 = performance.now();
  const ours = await runJob({ data: train, testData: test, model, out: join(work, 'model'), maxLen, epochs, seed, fineTuneEncoder: true, fineTuneMaxHours: 24 });
  const simpairSeconds = (performance.now() - t0) / 1000;
  const steps = Math.ceil((ours.train.rows - Math.ceil(0.1 * ours.train.rows)) / 32);
  const m = ours.metrics as Record<string, number> & { encoderBaseline: Record<string, number> };
  let reference: Record<string, unknown> | { skipped: string };
  if (values['no-reference']) {
    reference = { skipped: '--no-reference' };
  } else {
    const python = process.env.SIMPAIR_FT_PYTHON ?? join(root, '.venv', 'bin', 'python');
    reference = await runJsonChild<Record<string, unknown>>(python, [
      join(root, 'bench', 'reference', 'fine_tune_reference.py'), '--mrpc', work, '--max-len', String(maxLen), '--epochs', String(epochs), '--seed', String(seed),
    ], { cwd: root, env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1', PYTHONUNBUFFERED: '1' }, label: 'reference fine-tune', name: 'fine_tune_reference.py', forward: (line) => /^\[ref-ft\]|Error|Traceback/.test(line) });
  }
  const result = {
    date: new Date().toISOString(),
    settings: { model: 'all-MiniLM-L6-v2', maxLen, epochs, batchSize: 32, seed, trainRows: ours.train.rows, testRows: ours.test?.rows, encoderLearningRate: 2e-5, headLearningRate: 1e-3, warmup: 0.1, clipNorm: 1 },
    simpair: { backend: ours.backend, accuracy: m.accuracy, f1: m.f1, rocAuc: m.rocAuc, secondsPerEpoch: ours.epochSeconds, secondsPerStep: ours.epochSeconds.map((s) => s / steps), wallSeconds: simpairSeconds },
    encoderBaseline: { accuracy: m.encoderBaseline.accuracy, f1: m.encoderBaseline.f1, rocAuc: m.encoderBaseline.rocAuc },
    reference,
  };
  await mkdir(join(root, 'bench', 'results'), { recursive: true });
  const file = join(root, 'bench', 'results', `fine-tune-${result.date.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify(result, null, 2) + '\n');
  const ref = reference as Record<string, number & number[]>;
  const row = (name: string, r: { accuracy?: number; f1?: number; rocAuc?: number }, sec?: number[]) =>
    `| ${name} | ${r.accuracy?.toFixed(3) ?? '-'} | ${r.f1?.toFixed(3) ?? '-'} | ${r.rocAuc?.toFixed(3) ?? '-'} | ${sec ? sec.map((s) => s.toFixed(0)).join(', ') : '-'} |`;
  process.stdout.write([
    `MRPC (first ${result.settings.trainRows} train / ${result.settings.testRows} test rows), all-MiniLM-L6-v2, maxLen ${maxLen}, ${epochs} epochs, seed ${seed}`,
    '| | accuracy | F1 | ROC-AUC | s/epoch |',
    '|---|---|---|---|---|',
    row(`simpair --fine-tune-encoder (${ours.backend})`, result.simpair, ours.epochSeconds),
    'skipped' in reference ? `| Python reference | skipped: ${reference.skipped} | | | |` : row('Python reference (PyTorch CPU)', ref, ref.secondsPerEpoch),
    row('cosine baseline (frozen encoder)', result.encoderBaseline),
    `written to ${file}`,
    '',
  ].join('\n'));
} finally {
  await rm(work, { recursive: true, force: true });
}
