/** Dataset reading: sentence pairs from MRPC TSV, TSV, CSV or JSONL, with every bad row reported. */
export type { LabeledPair, UnlabeledPair } from './pair.ts';
export { DATASET_FORMATS, DATASET_OPTION_KEYS, datasetOptionsSchema, type DatasetFormat, type DatasetOptions } from './dataset-options.ts';
export type { DatasetReadResult, LabelRule } from './dataset-read-result.ts';
export { detectFormat } from './detect-format.ts';
export { parseDataset } from './parse-dataset.ts';
export { readDataset } from './read-dataset.ts';
export { writeSkippedReport } from './write-skipped-report.ts';
