import { existsSync, rmSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { readDataset, type DatasetOptions, type DatasetReadResult } from '../data/index.ts';
import { BertEmbedder } from '../embedder/index.ts';
import { EmbeddingStoreReader } from '../embeddings/index.ts';
import { buildBiLstm, evaluateStore, initTfBackend, saveClassifier, trainClassifier } from '../classifier/index.ts';
import { assertRunFitsMemory } from '../classifier/memory-budget.ts';
import { computeMetrics, rocCurve } from '../metrics/index.ts';
import { embeddingModelRef, resolveModelSource, type ResolveModelOptions } from '../model-source/index.ts';
import { renderTrainingReport } from '../report/index.ts';
import { FsObjectStore } from '../storage/fs-object-store.ts';
import { PairTokenizer } from '../tokenizer/pair-tokenizer.ts';
import { SimpairError } from '../errors.ts';
import { log } from '../util/log.ts';
import { cleanupOnExitSignal } from '../util/exit-signals.ts';
import { checkInt8 } from './check-int8.ts';
import { embedPairsToStore } from './embed-pairs.ts';
import { runFacts } from './run-facts.ts';
import { baselineProgress, embeddingProgress, trainingProgress } from './run-progress.ts';
import { meanPooledSentenceEmbeddings, type PooledEmbeddings } from '../embedder/pooled-embeddings.ts';
import { PooledVectorCache } from '../embedder/pooled-vector-cache.ts';
import { ENCODER_BASELINE_MAX_TOKENS, runEncoderBaseline } from './encoder-baseline.ts';
import { assertReplaceableOut, createTempSibling, sweepStaleTemps } from './out-dir.ts';
import { repairInterruptedReplace, replaceDir } from './replace-dir.ts';
import { saveClassifierOnnx } from '../onnx-export/save-classifier-onnx.ts';
import { checkFineTuneOptions, fineTuneStep } from './fine-tune-step.ts';
import { assertFineTuneBackend } from '../encoder/fine-tune.ts';

/** Options of {@link runJob}: the `simpair run` command. */
export interface RunJobOptions {
  readonly data: string;
  readonly testData?: string;
  /** Hub id, local directory or s3:// prefix. @default 'bert-base-uncased' */
  readonly model?: string;
  readonly out: string;
  /** @default 128 */
  readonly maxLen?: number;
  /** @default 3 */
  readonly epochs?: number;
  /** @default 32 */
  readonly batchSize?: number;
  /** @default 0.1 */
  readonly validationSplit?: number;
  /** @default 42 */
  readonly seed?: number;
  /** Stop when validation loss has not improved for this many epochs. @default off */
  readonly patience?: number;
  /** Keras' LSTM dropout on both Bi-LSTM layers (not the recipe). @default 0 */
  readonly dropout?: number;
  /** Keras' LSTM recurrent_dropout on both Bi-LSTM layers (not the recipe). @default 0 */
  readonly recurrentDropout?: number;
  /**
   * Weight of each class in the training loss (Keras' class_weight); 'balanced' gives class c
   * `rows / (2 * rows of c)` over the training file, as scikit-learn's 'balanced'.
   * @default undefined (every row weighs 1, the recipe)
   */
  readonly classWeight?: 'balanced' | { readonly 0: number; readonly 1: number };
  /**
   * 'pooled' (not the recipe): the Bi-LSTM's output concatenated with `[u, v, |u-v|, u*v]` of
   * the two sentences' mean-pooled embeddings before Dense(1) (see buildBiLstm's `head`).
   * @default 'recipe'
   */
  readonly head?: 'recipe' | 'pooled';
  /** @default 'float32' */
  readonly dtype?: 'float32' | 'float16';
  /** ONNX Runtime threads. */
  readonly threads?: number;
  /**
   * 'max-length': the recipe (BERT's [PAD] outputs go into the LSTMs). 'masked': BERT runs on
   * real tokens only, padding is zeros and a Masking layer skips it.
   * @default 'max-length'
   */
  readonly padding?: 'max-length' | 'masked';
  /** Use the int8 ONNX export. @default false */
  readonly quantized?: boolean;
  /**
   * Replace an existing output directory: only an empty one or a simpair model directory
   * (see {@link assertReplaceableOut}). @default false
   */
  readonly force?: boolean;
  /** Keep the embedding shards (in `<out>/embeddings`). @default false */
  readonly keepEmbeddings?: boolean;
  /**
   * Train BERT together with the recipe's Bi-LSTM (not the recipe, which keeps BERT frozen):
   * no embeddings are stored, the model directory carries its own encoder (see fineTuneStep).
   * Needs the tensorflow backend. @default false
   */
  readonly fineTuneEncoder?: boolean;
  /** With fineTuneEncoder: refuse when the measured time estimate exceeds this many hours. @default 12 */
  readonly fineTuneMaxHours?: number;
  readonly dataset?: DatasetOptions;
  readonly hub?: ResolveModelOptions;
}

/** What {@link runJob} returns (and `simpair run --json` prints). */
export interface RunJobResult {
  out: string;
  backend: string;
  train: DatasetReadResult['counts'];
  test?: DatasetReadResult['counts'];
  metrics: Record<string, unknown>;
  evaluatedOn: string;
  epochSeconds: number[];
  /** The epoch (counted from 1) whose weights were saved: the last, or the best with early stopping. */
  keptEpoch: number;
}

/**
 * The main job: validate, embed, train, evaluate, save. Everything is written to a temporary
 * sibling of `out` that is renamed into place only when all steps succeeded, so a failed run
 * leaves no half-written model; SIGINT/SIGTERM remove it, and the next run sweeps those of
 * runs that died. Every option is checked before embedding starts. With `force`, only an
 * empty or a simpair model directory is replaced, crash-safely (see {@link replaceDir}).
 *
 * @example
 * await runJob({ data: 'examples/pairs.tsv', model: 'test/fixtures/tiny-bert', out: 'run1', maxLen: 32, epochs: 1 });
 */
export async function runJob(options: RunJobOptions): Promise<RunJobResult> {
  const {
    data,
    testData,
    model = 'bert-base-uncased',
    maxLen = 128,
    epochs = 3,
    batchSize = 32,
    validationSplit = 0.1,
    seed = 42,
    patience,
    dropout = 0,
    recurrentDropout = 0,
    head = 'recipe',
    dtype = 'float32',
    threads,
    quantized = false,
    padding = 'max-length',
    force = false,
    keepEmbeddings = false,
    fineTuneEncoder = false,
  } = options;
  const out = resolve(options.out);
  // A previous run killed mid-replacement or mid-run: finish its swap, drop its temporaries.
  await repairInterruptedReplace(out);
  await sweepStaleTemps(out);
  const inputs = [data, ...(testData ? [testData] : []), ...(existsSync(model) ? [model] : [])];
  await assertReplaceableOut(out, { force, inputs });
  if (!Number.isInteger(maxLen) || maxLen < 3 || maxLen > 512) throw new SimpairError(`--max-len must be an integer from 3 to 512, got ${maxLen}.`);

  // Validate every input and option before any expensive work.
  const train = await readDataset(data, options.dataset);
  const test = testData ? await readDataset(testData, options.dataset) : undefined;
  checkTrainingOptions(train.counts.rows, data, { validationSplit, patience });
  if (fineTuneEncoder) checkFineTuneOptions({ head, quantized, classWeight: options.classWeight });
  const classWeight = options.classWeight === 'balanced' ? balancedClassWeight(train.counts, data) : options.classWeight;
  log('info', `train data: ${train.counts.rows} pairs (${train.counts.positives} similar / ${train.counts.negatives} dissimilar), format ${train.format}`);
  if (test) log('info', `test data: ${test.counts.rows} pairs, format ${test.format}`);

  const resolved = await resolveModelSource(model, { ...options.hub, quantized });
  const tokenizer = await PairTokenizer.fromDir(resolved.dir);
  const embedderRef = await embeddingModelRef(resolved, { classifierDir: out });
  const int8Check = quantized ? await checkInt8(resolved.dir, tokenizer, { maxLen, padding: padding === 'masked' ? 'dynamic' : 'max-length', threads }) : undefined;
  const embedder = await BertEmbedder.load(resolved.dir, { onnxFile: resolved.onnxFile, threads, padding: padding === 'masked' ? 'dynamic' : 'max-length' });
  const { backend } = await initTfBackend();
  try {
    // A batch is at most the training rows; checked before anything is embedded.
    assertRunFitsMemory({ backend, batchSize: Math.min(batchSize, train.counts.rows), maxLen, hidden: embedder.hidden }, { batchSize: '--batch-size', maxLen: '--max-len' });
    if (fineTuneEncoder) assertFineTuneBackend(backend);
  } catch (err) {
    await embedder.dispose();
    throw err;
  }

  const tmp = await createTempSibling(out);
  // Ctrl-C or kill: remove the temporary directory (embeddings can be gigabytes) before exiting.
  const forgetTmp = cleanupOnExitSignal(() => rmSync(tmp, { recursive: true, force: true }));
  const store = new FsObjectStore(tmp);
  try {
    // The frozen encoder's zero-training baseline, on the same tokenizer and ONNX session; its
    // pooled vectors (train pairs, then test pairs) also feed the pooled head.
    let pooled: PooledEmbeddings | undefined;
    const baseline = await runEncoderBaseline(
      async (sentences) =>
        (pooled = await meanPooledSentenceEmbeddings(tokenizer, embedder, sentences, {
          maxTokens: ENCODER_BASELINE_MAX_TOKENS,
          cache: await PooledVectorCache.forEncoder(embedder, tokenizer, ENCODER_BASELINE_MAX_TOKENS),
          progress: baselineProgress,
        })),
      train.pairs,
      test?.pairs,
      ENCODER_BASELINE_MAX_TOKENS,
    );
    const { cost } = baseline.record;
    log('info', `encoder baseline: ${cost.distinctSentences} distinct of ${cost.sentences} sentences pooled in ${cost.seconds.toFixed(1)} s${cost.cachedSentences ? ` (${cost.cachedSentences} from the pooled-vector cache)` : ''}`);
    const pooledRows = (first: number) =>
      head === 'pooled' ? { pooled: (i: number) => [pooled!.vector(2 * (first + i)), pooled!.vector(2 * (first + i) + 1)] as const } : {};

    const evaluatedOn = test ? basename(testData!) : 'training data (no --test-data given)';
    if (fineTuneEncoder) await embedder.dispose(); // the frozen encoder's only use was the baseline
    const tuned = fineTuneEncoder
      ? await fineTuneStep({
          modelDir: resolved.dir,
          from: embedderRef,
          tokenizer,
          train: train.pairs,
          evaluate: (test ?? train).pairs,
          maxLen,
          epochs,
          batchSize,
          validationSplit,
          seed,
          patience,
          padding,
          dropout,
          recurrentDropout,
          maxHours: options.fineTuneMaxHours ?? 12,
          store,
          prefix: 'model/',
        })
      : undefined;
    const { classifier, history, labels, probabilities, hidden } = tuned ?? (await trainFrozen());
    async function trainFrozen() {
      const common = { maxLen, batchSize: 32, dtype, modelId: resolved.modelId } as const;
      const trainProgress = embeddingProgress('embed train', train.pairs.length + (test?.pairs.length ?? 0), train.pairs.length);
      try {
        await embedPairsToStore(tokenizer, embedder, train.pairs, store, 'embeddings/train/', {
          ...common,
          datasetSha256: train.sha256,
          progress: trainProgress,
          ...pooledRows(0),
        });
      } finally {
        trainProgress.stop();
      }
      if (test) {
        await embedPairsToStore(tokenizer, embedder, test.pairs, store, 'embeddings/test/', { ...common, datasetSha256: test.sha256, label: 'embed test', ...pooledRows(train.pairs.length) });
      }
      await embedder.dispose();

      const trainReader = await EmbeddingStoreReader.open(store, 'embeddings/train/');
      const classifier = buildBiLstm({ maxLen, hidden: embedder.hidden, seed, maskPadding: padding === 'masked', dropout, recurrentDropout, head });
      const history = await trainClassifier(classifier, trainReader, {
        epochs,
        batchSize,
        validationSplit,
        seed,
        ...(patience ? { earlyStopping: { patience } } : {}),
        ...(classWeight ? { classWeight } : {}),
        ...trainingProgress(trainReader.manifest.count, { epochs, batchSize, validationSplit }),
      });

      const evalReader = test ? await EmbeddingStoreReader.open(store, 'embeddings/test/') : undefined;
      const { labels, probabilities } = await evaluateStore(classifier, evalReader ?? trainReader);
      return { classifier, history, labels, probabilities, hidden: embedder.hidden };
    }
    // Epochs are counted from 1 in everything people read: the log, metadata.json, the report.
    const keptEpoch = history.bestEpoch === undefined ? history.epochs.length : history.bestEpoch + 1;
    if (keptEpoch !== history.epochs.length) {
      log('info', `early stopping: keeping the weights of epoch ${keptEpoch} of ${history.epochs.length} (lowest validation loss)`);
    }
    const metrics = { ...computeMetrics(labels, probabilities, 0.5), encoderBaseline: baseline.record } as unknown as Record<string, unknown>;
    const roc = rocCurve(labels, probabilities);

    const training = {
      epochs,
      batchSize,
      validationSplit,
      seed,
      earlyStopping: patience ? { patience, restoreBestWeights: true, keptEpoch } : null,
      ...(classWeight ? { classWeight } : {}),
    };
    // Before metadata.json, which marks the model complete: prediction can then skip TF.js.
    await saveClassifierOnnx(store, 'model/', classifier, { padding, ...(head === 'pooled' ? { head } : {}) });
    await saveClassifier(store, 'model/', classifier, {
      maxLen,
      hidden,
      // Portable: a local model is recorded by name and config.json hash, not by this machine's path.
      // A fine-tuned model records its own encoder (encoder/ beside metadata.json).
      embeddingModel: (tuned?.encoderRef ?? embedderRef).id,
      embedder: tuned?.encoderRef ?? embedderRef,
      tokenizerSha256: tokenizer.sha256,
      threshold: 0.5,
      padding,
      training,
      datasetSha256: train.sha256,
      labels: train.labelRule,
      backend,
      lstmPath: history.lstmPath,
      history: history.epochs,
      encoderBaseline: baseline.settings,
      ...(head === 'pooled' ? { head } : {}),
    }, { ...metrics, evaluatedOn });
    classifier.dispose();

    for (const [name, result] of [['train', train], ['test', test]] as const) {
      if (result?.skipped.length) {
        const key = `model/skipped-${name}-rows.jsonl`;
        await store.put(key, result.skipped.map((i) => JSON.stringify(i)).join('\n') + '\n');
        log('warn', `skipped ${result.skipped.length} invalid ${name} rows (--skip-invalid); listed in ${join(out, basename(key))}`);
      }
    }
    const facts = runFacts({ embedder: embedderRef, int8Check, maxLen, padding, dtype, data, train, epochs, history, patience, batchSize, validationSplit, seed, backend });
    const report = await renderTrainingReport({
      title: `simpair run: ${basename(data)}`,
      history: history.epochs,
      roc,
      metrics,
      evaluatedOn,
      facts,
      keptEpoch,
      encoderBaseline: { roc: baseline.roc, metrics: baseline.record },
    });
    await store.put('model/report.html', report.html);
    if (report.curvesSvg) await store.put('model/training-curves.svg', report.curvesSvg);
    if (report.rocSvg) await store.put('model/roc.svg', report.rocSvg);

    if (!keepEmbeddings) await rm(join(tmp, 'embeddings'), { recursive: true, force: true });
    else if (!tuned) await rename(join(tmp, 'embeddings'), join(tmp, 'model', 'embeddings'));
    // Checked again: --out may have changed during a long run.
    await assertReplaceableOut(out, { force, inputs });
    await replaceDir(join(tmp, 'model'), out);
    await rm(tmp, { recursive: true, force: true });
    log('info', `model written to ${out}`);
    return {
      out,
      backend,
      train: train.counts,
      test: test?.counts,
      metrics,
      evaluatedOn,
      epochSeconds: history.epochs.map((e) => e.seconds),
      keptEpoch,
    };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    forgetTmp();
  }
}

/**
 * Options that depend on the data, checked once it is read and before embedding starts; every
 * problem is reported at once.
 */
function checkTrainingOptions(rows: number, data: string, { validationSplit, patience }: { validationSplit: number; patience?: number }): void {
  const problems: string[] = [];
  const validationRows = Math.ceil(validationSplit * rows);
  if (!(validationSplit >= 0 && validationSplit < 1)) {
    problems.push(`--validation-split must be in [0, 1), got ${validationSplit}`);
  } else if (rows - validationRows < 1) {
    problems.push(`--validation-split ${validationSplit} holds out ${validationRows} of the ${rows} rows of ${data}, leaving none to train on; lower it or add rows`);
  }
  if (patience !== undefined && validationRows === 0) {
    problems.push(`--patience ${patience} stops on the validation loss, but there are no validation rows (--validation-split ${validationSplit}); raise --validation-split or drop --patience`);
  }
  if (problems.length) throw new SimpairError(`Invalid options: ${problems.join('; ')}.`);
}

/** scikit-learn's 'balanced' class weights over the training file: rows / (2 * rows of the class). */
function balancedClassWeight({ rows, positives, negatives }: { rows: number; positives: number; negatives: number }, data: string): { 0: number; 1: number } {
  if (positives === 0 || negatives === 0) {
    throw new SimpairError(`--class-weight balanced needs both classes, but ${data} has ${positives} similar and ${negatives} dissimilar rows; give explicit weights W0,W1 or add rows.`);
  }
  return { 0: rows / (2 * negatives), 1: rows / (2 * positives) };
}
