import { Duration, Size } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV_NAMES } from '../functions/commons/env-names.ts';
import { PREFIX } from '../src/pipeline/layout.ts';
import { grantModelSourceRead, modelSourcePrefixes } from './private/grant-model-source.ts';
import { acknowledgePrefixGrants } from './private/nag.ts';
import { simpairFunction } from './private/simpair-function.ts';
import { intInRange, throwIfInvalid } from './private/validate-props.ts';

/** Memory of the embedding function by default: the most a new account's Lambda quota allows. */
export const DEFAULT_EMBEDDING_MEMORY_MB = 3008;

/** Props of {@link EmbeddingFunction}. */
export interface EmbeddingFunctionProps {
  /** The pipeline bucket. */
  readonly bucket: s3.IBucket;
  /** The onnxruntime-node layer (RuntimeLayers.onnxRuntime). */
  readonly onnxRuntimeLayer: lambda.ILayerVersion;
  /** Where BERT's files are read from at cold start (granted read when on S3). */
  readonly modelSource: string;
  /** @default lambda.Architecture.X86_64 */
  readonly architecture?: lambda.Architecture;
  /**
   * MB; Lambda gives 1 vCPU per 1,769 MB (10,240 MB = 6 vCPUs for ONNX Runtime). New accounts
   * are often capped at 3,008 MB ("Function memory" quota of Lambda), and CloudFormation then
   * fails the deploy above it. @default DEFAULT_EMBEDDING_MEMORY_MB (3008)
   */
  readonly memorySize?: number;
  /** MiB of /tmp for the cached model (440 MB float32 BERT-base plus tokenizer). @default 2048 */
  readonly ephemeralStorageMiB?: number;
  /** @default Duration.minutes(15) */
  readonly timeout?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The function the Distributed Map runs per shard: tokenizer + BERT in ONNX Runtime, row
 * shard in, embedding shard out.
 *
 * How BERT's weights arrive: downloaded from S3 (or the hub) to /tmp at cold start, cached
 * for the life of the container. Why, from sizes: bert-base-uncased is ~440 MB float32
 * (~110 MB int8); a function's zip plus layers must stay under 250 MB unzipped and the
 * onnxruntime layer already takes ~45 MB (x64) plus a ~5-10 MB bundle, so float32 cannot ride in a layer
 * and int8 (~110 MB) would fit but pin the model and its precision to the deployment. A
 * container image (10 GB) would fit anything but needs a Docker build at deploy time and
 * slower cold starts for a multi-hundred-MB image. The download costs one S3 GET of 440 MB
 * per cold container (a few seconds in-region), amortised over a shard of hundreds of pairs,
 * and keeps the model a per-run option (`modelSource`). /tmp is raised to 2 GiB to hold it.
 */
export class EmbeddingFunction extends Construct {
  readonly function: NodejsFunction;
  readonly memorySize: number;

  constructor(scope: Construct, id: string, props: EmbeddingFunctionProps) {
    super(scope, id);
    const { memorySize = DEFAULT_EMBEDDING_MEMORY_MB, ephemeralStorageMiB = 2048, timeout = Duration.minutes(15) } = props;
    throwIfInvalid('EmbeddingFunction', [
      !intInRange(memorySize, 2048, 10240) && `memorySize is ${memorySize}; use 2048 (BERT-base and one shard) to 10240 MB (Lambda's limit; above 3008 the account's quota must allow it).`,
      !intInRange(ephemeralStorageMiB, 512, 10240) && `ephemeralStorageMiB is ${ephemeralStorageMiB}; Lambda allows 512 to 10240 MiB.`,
      ephemeralStorageMiB < 1024 && `ephemeralStorageMiB is ${ephemeralStorageMiB}; BERT-base float32 (~440 MB) plus its tokenizer needs at least 1024 MiB of /tmp.`,
      timeout.toSeconds() > 900 && `timeout is ${timeout.toSeconds()} s; Lambda allows at most 900 s. Use a smaller shardSize instead.`,
    ]);
    this.memorySize = memorySize;
    this.function = simpairFunction(this, 'Function', {
      handler: 'embed-shard',
      description: 'simpair: embed one row shard with BERT (ONNX Runtime)',
      architecture: props.architecture ?? lambda.Architecture.X86_64,
      memorySize,
      timeout,
      ephemeralStorageSize: Size.mebibytes(ephemeralStorageMiB),
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      layers: [props.onnxRuntimeLayer],
      environment: { [ENV_NAMES.bucket]: props.bucket.bucketName },
    });
    props.bucket.grantRead(this.function, `${PREFIX.runs}*`);
    props.bucket.grantRead(this.function, `${PREFIX.shards}*`);
    props.bucket.grantPut(this.function, `${PREFIX.embeddings}*`);
    // A shard whose sidecar is already stored is not embedded again (a retried or resumed run).
    props.bucket.grantRead(this.function, `${PREFIX.embeddings}*`);
    grantModelSourceRead(this, props.bucket, props.modelSource, this.function);
    acknowledgePrefixGrants(this.function, props.bucket, [PREFIX.runs, PREFIX.shards, PREFIX.embeddings, ...modelSourcePrefixes(props.bucket, props.modelSource)]);
  }
}
