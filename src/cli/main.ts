import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { basename, dirname, join, resolve } from 'node:path';
import { readDataset, writeSkippedReport, type DatasetReadResult } from '../data/index.ts';
import { SimpairError, UsageError } from '../errors.ts';
import { computeMetrics, rocCurve } from '../metrics/index.ts';
import { Predictor, type ClassifierRuntimeChoice, type PredictorOptions } from '../pipeline/predictor.ts';
import { DEFAULT_RUN_OPTIONS } from '../pipeline/run-options.ts';
import { ENCODER_BASELINE_MAX_TOKENS, evaluateStoredEncoderBaseline, type EncoderBaselineRecord } from '../pipeline/encoder-baseline.ts';
import { encoderBaselineVerdict, type ComparedFigures } from '../metrics/encoder-baseline.ts';
import { renderTrainingReport } from '../report/index.ts';
import { startHttpServer, type RunningHttpServer } from '../server/http-server.ts';
import { hasBackgroundRuns, type BackgroundRuns } from '../server/background-runs.ts';
import { log } from '../util/log.ts';
import { serveUntilSignalled } from './serve-until-signalled.ts';
import type { ApiBackend } from '../server/api-router.ts';
import { createPageBackend } from '../server/page-backend.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { FsObjectStore } from '../storage/fs-object-store.ts';
import { startProgress } from '../util/progress.ts';
import { addDatasetOptions, datasetOptionsFrom } from './dataset-options.ts';
import { table } from './format.ts';
import { checkOutputPaths } from './output-paths.ts';
import { writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, statSync } from 'node:fs';

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function int(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    const range = max === Number.MAX_SAFE_INTEGER ? `a whole number, ${min} or more` : `a whole number from ${min} to ${max}`;
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be ${range}.`);
    return n;
  };
}

function positiveNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError(`${name} must be a number above 0, got "${value}".`);
    return n;
  };
}

function fraction(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError(`must be a number in [0, 1), got "${value}".`);
  return n;
}

/** --class-weight: 'balanced' or two weights "W0,W1". */
function classWeight(value: string): 'balanced' | { 0: number; 1: number } {
  if (value === 'balanced') return value;
  const parts = value.split(',').map((p) => (p.trim() === '' ? NaN : Number(p)));
  if (parts.length !== 2 || !parts.every((w) => Number.isFinite(w) && w >= 0)) {
    throw new InvalidArgumentError(`--class-weight must be "balanced" or two weights W0,W1 (e.g. 1,2.5), got "${value}".`);
  }
  return { 0: parts[0], 1: parts[1] };
}

/** `--runtime`: what runs the classifier (see PredictorOptions.runtime). */
function runtimeOption(): Option {
  return new Option('--runtime <runtime>', "what runs the classifier: auto (ONNX Runtime: classifier.onnx, or model.json converted in memory), onnx (classifier.onnx only), tfjs (model.json on TensorFlow.js, to compare)")
    .choices(['auto', 'onnx', 'tfjs'])
    .default('auto');
}

/** The Predictor options of a `--runtime` choice; TensorFlow.js is imported for 'tfjs' alone. */
async function runtimeOptions(runtime: ClassifierRuntimeChoice): Promise<Pick<PredictorOptions, 'runtime' | 'tfjs'>> {
  if (runtime !== 'tfjs') return { runtime };
  const { loadTfjsClassifier } = await import('../classifier/tfjs-classifier.ts');
  return { runtime, tfjs: loadTfjsClassifier };
}

/**
 * The store of `--model-dir`, once it is known to hold a finished run's model: a missing or
 * unfinished directory gets one plain sentence rather than `No object "metadata.json"`.
 */
function modelDirStore(dir: string): FsObjectStore {
  const stats = statSync(dir, { throwIfNoEntry: false });
  if (!stats) throw new SimpairError(`--model-dir ${dir} does not exist; give the --out directory of a finished \`simpair run\`.`);
  if (!stats.isDirectory()) throw new SimpairError(`--model-dir ${dir} is a file; give the --out directory of a finished \`simpair run\`.`);
  if (!existsSync(join(dir, 'metadata.json'))) {
    throw new SimpairError(`--model-dir ${dir} holds no metadata.json, so it is not a model \`simpair run\` finished; give the --out directory of a finished run.`);
  }
  return new FsObjectStore(dir);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The serve token from --token or SIMPAIR_TOKEN; refuses one that cannot travel in a header. */
function serveToken(option: string | undefined): string | undefined {
  const token = option ?? process.env.SIMPAIR_TOKEN;
  if (token === undefined) return undefined;
  if (!/^[\x21-\x7e]{8,}$/.test(token)) {
    throw new SimpairError(`The token (${option === undefined ? 'SIMPAIR_TOKEN' : '--token'}) must be at least 8 printable ASCII characters without spaces; generate one with: openssl rand -hex 32`);
  }
  return token;
}

function print(json: boolean, value: unknown, human: string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : human);
}

/**
 * Where --skip-invalid's report of `data` goes: `--skipped-report`, else into `besideDir`
 * (evaluate --report's directory) or beside the data file; never into the working directory
 * (a checkout's root, where data excerpts would sit untracked). Absolute.
 */
function skippedReportPath(data: string, reportPath: string | undefined, besideDir?: string): string {
  return resolve(reportPath ?? join(besideDir ?? dirname(data), `${basename(data)}.skipped.jsonl`));
}

/** Writes skipped rows (with --skip-invalid) to their report (see {@link skippedReportPath}) and says where. */
async function reportSkipped(result: Pick<DatasetReadResult, 'file' | 'skipped'>, reportPath: string | undefined, besideDir?: string): Promise<void> {
  if (!result.skipped.length) return;
  const path = skippedReportPath(result.file, reportPath, besideDir);
  try {
    await writeSkippedReport(path, result.skipped);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new SimpairError(`Cannot write the report of ${result.skipped.length} skipped rows to ${path} (${code}); pass --skipped-report FILE in a writable directory.`, { cause: err });
  }
  process.stderr.write(`simpair: skipped ${result.skipped.length} invalid rows of ${result.file}; listed in ${path}\n`);
}

/** Terminal rows of the encoder baseline (see runEncoderBaseline). */
function baselineRows(b: EncoderBaselineRecord): [string, unknown][] {
  const rows: [string, unknown][] = [];
  if ('accuracy' in b) rows.push(['encoder baseline accuracy', b.accuracy], ['encoder baseline f1', b.f1]);
  rows.push(['encoder baseline rocAuc', b.rocAuc], ['encoder baseline threshold', b.threshold ?? ('note' in b ? b.note : null)]);
  if (b.cost) {
    const cached = b.cost.cachedSentences ? `, ${b.cost.cachedSentences} of them cached` : '';
    rows.push(['encoder baseline seconds', `${b.cost.seconds.toFixed(1)} (${b.cost.distinctSentences} distinct of ${b.cost.sentences} sentences${cached})`]);
  }
  return rows;
}

const MODEL_HELP = 'embedding model: Hugging Face id (downloaded once), local directory in the hub layout (config.json, tokenizer.json, onnx/model.onnx), or s3://bucket/prefix';

/** `--help` examples of each command, printed after its options. */
const EXAMPLES: Record<string, string[]> = {
  validate: ['simpair validate --data examples/train.tsv', 'simpair validate --data pairs.csv --sentence1-col question1 --sentence2-col question2 --label-col is_duplicate'],
  run: [
    'simpair run --data examples/train.tsv --test-data examples/test.tsv --model test/fixtures/tiny-bert --out runs/tiny --max-len 32 --epochs 2',
    'simpair run --data train.tsv --test-data test.tsv --model models/all-MiniLM-L6-v2 --out runs/minilm --max-len 64 --epochs 5',
  ],
  predict: ['simpair predict --model-dir runs/tiny --s1 "A cat sat." --s2 "A cat was sitting."', 'simpair predict --model-dir runs/tiny --pairs examples/test.tsv --json'],
  evaluate: ['simpair evaluate --model-dir runs/tiny --data examples/test.tsv --report runs/tiny/evaluate.html'],
  export: ['simpair export --model-dir runs/tiny', 'simpair export --model-dir runs/tiny --out export/pipeline.onnx'],
  serve: ['simpair serve --model-dir runs/tiny', 'simpair serve --store ./simpair-data --model models/all-MiniLM-L6-v2 --max-len 64 --epochs 3'],
};

function withExamples(cmd: Command): Command {
  const lines = EXAMPLES[cmd.name()];
  return lines ? cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`) : cmd;
}

/** Builds the `simpair` command tree. */
export function buildCli(): Command {
  const program = new Command('simpair')
    .description('Decide whether two sentences mean the same thing: BERT token embeddings into a Bi-LSTM.')
    .version(PACKAGE_VERSION)
    // A usage error prints the message and this line, not the whole help (issue 19: a
    // mistyped flag printed "Did you mean --epochs?" and then 60 lines of options).
    .showHelpAfterError('(simpair <command> --help lists the options, with examples)')
    .exitOverride();

  addDatasetOptions(
    program
      .command('validate')
      .description('check a dataset and count its rows; exit 1 listing every bad row')
      .requiredOption('--data <file>', 'dataset file (MRPC TSV, or TSV/CSV/JSONL with sentence1/sentence2/label)')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (opts) => {
    if (opts.skipInvalid) await checkOutputPaths([{ flag: '--skipped-report', path: skippedReportPath(opts.data, opts.skippedReport) }], [{ flag: '--data', path: opts.data }]);
    const result = await readDataset(opts.data, datasetOptionsFrom(opts));
    await reportSkipped(result, opts.skippedReport);
    const value = { file: result.file, format: result.format, ...result.counts, columns: result.columns, sha256: result.sha256 };
    print(opts.json, value, table(Object.entries(value)));
  });

  addDatasetOptions(
    program
      .command('run')
      .description('the main job: validate, embed with BERT, train the Bi-LSTM, evaluate, save the model')
      .requiredOption('--data <file>', 'training dataset')
      .option('--test-data <file>', 'held-out dataset to evaluate on (else the training data)')
      .option('--model <source>', MODEL_HELP, 'bert-base-uncased')
      .requiredOption('--out <dir>', 'output directory for the model, metrics and report (written only on success)')
      .option('--max-len <n>', 'tokens per pair, padding and truncation', int('--max-len', 3, 512), 128)
      .option('--epochs <n>', 'training epochs', int('--epochs', 1), 3)
      .option('--batch-size <n>', 'training batch size', int('--batch-size', 1), 32)
      .option('--validation-split <f>', 'last fraction of the training rows held out for validation', fraction, 0.1)
      .option('--seed <n>', 'random seed', int('--seed', 0), 42)
      .option('--patience <n>', 'early stopping: epochs without validation-loss improvement', int('--patience', 1))
      .option('--dropout <f>', "Keras' LSTM dropout on both Bi-LSTM layers (not the recipe; trains on the fused path)", fraction, 0)
      .option('--recurrent-dropout <f>', "Keras' LSTM recurrent_dropout on both Bi-LSTM layers (not the recipe; layers path)", fraction, 0)
      .addOption(
        new Option('--head <head>', 'recipe: Dense on the Bi-LSTM output; pooled: also [u, v, |u-v|, u*v] of the mean-pooled sentence embeddings (SBERT-style, not the recipe)')
          .choices(['recipe', 'pooled'])
          .default('recipe'),
      )
      .option('--class-weight <w>', 'weight of each class in the training loss: "balanced" (rows / (2 x rows of the class)) or W0,W1', classWeight)
      .addOption(new Option('--dtype <dtype>', 'embedding shard dtype').choices(['float32', 'float16']).default('float32'))
      .addOption(
        new Option('--padding <mode>', 'max-length: the recipe, BERT outputs at [PAD] positions go into the LSTMs; masked: BERT on real tokens only, padding zeroed and masked')
          .choices(['max-length', 'masked'])
          .default('max-length'),
      )
      .option('--quantized', 'use the int8 ONNX export (onnx/model_quantized.onnx)')
      .option('--fine-tune-encoder', 'train BERT together with the Bi-LSTM (not the recipe; needs the tensorflow backend); the model directory carries its own encoder')
      .option('--fine-tune-max-hours <h>', 'with --fine-tune-encoder: refuse when the measured time estimate exceeds this', positiveNumber('--fine-tune-max-hours'), 12)
      .option('--threads <n>', 'ONNX Runtime threads', int('--threads', 1))
      .option('--keep-embeddings', 'keep the embedding shards in <out>/embeddings')
      .option('--force', 'replace --out if it exists')
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (opts) => {
    // Imported here: training loads TensorFlow.js, which predict and serve must not.
    const { runJob } = await import('../pipeline/run-job.ts');
    const result = await runJob({
      data: opts.data,
      testData: opts.testData,
      model: opts.model,
      out: opts.out,
      maxLen: opts.maxLen,
      epochs: opts.epochs,
      batchSize: opts.batchSize,
      validationSplit: opts.validationSplit,
      seed: opts.seed,
      patience: opts.patience,
      dropout: opts.dropout,
      recurrentDropout: opts.recurrentDropout,
      classWeight: opts.classWeight,
      head: opts.head,
      dtype: opts.dtype,
      quantized: opts.quantized,
      padding: opts.padding,
      threads: opts.threads,
      keepEmbeddings: opts.keepEmbeddings,
      fineTuneEncoder: opts.fineTuneEncoder,
      fineTuneMaxHours: opts.fineTuneMaxHours,
      force: opts.force,
      dataset: datasetOptionsFrom(opts),
    });
    const m = result.metrics;
    const baseline = m.encoderBaseline as EncoderBaselineRecord;
    const verdict = encoderBaselineVerdict(m as unknown as ComparedFigures, baseline as ComparedFigures, result.evaluatedOn);
    print(
      opts.json,
      result,
      `Model written to ${result.out} (backend ${result.backend})\nMetrics on ${result.evaluatedOn}:\n` +
        table([
          ['accuracy', m.accuracy],
          ['precision', m.precision],
          ['recall', m.recall],
          ['f1', m.f1],
          ['rocAuc', m.rocAuc],
          ['majority baseline', m.majorityBaseline],
          ...baselineRows(baseline),
          ['n', m.n],
          ['seconds per epoch', result.epochSeconds.map((s) => s.toFixed(1)).join(', ')],
          ['weights kept', `epoch ${result.keptEpoch} of ${result.epochSeconds.length}`],
        ]) +
        (verdict ? `${verdict}\n` : '') +
        `Report: ${resolve(result.out, 'report.html')}\n`,
    );
    if (opts.json && verdict) process.stderr.write(`simpair: ${verdict}\n`);
  });

  addDatasetOptions(
    program
      .command('predict')
      .description('probability that sentence pairs are paraphrases')
      .requiredOption('--model-dir <dir>', 'a model directory written by `simpair run`')
      .option('--s1 <text>', 'first sentence')
      .option('--s2 <text>', 'second sentence')
      .option('--pairs <file>', 'a file of pairs (same formats as datasets; labels optional)')
      .option('--model <source>', 'override the embedding model named in metadata.json')
      .addOption(runtimeOption())
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (opts) => {
    let pairs: { sentence1: string; sentence2: string; line?: number }[];
    if (opts.pairs) {
      if (opts.s1 || opts.s2) throw new UsageError('Give either --s1/--s2 or --pairs, not both.');
      if (opts.skipInvalid) await checkOutputPaths([{ flag: '--skipped-report', path: skippedReportPath(opts.pairs, opts.skippedReport) }], [{ flag: '--pairs', path: opts.pairs }]);
      const read = await readDataset(opts.pairs, { ...datasetOptionsFrom(opts), requireLabels: false });
      await reportSkipped(read, opts.skippedReport);
      pairs = read.pairs;
    } else {
      if (!opts.s1 || !opts.s2) throw new UsageError('predict needs --s1 TEXT --s2 TEXT, or --pairs FILE.');
      pairs = [{ sentence1: opts.s1, sentence2: opts.s2 }];
    }
    const predictor = await Predictor.load(modelDirStore(opts.modelDir), '', { modelSource: opts.model, ...(await runtimeOptions(opts.runtime)) });
    const predictions = await predictor.predict(pairs);
    await predictor.dispose();
    if (!opts.pairs) {
      print(opts.json, predictions[0], `probability ${predictions[0].probability.toFixed(4)}  similar ${predictions[0].similar}\n`);
    } else {
      const rows = predictions.map((p, i) => ({ line: pairs[i].line, ...p }));
      print(opts.json, { predictions: rows }, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    }
  });

  addDatasetOptions(
    program
      .command('evaluate')
      .description('accuracy, precision, recall, F1, ROC AUC and confusion matrix of a model on a labelled dataset')
      .requiredOption('--model-dir <dir>', 'a model directory written by `simpair run`')
      .requiredOption('--data <file>', 'labelled dataset')
      .option('--model <source>', 'override the embedding model named in metadata.json')
      .option('--report <file>', 'also write an HTML report with the ROC curve')
      .option('--threads <n>', 'ONNX Runtime threads', int('--threads', 1))
      .addOption(runtimeOption())
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (opts) => {
    const reportDir = opts.report ? dirname(resolve(opts.report)) : undefined;
    const outputs = [
      ...(opts.report ? [{ flag: '--report', path: opts.report as string }] : []),
      ...(opts.skipInvalid ? [{ flag: '--skipped-report', path: skippedReportPath(opts.data, opts.skippedReport, reportDir) }] : []),
    ];
    await checkOutputPaths(outputs, [{ flag: '--data', path: opts.data }], { modelDirs: [opts.modelDir] });
    const data = await readDataset(opts.data, datasetOptionsFrom(opts));
    await reportSkipped(data, opts.skippedReport, reportDir);
    const commandStarted = performance.now();
    const predictor = await Predictor.load(modelDirStore(opts.modelDir), '', { modelSource: opts.model, threads: opts.threads, ...(await runtimeOptions(opts.runtime)) });
    const bar = startProgress('evaluate', data.pairs.length, 'pairs');
    const started = performance.now();
    const probabilities = await predictor.probabilities(data.pairs, { progress: bar });
    const seconds = (performance.now() - started) / 1000;
    bar.stop();
    const labels = Uint8Array.from(data.pairs, (p) => p.label);
    const settings = predictor.metadata.encoderBaseline;
    const maxTokens = settings?.maxTokens ?? ENCODER_BASELINE_MAX_TOKENS;
    const cache = await predictor.pooledVectorCache(maxTokens);
    const baseline = await evaluateStoredEncoderBaseline(
      (sentences) => predictor.pooledSentenceEmbeddings(sentences, { maxTokens, cache, progress: (tokens) => startProgress('baseline', tokens, 'tokens') }),
      data.pairs,
      settings,
    );
    // seconds: embedding and classification of every pair (pairs/s is of those); the encoder
    // baseline is its own row; totalSeconds is the whole command from model loading on.
    const timing = {
      seconds: Math.round(seconds * 1000) / 1000,
      pairsPerSecond: Math.round((data.pairs.length / seconds) * 10) / 10,
      threads: opts.threads ?? null,
      baselineSeconds: Math.round(baseline.record.cost.seconds * 1000) / 1000,
      totalSeconds: Math.round((performance.now() - commandStarted) / 10) / 100,
    };
    const metrics = { ...computeMetrics(labels, probabilities, predictor.metadata.threshold), encoderBaseline: baseline.record };
    await predictor.dispose();
    if (opts.report) {
      const report = await renderTrainingReport({
        title: `simpair evaluate: ${opts.modelDir} on ${opts.data}`,
        history: [],
        // Which model was evaluated (issue 19: the report did not say).
        facts: [
          ['model directory', resolve(opts.modelDir)],
          ['embedding model', predictor.metadata.embeddingModel],
          ['maxLen', predictor.metadata.maxLen],
          ['threshold', predictor.metadata.threshold],
          ['classifier runtime', opts.runtime],
        ],
        roc: rocCurve(labels, probabilities),
        metrics: metrics as unknown as Record<string, unknown>,
        evaluatedOn: opts.data,
        encoderBaseline: { roc: baseline.roc, metrics: baseline.record },
      });
      await writeFile(opts.report, report.html);
    }
    const verdict = 'accuracy' in baseline.record ? encoderBaselineVerdict(metrics, baseline.record, opts.data) : undefined;
    const { encoderBaseline: _, ...modelMetrics } = metrics;
    print(
      opts.json,
      { ...metrics, timing },
      table([
        ...Object.entries(modelMetrics),
        ...baselineRows(baseline.record),
        ['seconds', `${timing.seconds} (embedding and classifying the pairs)`],
        ['pairs/s', timing.pairsPerSecond],
        ['seconds in all', `${timing.totalSeconds} (model loading, the pairs, the encoder baseline)`],
        ['threads', timing.threads ?? 'ONNX Runtime default'],
      ]) + (verdict ? `${verdict}\n` : ''),
    );
    if (opts.json && verdict) process.stderr.write(`simpair: ${verdict}\n`);
  });

  program
    .command('export')
    .description('write classifier.onnx (the Bi-LSTM) and pipeline.onnx (BERT + Bi-LSTM: token ids in, probability out) with the tokenizer beside it')
    .requiredOption('--model-dir <dir>', 'a model directory written by `simpair run`')
    .option('--out <file>', 'path of pipeline.onnx; tokenizer files and metadata.json go beside it (default: <model-dir>/pipeline.onnx)')
    .option('--quantized', "merge the int8 BERT (the embedding model's onnx/model_quantized.onnx); the classifier was trained on float32 embeddings, check its accuracy with the int8 file")
    .option('--model <source>', 'override the embedding model named in metadata.json')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (opts) => {
      modelDirStore(opts.modelDir);
      const { exportModel } = await import('../onnx-export/export-model.ts');
      const result = await exportModel({ modelDir: opts.modelDir, out: opts.out, quantized: opts.quantized, modelSource: opts.model });
      print(opts.json, result, table([['classifier', result.classifier], ['pipeline', result.pipeline], ...result.besides.map((f) => ['beside it', f] as [string, string])]));
    });

  program
    .command('serve')
    .description('HTTP API on localhost: POST /predict; with --store also POST /train, GET /runs/{id} and a watched datasets/ folder')
    .option('--model-dir <dir>', 'serve one model directory written by `simpair run`')
    .option('--store <dir>', 'serve the local flow over a store directory (datasets/, models/live.json, runs/)')
    .option('--s3-endpoint <url>', 'with --bucket: the store is an S3 bucket at this endpoint (e.g. a local S3 server)')
    .option('--bucket <name>', 'S3 bucket of the store')
    .option('--port <n>', 'port', int('--port', 0, 65535), 3000)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--allowed-host <name>', 'also accept requests whose Host header names this (repeatable); the bound address and localhost names always are', collect, [])
    .option('--token <token>', 'require "Authorization: Bearer <token>" on every request (default: $SIMPAIR_TOKEN; prefer the variable, arguments are visible to other users)')
    .option('--model <source>', `embedding model: overrides metadata.json for predictions, and is the default for runs (default: metadata.json's for predictions, ${DEFAULT_RUN_OPTIONS.modelSource} for runs)`)
    .addOption(runtimeOption())
    .option('--max-len <n>', `maxLen of runs started here (default: ${DEFAULT_RUN_OPTIONS.maxLen}, as run)`, int('--max-len', 3, 512))
    .option('--epochs <n>', `epochs of runs started here (default: ${DEFAULT_RUN_OPTIONS.epochs}, as run)`, int('--epochs', 1))
    .option('--no-watch', 'with --store: do not start runs for files dropped in datasets/')
    .option('--quiet-period <ms>', 'a file in datasets/ is taken once unchanged this long', int('--quiet-period', 0), 5000)
    .option('--run-concurrency <n>', 'runs worked on at once (more wait in a queue)', int('--run-concurrency', 1, 64), 1)
    .option('--lease <ms>', 'run lease, renewed while a run works; a crashed owner\'s runs are resumed after it', int('--lease', 1000), 60_000)
    .option('--allow-model-source <source>', 'a model source POST /train may name in options.modelSource besides --model (repeatable)', collect, [])
    .action(async (opts) => {
      const modes = [opts.modelDir, opts.store, opts.bucket].filter(Boolean).length;
      if (modes !== 1) throw new UsageError('serve needs exactly one of --model-dir DIR, --store DIR, or --bucket NAME [--s3-endpoint URL].');
      const token = serveToken(opts.token);
      let backend: ApiBackend;
      let runs: BackgroundRuns | undefined;
      let close: () => Promise<void>;
      let what: string;
      if (opts.modelDir) {
        const predictor = await Predictor.load(modelDirStore(opts.modelDir), '', { modelSource: opts.model, ...(await runtimeOptions(opts.runtime)) });
        backend = { predict: (pairs) => predictor.predict(pairs), page: createPageBackend(new FsObjectStore(opts.modelDir), { modelPrefix: '' }) };
        close = () => predictor.dispose();
        what = `${opts.modelDir} (POST /predict)`;
      } else {
        const store: ObjectStore = opts.store
          ? new FsObjectStore(opts.store)
          : new (await import('../storage/s3-object-store.ts')).S3ObjectStore({ bucket: opts.bucket, endpoint: opts.s3Endpoint, forcePathStyle: Boolean(opts.s3Endpoint) });
        const modelSource = opts.model && existsSync(opts.model) ? resolve(opts.model) : opts.model;
        const runDefaults = { ...(modelSource ? { modelSource } : {}), ...(opts.maxLen ? { maxLen: opts.maxLen } : {}), ...(opts.epochs ? { epochs: opts.epochs } : {}) };
        const allowedModelSources = [...(modelSource ? [modelSource] : []), ...(opts.allowModelSource as string[]).map((s) => (existsSync(s) ? resolve(s) : s))];
        const { createStoreBackend } = await import('../server/store-backend.ts');
        const storeBackend = createStoreBackend(store, {
          predictor: await runtimeOptions(opts.runtime),
          runDefaults,
          allowedModelSources: allowedModelSources.length ? allowedModelSources : undefined,
          concurrency: opts.runConcurrency,
          leaseMs: opts.lease,
          // Each run works in a child process of its own, which opens the same store.
          worker: opts.store ? { kind: 'fs', root: resolve(opts.store) } : { kind: 's3', bucket: opts.bucket, endpoint: opts.s3Endpoint, forcePathStyle: Boolean(opts.s3Endpoint) },
        });
        // Runs a crashed serve left behind are resumed (or marked FAILED) now, and stale ones checked every lease period.
        storeBackend.sweepStaleRuns();
        if (opts.watch) storeBackend.watchDatasets({ quietMs: opts.quietPeriod, intervalMs: Math.min(1000, Math.max(100, Math.floor(opts.quietPeriod / 2))) });
        backend = { ...storeBackend, page: createPageBackend(store, { startTraining: (body) => storeBackend.startTraining!(body) }) };
        runs = hasBackgroundRuns(storeBackend) ? storeBackend : undefined;
        close = () => storeBackend.close();
        what = `${store.location} (POST /predict, POST /train, GET /runs/{id}${opts.watch ? '; watching datasets/' : ''})`;
      }
      let server: RunningHttpServer;
      try {
        // Answers never show where the store, the model or the encoder are on this machine.
        const hidePaths: Record<string, string> = { [resolve('.')]: '.' };
        if (opts.store) hidePaths[resolve(opts.store)] = '<store>';
        if (opts.modelDir) hidePaths[resolve(opts.modelDir)] = '<model-dir>';
        if (opts.model && existsSync(opts.model)) hidePaths[resolve(opts.model)] = basename(resolve(opts.model));
        server = await startHttpServer(backend, { port: opts.port, host: opts.host, allowedHosts: opts.allowedHost, token, hidePaths });
      } catch (err) {
        await close();
        throw err;
      }
      if (!token && !['127.0.0.1', 'localhost', '::1'].includes(opts.host)) {
        log('warn', `serving on ${opts.host} without a token: anyone who can reach this port can predict${runs ? ' and start runs' : ''}; set SIMPAIR_TOKEN`);
      }
      process.stderr.write(`simpair: serving ${what} on http://${opts.host}:${server.port}${token ? ' (Authorization: Bearer token required)' : ''}; open it in a browser to try the model\n`);
      await serveUntilSignalled({ server, runs, close });
    });

  program.commands.forEach(withExamples);
  return program;
}

/** Runs the CLI; returns the exit code (0 ok, 1 bad input or failed job, 2 usage). */
export async function main(argv: string[]): Promise<number> {
  const program = buildCli();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof SimpairError) {
      // The message says what and how to fix it; the class name (SimpairError:) says nothing to a user.
      process.stderr.write(`simpair: ${err.message}\n`);
      return err instanceof UsageError ? 2 : 1;
    }
    process.stderr.write(`simpair: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
