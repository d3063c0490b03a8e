/**
 * Step 5, train (the AWS Batch job, or in-process): trains the Bi-LSTM streaming the run's
 * embedding shards, evaluates it against the encoder baseline, saves it under
 * models/{version}/ (not yet live).
 *
 * IAM (the Batch job role): s3:GetObject on runs/* and embeddings/*, s3:PutObject on runs/*
 * and models/* except models/live.json (denied explicitly).
 */
import { EmbeddingStoreReader, type ShardCache } from '../../embeddings/index.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { log } from '../../util/log.ts';
import { computeMetrics, rocCurve } from '../../metrics/index.ts';
import { encoderBaselineVerdict } from '../../metrics/encoder-baseline.ts';
import { ENCODER_BASELINE_MAX_TOKENS, encoderBaselineOfScores, storedPairScores } from '../encoder-baseline.ts';
import { keys } from '../layout.ts';
import { advanceRun, nowIso } from '../run-record.ts';
import { activeRun, embeddingsPrefixOf, type StepInput } from './common.ts';

/**
 * Trains the Bi-LSTM streaming the run's embedding shards; saves it under models/{version}/ (not yet live).
 * With `shardCache` (the Batch job) only the first epoch reads shards from the store.
 */
export async function trainRun(store: ObjectStore, input: StepInput, options: { shardCache?: ShardCache } = {}): Promise<{ runId: string; modelVersion: string }> {
  const run = await activeRun(store, input);
  // TF.js is imported by this step alone: the other steps, and the Lambdas running them, start without it.
  const { buildBiLstm, initTfBackend, predictShardRows, saveClassifier, trainClassifier } = await import('../../classifier/index.ts');
  const { backend } = await initTfBackend();
  const reader = await EmbeddingStoreReader.open(store, embeddingsPrefixOf(run), { cache: options.shardCache });
  const { maxLen, hidden } = reader.manifest;
  const masked = reader.manifest.padding === 'dynamic';
  const head = run.options.head ?? 'recipe';
  const model = buildBiLstm({ maxLen, hidden, seed: run.options.seed, maskPadding: masked, head });
  const training = { epochs: run.options.epochs, batchSize: run.options.batchSize, validationSplit: run.options.validationSplit, seed: run.options.seed };
  const history = await trainClassifier(model, reader, training);
  const last = history.epochs[history.epochs.length - 1];
  const modelVersion = `${nowIso().replace(/[:.]/g, '-')}-${run.runId}`;
  const prefix = keys.modelVersion(modelVersion);
  try {
    // The model and the frozen encoder's baseline on the same rows: the validation rows (the
    // last ones, as trainClassifier holds them out), the baseline's threshold tuned on the rest.
    // One read of the shards: the cosine of every row, the model's probability of the held-out ones.
    const count = reader.manifest.count;
    const held = history.validationRows;
    const from = held > 0 ? count - held : 0;
    const labels = new Uint8Array(count - from);
    const probabilities = new Float32Array(count - from);
    const scored = await storedPairScores(reader, (shard, first) => {
      const start = Math.max(from - first, 0);
      if (start >= shard.count) return;
      probabilities.set(predictShardRows(model, shard, reader.manifest, start), first + start - from);
      labels.set(shard.labels.subarray(start), first + start - from);
    });
    const evaluatedOn = held > 0 ? `the validation rows (the last ${held} of ${count})` : `the training rows (validationSplit 0, no rows held out)`;
    const evaluation = { ...computeMetrics(labels, probabilities, 0.5), evaluatedOn };
    const roc = rocCurve(labels, probabilities);
    const baseline = scored && encoderBaselineOfScores(sliceScored(scored, 0, count - held), sliceScored(scored, from, count), ENCODER_BASELINE_MAX_TOKENS);
    if (!baseline) log('warn', `no encoder baseline: the embedding shards of run ${run.runId} hold no pooled sentence vectors (embedded by an older simpair)`);
    const verdict = baseline && 'accuracy' in baseline.record ? encoderBaselineVerdict(evaluation, baseline.record, evaluatedOn) : undefined;
    if (verdict) log('warn', verdict);
    const metrics = {
      loss: last?.loss,
      accuracy: last?.acc,
      valLoss: last?.val_loss,
      valAccuracy: last?.val_acc,
      epochs: history.epochs.length,
      evaluation: { accuracy: evaluation.accuracy, rocAuc: evaluation.rocAuc, evaluatedOn },
      ...(baseline ? { encoderBaseline: { accuracy: 'accuracy' in baseline.record ? baseline.record.accuracy : null, rocAuc: baseline.record.rocAuc } } : {}) };
    // Before metadata.json (saveClassifier writes it last): the predict Lambda then runs ONNX Runtime only.
    const { saveClassifierOnnx } = await import('../../onnx-export/save-classifier-onnx.ts');
    await saveClassifierOnnx(store, prefix, model, { padding: masked ? 'masked' : 'max-length', ...(head === 'pooled' ? { head } : {}) });
    // The report and its pictures, before metadata.json marks the model complete.
    const { renderTrainingReport } = await import('../../report/training-report.ts');
    const report = await renderTrainingReport({
      title: `simpair cloud run ${run.runId}: ${run.datasetKey}`,
      history: history.epochs,
      roc,
      metrics: evaluation,
      evaluatedOn,
      facts: [
        ['dataset', `${run.datasetKey} (${count} pairs)`],
        ['embedding model', reader.manifest.modelId],
        ['maxLen', maxLen],
        ['padding', masked ? 'masked' : 'max-length'],
        ['head', head],
        ['epochs', run.options.epochs],
        ['batch size', run.options.batchSize],
        ['validation split', `${run.options.validationSplit} (${held} rows)`],
        ['seed', run.options.seed],
        ['TF.js backend', backend],
        ['LSTM path', history.lstmPath],
        ['shuffle', history.shuffle],
      ],
      ...(baseline ? { encoderBaseline: { roc: baseline.roc, metrics: baseline.record } } : {}) });
    await store.put(`${prefix}report.html`, report.html);
    if (report.curvesSvg) await store.put(`${prefix}training-curves.svg`, report.curvesSvg);
    if (report.rocSvg) await store.put(`${prefix}roc.svg`, report.rocSvg);
    await saveClassifier(
      store,
      prefix,
      model,
      {
        maxLen,
        hidden,
        embeddingModel: reader.manifest.modelId,
        tokenizerSha256: reader.manifest.tokenizerSha256,
        threshold: 0.5,
        padding: masked ? 'masked' : 'max-length',
        training: { ...training, earlyStopping: null },
        datasetSha256: run.datasetSha256,
        backend,
        lstmPath: history.lstmPath,
        history: history.epochs,
        ...(baseline ? { encoderBaseline: baseline.settings } : {}),
        ...(head === 'pooled' ? { head } : {}) },
      // metrics.json: the training figures, then the evaluation and the baseline in full.
      { ...metrics, evaluation, ...(baseline ? { encoderBaseline: baseline.record } : {}) },
    );
    await advanceRun(store, run.runId, { state: 'TRAINED', modelVersion, metrics }, input.owner);
  } finally {
    model.dispose();
  }
  return { runId: run.runId, modelVersion };
}

function sliceScored(scored: { labels: Uint8Array; scores: Float64Array }, from: number, to: number) {
  return { labels: scored.labels.subarray(from, to), scores: scored.scores.subarray(from, to) };
}
