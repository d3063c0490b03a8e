import { Annotations, Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { acknowledge, acknowledgePrefixGrants } from './private/nag.ts';
import { Construct } from 'constructs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_NAMES } from '../functions/commons/env-names.ts';
import { PREFIX, LIVE_MODEL_KEY } from '../src/pipeline/layout.ts';
import { REPO_ROOT } from './private/paths.ts';
import { intInRange, throwIfInvalid } from './private/validate-props.ts';

/** Where training runs: GPU instances (default) or CPU on Fargate, for small datasets. */
export type TrainingCompute = 'gpu' | 'cpu';

/**
 * GPU instance types of the compute environment: g4dn only (one NVIDIA T4 each).
 *
 * The image's TensorFlow (2.21 from the PyPI `tensorflow` wheel, CUDA 12.5) has kernels for
 * sm_60/70/80/89 + PTX compute_90, so the T4 (sm_75), A10G (sm_86, g5) and L4 (sm_89, g6) all
 * run native kernels. g4dn stays the default on price: a g4dn.xlarge costs half a g5.xlarge,
 * for a Bi-LSTM that a T4 trains well within its budget. g5/g6 types are allowed through
 * `gpuInstanceTypes` (for when T4 capacity is short).
 */
export const DEFAULT_GPU_INSTANCE_TYPES = ['g4dn.xlarge', 'g4dn.2xlarge'] as const;

/**
 * The base of the training image, by tag: a plain Debian 13 (CUDA, cuDNN and TensorFlow come
 * from hash-locked PyPI wheels, training/requirements-gpu.txt). A tag moves, so deploy with it
 * pinned by digest (`<this>@sha256:...`) or mirrored to your own ECR repository (README, "The
 * training image"); the digest cannot be looked up offline, so the default is the tag.
 */
export const DEFAULT_TRAINING_BASE_IMAGE = 'debian:trixie-slim';

/** Attempts of a training job: the first, plus one retry of a host or Spot failure. */
export const TRAINING_JOB_ATTEMPTS = 2;

/** Props of {@link GpuTraining}. */
export interface GpuTrainingProps {
  /** The pipeline bucket: the job reads runs/ and embeddings/, writes models/ and runs/. */
  readonly bucket: s3.IBucket;
  /** @default 'gpu' */
  readonly trainingCompute?: TrainingCompute;
  /** GPU instance types (g4dn/g5 families only). @default DEFAULT_GPU_INSTANCE_TYPES */
  readonly gpuInstanceTypes?: readonly string[];
  /** Upper bound of the compute environment in vCPUs (4 = one g4dn.xlarge). @default 16 */
  readonly maxvCpus?: number;
  /** Use Spot capacity for the GPU instances (cheaper, may be interrupted; the job retries). @default false */
  readonly spot?: boolean;
  /** vCPUs of the job. @default 4 */
  readonly jobVcpus?: number;
  /** Memory of the job in GiB (g4dn.xlarge has 16, minus what ECS keeps). @default 14 */
  readonly jobMemoryGiB?: number;
  /** Limit of one attempt of the training job. @default Duration.hours(8) */
  readonly jobTimeout?: Duration;
  /**
   * How long a job may wait RUNNABLE at the head of the queue because no instance can be had
   * (no capacity, no GPU quota) before Batch cancels it. Misconfigurations (maxvCpus or
   * instance types that can never fit the job) are cancelled after 10 minutes.
   * @default Duration.hours(1)
   */
  readonly queueWaitLimit?: Duration;
  /**
   * Base image of the training image (training/Dockerfile's BASE_IMAGE): a reference pinned by
   * digest (`repo:tag@sha256:<64 hex>` or `repo@sha256:...`), e.g. an ECR mirror. An unpinned
   * tag builds, with a synth warning.
   * @default DEFAULT_TRAINING_BASE_IMAGE (unpinned)
   */
  readonly baseImage?: string;
  /** @default a new VPC with two public subnets, no NAT gateway, an S3 gateway endpoint and flow logs */
  readonly vpc?: ec2.IVpc;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * AWS Batch for the Bi-LSTM training task: a managed EC2 compute environment of GPU
 * instances only (g4dn/g5; mixing CPU types in could leave GPU jobs stuck in RUNNABLE), on the
 * ECS GPU-optimised AMI, a job queue, and a job definition asking for one GPU, with the image
 * built from training/Dockerfile. `trainingCompute: 'cpu'` swaps in Fargate instead.
 */
export class GpuTraining extends Construct {
  readonly jobQueue: batch.JobQueue;
  readonly jobDefinition: batch.EcsJobDefinition;
  readonly image: DockerImageAsset;
  readonly jobRole: iam.Role;
  readonly vpc: ec2.IVpc;
  /** How long a job may wait RUNNABLE before Batch cancels it (capacity). */
  readonly queueWaitLimit: Duration;
  /** Longest a training job can take, every attempt's queue wait and timeout included: the bound of the state machine's Batch task. */
  readonly maxDuration: Duration;

  constructor(scope: Construct, id: string, props: GpuTrainingProps) {
    super(scope, id);
    const {
      trainingCompute = 'gpu',
      gpuInstanceTypes = DEFAULT_GPU_INSTANCE_TYPES,
      maxvCpus = 16,
      spot = false,
      jobVcpus = 4,
      jobMemoryGiB = 14,
      jobTimeout = Duration.hours(8),
      queueWaitLimit = Duration.hours(1),
      baseImage = DEFAULT_TRAINING_BASE_IMAGE,
      logRetention = logs.RetentionDays.ONE_MONTH,
    } = props;
    const notGpu = gpuInstanceTypes.filter((t) => !/^(g4dn|g5|g6|g6e)\.[a-z0-9]+$/.test(t));
    throwIfInvalid('GpuTraining', [
      trainingCompute !== 'gpu' && trainingCompute !== 'cpu' && `trainingCompute is "${String(trainingCompute)}"; use 'gpu' or 'cpu'.`,
      gpuInstanceTypes.length === 0 && 'gpuInstanceTypes is empty; give at least one GPU type such as g4dn.xlarge.',
      notGpu.length > 0 && `gpuInstanceTypes has ${notGpu.join(', ')}; only GPU types (g4dn.*, g5.*) are allowed, CPU types would take GPU jobs they cannot run.`,
      !intInRange(maxvCpus, 1, 4096) && `maxvCpus is ${maxvCpus}; use 1 to 4096.`,
      maxvCpus < jobVcpus && `maxvCpus (${maxvCpus}) is below jobVcpus (${jobVcpus}); the job could never be placed.`,
      trainingCompute === 'cpu' && ![0.25, 0.5, 1, 2, 4, 8, 16].includes(jobVcpus) && `jobVcpus is ${jobVcpus}; Fargate accepts 0.25, 0.5, 1, 2, 4, 8 or 16.`,
      !(jobMemoryGiB > 0) && `jobMemoryGiB is ${jobMemoryGiB}; give a positive number.`,
      spot && trainingCompute === 'cpu' && 'spot applies to the GPU environment; for CPU training leave it unset.',
      !(queueWaitLimit.toSeconds() >= 600 && queueWaitLimit.toSeconds() <= 86_400) &&
        `queueWaitLimit is ${queueWaitLimit.toSeconds()} s; AWS Batch accepts 600 to 86400 s (10 minutes to 24 hours).`,
      !(jobTimeout.toSeconds() >= 60) && `jobTimeout is ${jobTimeout.toSeconds()} s; AWS Batch needs at least 60 s.`,
      baseImage.includes('@') && !/@sha256:[0-9a-f]{64}$/.test(baseImage) && `baseImage "${baseImage}" has a malformed digest; use <image>@sha256:<64 hex digits>.`,
      /\s/.test(baseImage) || baseImage === '' ? `baseImage "${baseImage}" is not an image reference; use e.g. ${DEFAULT_TRAINING_BASE_IMAGE}@sha256:<digest>.` : undefined,
    ]);
    if (!baseImage.includes('@sha256:')) {
      Annotations.of(this).addWarningV2(
        'simpair:unpinnedTrainingBaseImage',
        `The training image builds on ${baseImage}, a tag: not reproducible (a tag moves to new builds). ` +
          `Pin it: -c trainingBaseImage=${baseImage}@sha256:<digest> (docker buildx imagetools inspect ${baseImage} prints it), or mirror it to ECR (README).`,
      );
    }
    this.queueWaitLimit = queueWaitLimit;
    // Each attempt may wait in the queue and then run to its timeout.
    this.maxDuration = Duration.seconds(TRAINING_JOB_ATTEMPTS * (jobTimeout.toSeconds() + queueWaitLimit.toSeconds()));

    this.vpc = props.vpc ?? this.createVpc();

    // The image is a build context of the whole repository (core + training entry); what
    // must stay out (node_modules, cdk.out, models) is listed once, in the file BuildKit
    // itself reads next to the Dockerfile.
    const exclude = readFileSync(join(REPO_ROOT, 'training', 'Dockerfile.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    this.image = new DockerImageAsset(this, 'Image', {
      directory: REPO_ROOT,
      file: 'training/Dockerfile',
      platform: Platform.LINUX_AMD64,
      exclude,
      buildArgs: { BASE_IMAGE: baseImage },
    });

    this.jobRole = new iam.Role(this, 'JobRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'simpair training job: reads run records and embeddings, writes models and run records',
    });
    props.bucket.grantRead(this.jobRole, `${PREFIX.runs}*`);
    props.bucket.grantRead(this.jobRole, `${PREFIX.embeddings}*`);
    props.bucket.grantPut(this.jobRole, `${PREFIX.runs}*`);
    props.bucket.grantPut(this.jobRole, `${PREFIX.models}*`);
    // The trainer writes a version under models/; only the publish step moves the live pointer.
    this.jobRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: ['s3:PutObject'], resources: [props.bucket.arnForObjects(LIVE_MODEL_KEY)] }),
    );

    const logGroup = new logs.LogGroup(this, 'JobLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const common = {
      image: ecs.ContainerImage.fromDockerImageAsset(this.image),
      cpu: jobVcpus,
      memory: Size.gibibytes(jobMemoryGiB),
      jobRole: this.jobRole,
      // AWS_REGION explicitly: ECS on EC2 does not inject it, and the SDK's IMDS fallback needs a
      // hop limit of 2 from a bridge-mode container, so the first S3 call would fail with
      // "Region is missing".
      environment: { [ENV_NAMES.bucket]: props.bucket.bucketName, [ENV_NAMES.logFormat]: 'json', AWS_REGION: Stack.of(this).region },
      logging: ecs.LogDriver.awsLogs({ streamPrefix: 'training', logGroup }),
    };

    let computeEnvironment: batch.IComputeEnvironment;
    let container: batch.IEcsContainerDefinition;
    if (trainingCompute === 'gpu') {
      const securityGroup = new ec2.SecurityGroup(this, 'ComputeSecurityGroup', {
        vpc: this.vpc,
        description: 'simpair GPU training instances: outbound only (ECR, S3, CloudWatch Logs)',
        allowAllOutbound: true,
      });
      computeEnvironment = new batch.ManagedEc2EcsComputeEnvironment(this, 'GpuComputeEnvironment', {
        vpc: this.vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
        securityGroups: [securityGroup],
        instanceTypes: gpuInstanceTypes.map((t) => new ec2.InstanceType(t)),
        // Otherwise CDK adds the "optimal" (CPU) classes next to the GPU types.
        useOptimalInstanceClasses: false,
        // Amazon Linux 2023 GPU AMI: AL2 (ECS_AL2_NVIDIA) is out of support since 2026-06-30.
        images: [{ imageType: batch.EcsMachineImageType.ECS_AL2023_NVIDIA }],
        minvCpus: 0,
        maxvCpus,
        spot,
        allocationStrategy: spot ? batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED : batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
        updateToLatestImageVersion: true,
        replaceComputeEnvironment: false,
      });
      // The entry fails the job at start when TensorFlow sees no GPU (training/gpu-check.ts).
      container = new batch.EcsEc2ContainerDefinition(this, 'GpuContainer', { ...common, gpu: 1, environment: { ...common.environment, [ENV_NAMES.expectGpu]: '1' } });
    } else {
      computeEnvironment = new batch.FargateComputeEnvironment(this, 'CpuComputeEnvironment', {
        vpc: this.vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
        maxvCpus,
      });
      container = new batch.EcsFargateContainerDefinition(this, 'CpuContainer', {
        ...common,
        // Public subnets without NAT: the task needs a public IP to reach ECR and S3 APIs.
        assignPublicIp: true,
        fargateCpuArchitecture: ecs.CpuArchitecture.X86_64,
        fargateOperatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      });
    }

    this.jobQueue = new batch.JobQueue(this, 'JobQueue', {
      computeEnvironments: [{ computeEnvironment, order: 1 }],
      priority: 1,
      // A job that can never start (no GPU capacity or quota, or an environment that can never
      // fit it) is cancelled instead of waiting RUNNABLE until the execution times out.
      jobStateTimeLimitActions: [
        { action: batch.JobStateTimeLimitActionsAction.CANCEL, maxTime: queueWaitLimit, reason: batch.JobStateTimeLimitActionsReason.INSUFFICIENT_INSTANCE_CAPACITY, state: batch.JobStateTimeLimitActionsState.RUNNABLE },
        { action: batch.JobStateTimeLimitActionsAction.CANCEL, maxTime: Duration.minutes(10), reason: batch.JobStateTimeLimitActionsReason.COMPUTE_ENVIRONMENT_MAX_RESOURCE, state: batch.JobStateTimeLimitActionsState.RUNNABLE },
        { action: batch.JobStateTimeLimitActionsAction.CANCEL, maxTime: Duration.minutes(10), reason: batch.JobStateTimeLimitActionsReason.JOB_RESOURCE_REQUIREMENT, state: batch.JobStateTimeLimitActionsState.RUNNABLE },
      ],
    });
    this.jobDefinition = new batch.EcsJobDefinition(this, 'JobDefinition', {
      container,
      timeout: jobTimeout,
      retryAttempts: TRAINING_JOB_ATTEMPTS,
      // Retry only what the code cannot cause: the instance went away (Spot reclaim, host
      // failure: "Host EC2*") or the image could not be pulled; anything else, a non-zero exit
      // of the trainer included, fails at once (the rules are evaluated in order).
      retryStrategies: [
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.CANNOT_PULL_CONTAINER),
        batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom({ onReason: '*' })),
      ],
      propagateTags: true,
    });

    acknowledgePrefixGrants(this.jobRole, props.bucket, [PREFIX.runs, PREFIX.embeddings, PREFIX.models]);
    acknowledge(this, [
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]',
        reason: 'The Batch GPU instances join ECS with the AWS-managed instance role policy AWS documents for ECS container instances.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'The job execution role needs ecr:GetAuthorizationToken, which IAM only grants on Resource "*"; its other actions are scoped to the image repository and log group.',
      },
    ]);
  }

  private createVpc(): ec2.Vpc {
    // Public subnets and no NAT gateway (~$33/month each): GPU instances get public IPs and
    // only outbound rules; S3 traffic goes through a free gateway endpoint.
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    vpc.addFlowLog('FlowLogs', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'FlowLogsGroup', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY })),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    return vpc;
  }
}
