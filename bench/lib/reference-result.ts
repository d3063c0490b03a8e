/** What bench/reference/reference.py prints (the fields the bench reads). */
export interface SpeedConfig {
  readonly model: string;
  readonly modelDir: string;
  readonly onnxFile: string;
  readonly dtype: 'float32' | 'int8';
  readonly maxLen: number;
  readonly batchSize: number;
}

export interface SpeedResult extends SpeedConfig {
  readonly pairs: number;
  readonly seconds: number;
  readonly pairsPerSecond: number;
}

export interface ReferenceMetrics {
  readonly n: number;
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly rocAuc: number | null;
  readonly majorityBaseline: number;
}

export interface ReferenceResult {
  readonly versions: Record<string, string>;
  readonly maxLen: number;
  readonly tokenizer: { readonly pairs: number; readonly seconds: number; readonly pairsPerSecond: number };
  readonly tfEmbedding: SpeedResult[];
  readonly ortEmbedding: SpeedResult[];
  readonly recipe?: {
    readonly embedPairs: number;
    readonly embedSeconds: number;
    readonly embedPairsPerSecond: number;
    readonly trainRows: number;
    readonly validationRows: number;
    readonly epochs: number;
    readonly batchSize: number;
    readonly epochSeconds: number[];
    readonly history: Record<string, number[]>;
    readonly predictSeconds: number;
    readonly metrics: ReferenceMetrics;
  };
}
