// Worker thread of ShardDataset (src/classifier/shard-workers.ts): checks a block's shard
// files against the manifest's SHA-256 and lays the block's rows out in batch order
// (embeddings decoded to float32, labels, pair features), so the main thread only slices
// batches and makes tensors. Plain JavaScript on purpose: a worker thread does not inherit
// the TypeScript loader of the process that starts it (tsx, vitest), and this file has no
// imports but Node's own. Proven equal to ShardDataset's in-thread path in
// test/classifier/shard-dataset.test.ts.
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

/** binary16 bits -> float32, the main thread's float16ArrayToFloat32 table. */
const float16Table = workerData.float16Table;

parentPort.on('message', (job) => {
  try {
    const result = prepareBlock(job);
    const transfer = [result.xs.buffer, result.ys.buffer];
    if (result.pairs) transfer.push(result.pairs.buffer);
    parentPort.postMessage({ id: job.id, result }, transfer);
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) });
  }
});

/**
 * job: { id, files: [{ file?: { buffer, byteOffset, byteLength, sha256 }, embeddings: View, dtype: 'F32' | 'F16',
 *        labels: Uint8Array, pooled?: View }], order, slot, row (Uint32Array), rowSize, hidden, pairFeatures }
 * View: { buffer, byteOffset, length } (elements).
 * Returns { xs [n * rowSize], ys [n], pairs? [n * 4 * hidden] } in `order`, or { mismatch: { file, sha256 } }.
 */
function prepareBlock(job) {
  const { files, order, slot, row, rowSize, hidden, pairFeatures } = job;
  for (let k = 0; k < files.length; k++) {
    const f = files[k].file;
    if (f === undefined) continue;
    const sha256 = createHash('sha256').update(new Uint8Array(f.buffer, f.byteOffset, f.byteLength)).digest('hex');
    if (sha256 !== f.sha256) return { mismatch: { file: k, sha256 }, xs: new Float32Array(0), ys: new Float32Array(0) };
  }
  const views = files.map((f) => ({
    emb: f.dtype === 'F16' ? new Uint16Array(f.embeddings.buffer, f.embeddings.byteOffset, f.embeddings.length) : new Float32Array(f.embeddings.buffer, f.embeddings.byteOffset, f.embeddings.length),
    f16: f.dtype === 'F16',
    labels: f.labels,
    pooled: f.pooled ? new Float32Array(f.pooled.buffer, f.pooled.byteOffset, f.pooled.length) : undefined,
  }));
  const n = order.length;
  const xs = new Float32Array(n * rowSize);
  const ys = new Float32Array(n);
  const pairs = pairFeatures && views.every((v) => v.pooled) ? new Float32Array(n * 4 * hidden) : undefined;
  for (let k = 0; k < n; k++) {
    const at = order[k];
    const v = views[slot[at]];
    const r = row[at];
    const from = r * rowSize;
    const to = k * rowSize;
    if (v.f16) {
      const emb = v.emb;
      for (let j = 0; j < rowSize; j++) xs[to + j] = float16Table[emb[from + j]];
    } else {
      xs.set(v.emb.subarray(from, from + rowSize), to);
    }
    ys[k] = v.labels[r];
    if (pairs) {
      // pairFeatures(u, v): [u, v, |u - v|, u * v]
      const p = v.pooled;
      const u0 = r * 2 * hidden;
      const v0 = u0 + hidden;
      const o = k * 4 * hidden;
      for (let j = 0; j < hidden; j++) {
        const a = p[u0 + j];
        const b = p[v0 + j];
        pairs[o + j] = a;
        pairs[o + hidden + j] = b;
        pairs[o + 2 * hidden + j] = Math.abs(a - b);
        pairs[o + 3 * hidden + j] = a * b;
      }
    }
  }
  return pairs ? { xs, ys, pairs } : { xs, ys };
}
