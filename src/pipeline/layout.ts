/**
 * Where a run's objects live in the store (local directory or S3 bucket). One place, so the
 * CDK stack's least-privilege grants, the handlers and the local flow cannot drift.
 */
export const PREFIX = {
  datasets: 'datasets/',
  shards: 'shards/',
  embeddings: 'embeddings/',
  models: 'models/',
  runs: 'runs/',
  /** Embedding models (BERT ONNX exports in the hub layout) the functions read at cold start. */
  encoders: 'encoders/',
} as const;

/** Key of the pointer object that names the live model version. */
export const LIVE_MODEL_KEY = `${PREFIX.models}live.json`;

export const keys = {
  runStatus: (runId: string) => `${PREFIX.runs}${runId}/status.json`,
  runByDataset: (datasetSha256: string) => `${PREFIX.runs}by-dataset/${datasetSha256}.json`,
  /** The runs started on a dataset key's current content (by sha256 of the key): a start with other content fails them. */
  runsOfDatasetKey: (datasetKeySha256: string) => `${PREFIX.runs}by-key/${datasetKeySha256}.json`,
  /** JSON list of a run's row shards (ShardRef[]), read by the Distributed Map and by a resumed run. */
  shardList: (runId: string) => `${PREFIX.shards}${runId}/shards.json`,
  rowShard: (runId: string, index: number) => `${PREFIX.shards}${runId}/rows-${String(index).padStart(5, '0')}.jsonl`,
  /** A dataset's stored embeddings, by embedding id (run-options.ts embeddingIdFor): shared by the runs that differ only in training options. */
  embeddings: (embeddingId: string) => `${PREFIX.embeddings}${embeddingId}/`,
  modelVersion: (version: string) => `${PREFIX.models}${version}/`,
};
