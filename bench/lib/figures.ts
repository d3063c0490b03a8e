import { basename } from 'node:path';
import type { AccuracyResult } from '../stages/accuracy.ts';
import type { DatapathResult } from '../stages/datapath.ts';
import { embeddingKey, type EmbeddingConfigResult } from '../stages/embedding.ts';
import type { HeadsResult } from '../stages/heads.ts';
import type { InteropResult } from '../stages/interop.ts';
import type { PredictionGridEntry, PredictionResult } from '../stages/prediction.ts';
import type { StageProfile } from '../stages/profile.ts';
import type { ServingResult } from '../stages/serving.ts';
import type { SizeEntry } from '../stages/sizes.ts';
import type { TokenizerResult } from '../stages/tokenizer.ts';
import type { PathTraining, TrainingResult } from '../stages/training.ts';
import type { TrainingMemoryResult } from '../stages/training-memory.ts';
import { fmt, type BenchContext, type Figure } from './context.ts';
import { mean, ratio, steadyEpochSeconds } from './stats.ts';

const MiB = 2 ** 20;

/** Builds the results table from every stage's raw results and the reference's. */
export function buildFigures(ctx: BenchContext): Figure[] {
  const f: Figure[] = [];
  // A failed stage left { error }: one row saying so, and no figures from it.
  const results: Record<string, unknown> = {};
  for (const [stage, value] of Object.entries(ctx.results)) {
    if (value && typeof value === 'object' && 'error' in value) {
      f.push({ section: stage, name: 'stage failed', value: 'FAILED', unit: '', note: String((value as { error: unknown }).error).split('\n')[0].slice(0, 120) });
    } else results[stage] = value;
  }
  const r = results as {
    tokenizer?: TokenizerResult;
    embedding?: EmbeddingConfigResult[];
    training?: TrainingResult;
    memory?: TrainingMemoryResult;
    datapath?: DatapathResult;
    accuracy?: AccuracyResult;
    heads?: HeadsResult;
    prediction?: PredictionResult;
    serving?: ServingResult;
    sizes?: SizeEntry[];
    interop?: InteropResult | { skipped: string };
    profile?: StageProfile[];
  };
  const ref = ctx.reference;

  if (r.tokenizer) {
    const refTok = ref?.tokenizer.pairsPerSecond;
    f.push({ section: 'tokenizer', name: `MRPC train pairs, maxLen ${r.tokenizer.maxLen}, batches of 32`, value: r.tokenizer.pairsPerSecond, unit: 'pairs/s', reference: refTok, ratio: ratio(r.tokenizer.pairsPerSecond, refTok), note: 'ref: slow BertTokenizer' });
  }

  if (r.embedding) {
    const tfBy = new Map((ref?.tfEmbedding ?? []).map((s) => [embeddingKey(s), s.pairsPerSecond]));
    const ortBy = new Map((ref?.ortEmbedding ?? []).map((s) => [embeddingKey(s), s.pairsPerSecond]));
    const maxLenBy = new Map(r.embedding.filter((e) => e.padding === 'max-length').map((e) => [embeddingKey(e), e.pairsPerSecond]));
    for (const e of r.embedding) {
      const key = embeddingKey({ ...e, padding: 'max-length' });
      const tf = e.padding === 'max-length' ? tfBy.get(key) : undefined;
      const ort = e.padding === 'max-length' ? ortBy.get(key) : undefined;
      const speedup = e.padding === 'dynamic' ? ratio(e.pairsPerSecond, maxLenBy.get(key)) : undefined;
      f.push({
        section: 'embedding',
        name: `${e.model} ${e.dtype} ${e.padding} L${e.maxLen} b${e.batchSize}`,
        value: e.pairsPerSecond,
        unit: 'pairs/s',
        reference: tf,
        ratio: ratio(e.pairsPerSecond, tf),
        ortPython: ort,
        ortRatio: ratio(e.pairsPerSecond, ort),
        note: speedup !== undefined ? `${speedup.toFixed(2)}x max-length; mean ${e.meanRunTokens.toFixed(0)} tokens run` : e.dtype === 'int8' && tf === undefined ? 'TF runs float32 only' : undefined,
      });
    }
  }

  const recipe = ref?.recipe;
  const accMax = r.accuracy?.variants.find((v) => v.padding === 'max-length');
  if (r.training) {
    const t = r.training;
    const byLabel = new Map<string, PathTraining[]>();
    for (const run of t.runs) byLabel.set(run.label, [...(byLabel.get(run.label) ?? []), run]);
    const secondsOf = (label: string): number | undefined => {
      const ok = (byLabel.get(label) ?? []).filter((x) => x.ok);
      return ok.length ? mean(ok.map((x) => steadyEpochSeconds(x.run.epochSeconds))) : undefined;
    };
    const keras = secondsOf('keras');
    const kerasRun = t.runs.find((x) => x.ok && x.kind === 'keras');
    for (const [label, runs] of byLabel) {
      const failed = runs.find((x) => !x.ok);
      const ok = runs.filter((x) => x.ok);
      if (!ok.length) {
        f.push({ section: 'training', name: `${label}`, value: 'not available', unit: '', note: failed && !failed.ok ? failed.error.slice(0, 90) : undefined });
        continue;
      }
      const seconds = secondsOf(label)!;
      const first = ok[0];
      const layers = label.endsWith(' fused') ? secondsOf(label.replace(/ fused$/, ' layers')) : undefined;
      const detail = first.kind === 'tfjs' ? `${first.run.lstmPath}${first.run.backendDetails ? `, ${first.run.backendDetails}` : ''}` : `tf ${first.run.tensorflow}`;
      f.push({
        section: 'training',
        name: `s/epoch, ${label}, ${t.rows} rows`,
        value: seconds,
        unit: 's',
        reference: label === 'keras' ? undefined : keras,
        ratio: label === 'keras' ? undefined : ratio(seconds, keras),
        note: `${detail}; epochs ${ok.flatMap((x) => x.run.epochSeconds.map((s) => s.toFixed(1))).join(', ')}${layers ? `; ${(layers / seconds).toFixed(1)}x faster than layers` : ''}`,
      });
      if (first.kind === 'tfjs' && first.run.kernelsPerStep) {
        const k = first.run.kernelsPerStep;
        const top = Object.entries(k.top).slice(0, 5).map(([n, c]) => `${n} ${c}`).join(', ');
        f.push({
          section: 'training',
          name: `kernels per training step, ${label}`,
          value: k.tensorflowOps ?? k.tfjsKernels,
          unit: k.tensorflowOps !== undefined ? 'TF ops' : 'kernels',
          note: `${k.tensorflowOps !== undefined ? `${k.tfjsKernels} tfjs kernels; ` : ''}top: ${top}`,
        });
      }
      f.push({ section: 'training', name: `peak RSS, ${label}`, value: first.run.peakRssMiB, unit: 'MiB', reference: label === 'keras' ? undefined : kerasRun?.run.peakRssMiB, note: `RSS before training ${first.run.rssBeforeTrainingMiB.toFixed(0)} MiB` });
      const accuracy = first.kind === 'tfjs' ? first.run.metrics.accuracy : first.run.accuracy;
      const kerasAccuracy = kerasRun?.kind === 'keras' ? kerasRun.run.accuracy : undefined;
      f.push({
        section: 'training',
        name: `test accuracy, ${label} (${t.testRows} pairs)`,
        value: accuracy,
        unit: '',
        reference: label === 'keras' ? undefined : kerasAccuracy,
        note: kerasAccuracy !== undefined && label !== 'keras' ? `${(100 * (accuracy - kerasAccuracy)).toFixed(1)} points vs Keras` : undefined,
      });
    }
  }
  if (r.memory) {
    const [one, ten] = r.memory.runs;
    for (const run of r.memory.runs) {
      f.push({ section: 'training', name: `peak RSS, 1 epoch, ${run.rows} rows (${run.copies}x the shards), ${r.memory.backend}`, value: run.peakRssMiB, unit: 'MiB', ratio: run === ten && one ? ratio(run.peakRssMiB, one.peakRssMiB) : undefined, note: `${r.memory.lstmPath}; RSS before training ${run.rssBeforeTrainingMiB.toFixed(0)} MiB; ${run.epochSeconds.toFixed(1)} s` });
    }
  }
  if (accMax && recipe) {
    const steady = accMax.steadyEpochSeconds;
    const refSteady = steadyEpochSeconds(recipe.epochSeconds);
    f.push({ section: 'training', name: `s/epoch, ${accMax.backend}, accuracy run (${accMax.trainRows} rows)`, value: steady, unit: 's', reference: refSteady, ratio: ratio(steady, refSteady), note: `Keras ${recipe.trainRows} rows; epoch 1 excluded both sides` });
  }

  if (r.accuracy) {
    for (const v of r.accuracy.variants) {
      const isDefault = v.padding === 'max-length';
      const refAcc = isDefault ? recipe?.metrics.accuracy : undefined;
      const refF1 = isDefault ? recipe?.metrics.f1 : undefined;
      const note = `${v.trainRows} train / ${v.testRows} test rows, ${r.accuracy.epochs} epochs, ${v.steadyEpochSeconds.toFixed(1)} s/epoch, embed ${v.embedPairsPerSecond.toFixed(0)} pairs/s`;
      f.push({ section: 'accuracy', name: `${v.name}: accuracy`, value: v.metrics.accuracy, unit: '', reference: refAcc, ratio: ratio(v.metrics.accuracy, refAcc), note: refAcc !== undefined ? `${(100 * (v.metrics.accuracy - refAcc)).toFixed(1)} points vs ref; ${note}` : note });
      f.push({ section: 'accuracy', name: `${v.name}: F1`, value: v.metrics.f1, unit: '', reference: refF1, ratio: ratio(v.metrics.f1, refF1) });
    }
    const baseline = r.accuracy.variants[0]?.metrics.majorityBaseline;
    f.push({ section: 'accuracy', name: 'majority baseline (always "similar")', value: baseline, unit: '', reference: recipe?.metrics.majorityBaseline });
  } else if (r.training) {
    // Quick mode: the training stage's wasm run on the same rows as the reference.
    const wasm = r.training.runs.find((b) => b.ok && b.kind === 'tfjs' && b.run.backend === 'wasm' && b.lstm === 'fused');
    if (wasm?.ok && wasm.kind === 'tfjs') {
      const m = wasm.run.metrics;
      f.push({ section: 'accuracy', name: `accuracy (training-stage rows, ${m.n} test pairs)`, value: m.accuracy, unit: '', reference: recipe?.metrics.accuracy, ratio: ratio(m.accuracy, recipe?.metrics.accuracy), note: 'quick sizes: a smoke test, not the accuracy report' });
      f.push({ section: 'accuracy', name: 'F1 (training-stage rows)', value: m.f1, unit: '', reference: recipe?.metrics.f1, ratio: ratio(m.f1, recipe?.metrics.f1) });
    }
  }
  if (r.heads) headsFigures(r.heads, f);
  if (recipe) {
    const ours = accMax?.embedPairsPerSecond ?? (ctx.stores.size ? mean([...ctx.stores.values()].filter((s) => s.padding === 'max-length').map((s) => (s.train.rows + s.test.rows) / (s.train.seconds + s.test.seconds))) : undefined);
    f.push({ section: 'embedding', name: `end to end: tokenize + BERT, MiniLM float32 L${ctx.sizes.maxLen} b32, MRPC`, value: ours, unit: 'pairs/s', reference: recipe.embedPairsPerSecond, ratio: ratio(ours, recipe.embedPairsPerSecond), note: 'ref: recipe (BertTokenizer + TFBertModel eager); ours incl. shard writing' });
  }

  if (r.datapath) datapathFigures(r.datapath, f);

  if (r.serving) {
    const s = r.serving;
    const run = `run of ${s.run.rows} pairs, maxLen ${s.run.maxLen}, ${s.run.epochs} epochs, ${s.run.seconds.toFixed(0)} s, ${s.run.state}; encoder ${s.encoder}`;
    f.push({ section: 'serving', name: 'serve --store: POST /predict p99, idle', value: s.idle.p99, unit: 'ms', note: `${s.idle.requests} sequential requests, p50 ${fmt(s.idle.p50)} ms` });
    f.push({ section: 'serving', name: 'serve --store: POST /predict p99, while a run trains', value: s.training.p99, unit: 'ms', note: `${s.training.requests} requests, p50 ${fmt(s.training.p50)} ms, max ${fmt(s.training.max)} ms; ${run}` });
    f.push({ section: 'serving', name: 'serve --store: GET /health slowest, while a run trains', value: s.healthDuringTraining.max, unit: 'ms', note: `${s.healthDuringTraining.requests} requests, p99 ${fmt(s.healthDuringTraining.p99)} ms` });
  }
  if (r.prediction) {
    const p = r.prediction;
    f.push({ section: 'prediction', name: 'warm latency p50, one pair, POST /predict (classifier.onnx on ONNX Runtime)', value: p.warm.p50, unit: 'ms', note: `${p.warmRequests} sequential requests` });
    f.push({ section: 'prediction', name: 'warm latency p95', value: p.warm.p95, unit: 'ms' });
    f.push({ section: 'prediction', name: 'warm latency p99', value: p.warm.p99, unit: 'ms' });
    f.push({ section: 'prediction', name: 'cold start: spawn to first answer', value: mean(p.coldStartMs), unit: 'ms', note: `runs: ${p.coldStartMs.map((m) => m.toFixed(0)).join(', ')}` });
    if (p.serverPeakRssMiB) f.push({ section: 'prediction', name: 'server peak RSS', value: p.serverPeakRssMiB, unit: 'MiB' });
    if (p.tfjsFallback) {
      const t = p.tfjsFallback;
      f.push({ section: 'prediction', name: 'TF.js fallback (no classifier.onnx): warm latency p50', value: t.warm.p50, unit: 'ms' });
      f.push({ section: 'prediction', name: 'TF.js fallback: warm latency p95', value: t.warm.p95, unit: 'ms' });
      f.push({ section: 'prediction', name: 'TF.js fallback: warm latency p99', value: t.warm.p99, unit: 'ms' });
      f.push({ section: 'prediction', name: 'TF.js fallback: cold start', value: mean(t.coldStartMs), unit: 'ms', note: `runs: ${t.coldStartMs.map((m) => m.toFixed(0)).join(', ')}` });
      if (t.serverPeakRssMiB) f.push({ section: 'prediction', name: 'TF.js fallback: server peak RSS', value: t.serverPeakRssMiB, unit: 'MiB' });
    }
    predictionGridFigures(p.grid ?? [], f);
  }

  for (const s of r.sizes ?? []) {
    const small = s.bytes !== undefined && s.bytes < MiB;
    f.push({ section: 'sizes', name: s.what, value: s.bytes === undefined ? undefined : s.bytes / (small ? 1024 : MiB), unit: s.bytes === undefined ? '' : small ? 'KiB' : 'MiB', note: s.note });
  }

  if (r.interop) {
    if ('skipped' in r.interop) f.push({ section: 'interop', name: 'Keras interop', value: 'skipped', unit: '', note: r.interop.skipped });
    else {
      f.push({ section: 'interop', name: `tfjs -> Keras H5, max abs diff (${r.interop.n} pairs)`, value: r.interop.maxAbsDiff, unit: '', note: `mean ${r.interop.meanAbsDiff.toExponential(2)}; same decision ${r.interop.sameDecision}/${r.interop.n}; tensorflowjs ${r.interop.tensorflowjs}` });
    }
  }

  for (const p of r.profile ?? []) {
    for (const e of p.top.filter((x) => x.function !== '(idle)' || p.stage === 'embedding').slice(0, 3)) {
      f.push({ section: 'profile', name: `${p.stage}: ${e.function}`, value: e.percent, unit: '%', note: e.where || undefined });
    }
  }
  return f;
}

/** Heads rows: each variant's mean per figure (Keras' beside the recipe), min–max and the seeds' values in the note. */
function headsFigures(h: HeadsResult, f: Figure[]): void {
  const keras = h.rows.find((row) => row.side === 'keras');
  for (const row of h.rows) {
    for (const metric of ['accuracy', 'f1', 'rocAuc'] as const) {
      const s = row[metric];
      const ref = row.name === 'recipe' && row.side === 'simpair' ? keras?.[metric].mean : undefined;
      const perSeed = row.runs.map((x) => `${x.seed}: ${x[metric] === null ? '-' : x[metric]!.toFixed(4)}`).join(', ');
      f.push({ section: 'heads', name: `${row.name}: ${metric === 'rocAuc' ? 'ROC-AUC' : metric === 'f1' ? 'F1' : 'accuracy'}, mean of ${s.n}`, value: s.mean, unit: '', reference: ref, ratio: ratio(s.mean, ref), note: `min–max ${fmt(s.min)}–${fmt(s.max)}, sd ${s.sd.toFixed(4)}; ${perSeed}` });
    }
  }
  const b = h.encoderBaseline;
  if ('accuracy' in b) {
    f.push({ section: 'heads', name: 'encoder baseline (cosine, threshold tuned on train): accuracy', value: b.accuracy, unit: '', note: `threshold ${b.threshold.toFixed(4)}; F1 ${b.f1.toFixed(4)}${b.cost ? `; pooling ${b.cost.seconds.toFixed(1)} s` : ''}` });
    f.push({ section: 'heads', name: 'encoder baseline: ROC-AUC', value: b.rocAuc ?? undefined, unit: '' });
  }
  if ('probes' in h.probe) {
    for (const p of h.probe.probes) f.push({ section: 'heads', name: `probe, logistic regression on ${p.name}: accuracy`, value: p.accuracy, unit: '', note: `F1 ${p.f1.toFixed(4)}, ROC-AUC ${p.rocAuc?.toFixed(4)}; C ${p.C}; train accuracy ${p.trainAccuracy.toFixed(4)}` });
  } else f.push({ section: 'heads', name: 'probe (logistic regression on pooled vectors)', value: 'skipped', unit: '', note: h.probe.skipped.slice(0, 120) });
}

/** Data path rows: what the GPU needs, what each source delivers, the prefetch effect. */
function datapathFigures(d: DatapathResult, f: Figure[]): void {
  const shape = `bert-base [${d.maxLen}, ${d.hidden}]`;
  for (const [dtype, bytes] of Object.entries(d.bytesPerRow)) {
    f.push({
      section: 'datapath',
      name: `needed by the GPU, ${dtype}, ${shape}, batch ${d.batchSize}`,
      value: (d.neededRowsPerSecond * bytes) / 1e6,
      unit: 'MB/s',
      note: `${fmt(d.neededRowsPerSecond)} rows/s at an assumed ${d.assumedGpuStepMs} ms GPU step; ${fmt(bytes / 1024)} KiB/row`,
    });
  }
  const how = (run: DatapathResult['runs'][number]) => (run.workers ? `${run.workers} workers, prefetch ${run.prefetch}` : `main thread, prefetch ${run.prefetch}`);
  for (const run of d.runs.filter((x) => x.stepMs === 0)) {
    const plain = run.workers ? d.runs.find((x) => x.stepMs === 0 && !x.workers && x.dtype === run.dtype && x.source === run.source) : undefined;
    f.push({
      section: 'datapath',
      name: `reader, ${run.dtype}, ${run.source}, ${how(run)}`,
      value: run.rowsPerSecond,
      unit: 'rows/s',
      ...(plain ? { reference: plain.rowsPerSecond, ratio: ratio(run.rowsPerSecond, plain.rowsPerSecond) } : {}),
      note: `${plain ? 'reference: main thread, prefetch 0; ' : ''}${run.source === 'local disk' || run.source.startsWith('local cache') ? 'best warm epoch; ' : ''}${fmt(run.megabytesPerSecond)} MB/s; ${fmt(run.rowsPerSecond / d.neededRowsPerSecond, 2)}x the GPU's need; peak RSS ${fmt(run.peakRssMiB)} MiB; ${d.rows} rows in shards of ${d.rowsPerShard}`,
    });
  }
  for (const run of d.runs.filter((x) => x.stepMs > 0)) {
    const computeSeconds = run.epochSeconds - run.waitSeconds;
    f.push({
      section: 'datapath',
      name: `epoch with a ${run.stepMs} ms step, ${run.dtype}, ${run.source}, ${how(run)}`,
      value: run.epochSeconds,
      unit: 's',
      note: `waited ${fmt(run.waitSeconds)} s for data (${fmt((100 * run.waitSeconds) / run.epochSeconds)}%), steps ${fmt(computeSeconds)} s; peak RSS ${fmt(run.peakRssMiB)} MiB`,
    });
  }
}

/**
 * Prediction grid rows: the new path's figure (classifier.onnx on ONNX Runtime) with the old
 * path's (TF.js classifier, same model without classifier.onnx) and old/new in the note.
 */
function predictionGridFigures(grid: readonly PredictionGridEntry[], f: Figure[]): void {
  grid.forEach((e, i) => {
    const what = `${basename(e.model)} ${e.dtype} L${e.maxLen}`;
    if (!e.onnx || !e.tfjs) {
      f.push({ section: 'prediction', name: `grid ${what}`, value: 'skipped', unit: '', note: e.skipped });
      return;
    }
    const { onnx: n, tfjs: o } = e;
    const vs = (newValue: number | undefined, oldValue: number | undefined, unit: string) =>
      `old (TF.js) ${fmt(oldValue)} ${unit}; old/new ${fmt(ratio(oldValue, newValue), 2)}x`;
    const rows: [string, number | undefined, number | undefined, string, string?][] = [
      ['cold start', mean(n.coldStartMs), mean(o.coldStartMs), 'ms', i === 0 ? 'seeded random Bi-LSTM (weights do not change speed)' : undefined],
      ['warm p50', n.warm.p50, o.warm.p50, 'ms'],
      ['warm p95', n.warm.p95, o.warm.p95, 'ms'],
      ['warm p99', n.warm.p99, o.warm.p99, 'ms'],
      ['peak RSS', n.serverPeakRssMiB, o.serverPeakRssMiB, 'MiB'],
    ];
    for (const [name, newValue, oldValue, unit, extra] of rows) {
      f.push({ section: 'prediction', name: `grid ${what}, new (ORT only): ${name}`, value: newValue, unit, note: `${vs(newValue, oldValue, unit)}${extra ? `; ${extra}` : ''}` });
    }
  });
}
