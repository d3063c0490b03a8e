import { PREFIX } from '../src/pipeline/layout.ts';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { acknowledge } from './private/nag.ts';
import type { Construct } from 'constructs';
import { EmbeddingFunction } from './embedding-function.ts';
import { GpuTraining, type TrainingCompute } from './gpu-training.ts';
import { checkModelSource } from './private/grant-model-source.ts';
import { throwIfInvalid } from './private/validate-props.ts';
import { PipelineAlarms } from './pipeline-alarms.ts';
import { PredictionApi, type ApiAuth, type ApiLogging } from './prediction-api.ts';
import { RuntimeLayers } from './runtime-layers.ts';
import { StorageBucket } from './storage-bucket.ts';
import { TrainingPipeline } from './training-pipeline.ts';

/** Props of {@link SimpairStack}. */
export interface SimpairStackProps extends StackProps {
  /** 'gpu' (AWS Batch on g4dn/g5) or 'cpu' (Fargate, small datasets). @default 'gpu' */
  readonly trainingCompute?: TrainingCompute;
  /** 'iam' (SigV4) or 'apiKey' (key + usage plan). @default 'iam' */
  readonly apiAuth?: ApiAuth;
  /** Embedding model of runs: `s3://...` prefix in the hub layout, or a hub id. @default s3://<bucket>/encoders/bert-base-uncased/ */
  readonly modelSource?: string;
  /** Lambda architecture; the onnxruntime layer keeps that platform's binaries. @default lambda.Architecture.X86_64 */
  readonly lambdaArchitecture?: lambda.Architecture;
  /** Shards embedded at once by the Distributed Map. @default DEFAULT_EMBED_MAX_CONCURRENCY (10) */
  readonly maxConcurrency?: number;
  /** Memory of the embedding function in MB (see EmbeddingFunctionProps.memorySize). @default 3008 */
  readonly embeddingMemoryMB?: number;
  /** Concurrency reserved for /predict (see PredictionApiProps.predictReservedConcurrency). @default none */
  readonly predictReservedConcurrency?: number;
  /** E-mail address the alarms notify (SNS). @default alarms without notification */
  readonly alarmEmail?: string;
  /** Days before shards/ and embeddings/ expire. @default 14 */
  readonly intermediateExpirationDays?: number;
  /** Keep the bucket and its data when the stack is deleted. @default true */
  readonly retainData?: boolean;
  /** Largest GPU fleet in vCPUs. @default 16 */
  readonly maxTrainingVcpus?: number;
  /** @default false */
  readonly spotTraining?: boolean;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Base image of the training image, pinned by digest (see GpuTrainingProps.baseImage). @default DEFAULT_TRAINING_BASE_IMAGE (unpinned, with a synth warning) */
  readonly trainingBaseImage?: string;
  /** Predict environments kept warm (see PredictionApiProps.predictProvisionedConcurrency: billed while deployed). @default 0 */
  readonly predictProvisionedConcurrency?: number;
  /** API Gateway stage logs and the account role they need (see ApiLogging). @default 'none' */
  readonly apiLogging?: ApiLogging;
}

/** Prefix in the bucket where the default embedding model is expected (hub layout, ONNX under onnx/). */
export const DEFAULT_ENCODER_PREFIX = `${PREFIX.encoders}bert-base-uncased/`;

/**
 * simpair on AWS: upload a dataset to S3 and a run trains on AWS Batch; call the API to
 * predict with the live model.
 */
export class SimpairStack extends Stack {
  readonly storage: StorageBucket;
  readonly pipeline: TrainingPipeline;
  readonly training: GpuTraining;
  readonly api: PredictionApi;
  readonly alarms: PipelineAlarms;

  constructor(scope: Construct, id: string, props: SimpairStackProps = {}) {
    super(scope, id, props);
    const retainData = props.retainData ?? true;
    const architecture = props.lambdaArchitecture ?? lambda.Architecture.X86_64;
    throwIfInvalid('SimpairStack', [
      architecture !== lambda.Architecture.X86_64 && architecture !== lambda.Architecture.ARM_64 && `lambdaArchitecture is ${architecture.name}; use X86_64 or ARM_64.`,
      props.modelSource !== undefined && checkModelSource(props.modelSource),
    ]);

    this.storage = new StorageBucket(this, 'Storage', {
      intermediateExpirationDays: props.intermediateExpirationDays,
      removalPolicy: retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoDeleteObjects: !retainData,
    });
    const { bucket } = this.storage;
    const modelSource = props.modelSource ?? `s3://${bucket.bucketName}/${DEFAULT_ENCODER_PREFIX}`;
    const layers = new RuntimeLayers(this, 'RuntimeLayers', { architecture });

    const embedding = new EmbeddingFunction(this, 'Embedding', {
      bucket,
      onnxRuntimeLayer: layers.onnxRuntime,
      modelSource,
      architecture,
      logRetention: props.logRetention,
      memorySize: props.embeddingMemoryMB,
    });
    this.training = new GpuTraining(this, 'Training', {
      bucket,
      trainingCompute: props.trainingCompute,
      maxvCpus: props.maxTrainingVcpus,
      spot: props.spotTraining,
      baseImage: props.trainingBaseImage,
      logRetention: props.logRetention,
    });
    this.pipeline = new TrainingPipeline(this, 'Pipeline', {
      bucket,
      embedFunction: embedding.function,
      jobQueue: this.training.jobQueue,
      jobDefinition: this.training.jobDefinition,
      modelSource,
      maxConcurrency: props.maxConcurrency,
      architecture,
      logRetention: props.logRetention,
      timeout: Duration.hours(24),
      // Every attempt's queue wait and run, plus 15 minutes for the job to start and stop.
      trainingTimeout: this.training.maxDuration.plus(Duration.minutes(15)),
    });
    this.api = new PredictionApi(this, 'Api', {
      bucket,
      onnxRuntimeLayer: layers.onnxRuntime,
      modelSource,
      apiAuth: props.apiAuth,
      apiLogging: props.apiLogging,
      predictProvisionedConcurrency: props.predictProvisionedConcurrency,
      predictReservedConcurrency: props.predictReservedConcurrency,
      embedMemoryMB: embedding.memorySize,
      architecture,
      logRetention: props.logRetention,
    });

    this.alarms = new PipelineAlarms(this, 'Alarms', {
      stateMachine: this.pipeline.stateMachine,
      jobQueue: this.training.jobQueue,
      deadLetterQueue: this.pipeline.deadLetterQueue,
      alarmEmail: props.alarmEmail,
    });

    new CfnOutput(this, 'BucketName', { value: bucket.bucketName, description: 'Upload datasets to s3://<this>/datasets/' });
    new CfnOutput(this, 'ModelSource', { value: modelSource, description: 'Embedding model runs use (upload config.json, tokenizer.json, onnx/model.onnx there when on S3)' });
    new CfnOutput(this, 'ApiUrl', { value: this.api.api.url, description: 'POST predict, POST train, GET runs/{id}' });
    new CfnOutput(this, 'StateMachineArn', { value: this.pipeline.stateMachine.stateMachineArn });
    if (this.api.apiKey) new CfnOutput(this, 'ApiKeyId', { value: this.api.apiKey.keyId, description: 'aws apigateway get-api-key --api-key <id> --include-value' });

    this.suppressSharedFindings();
  }

  /** Findings that apply to every function of the stack, each with its reason. */
  private suppressSharedFindings(): void {
    acknowledge(this, [
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'Lambda execution roles carry AWSLambdaBasicExecutionRole (CloudWatch Logs writes only), the AWS-managed policy CDK attaches to every function.',
      },
      {
        id: 'AwsSolutions-L1',
        reason:
          'nodejs22.x on purpose: the training image runs Node 22 too and must stay below 23 (tfjs-node calls util.isNullOrUndefined, removed in Node 23), so functions and training share one Node major; the bundles target node22.',
      },
    ]);
  }
}
