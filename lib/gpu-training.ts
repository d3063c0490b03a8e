import { Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
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

/** GPU instance types with one NVIDIA GPU each (T4 on g4dn, A10G on g5). */
export const DEFAULT_GPU_INSTANCE_TYPES = ['g4dn.xlarge', 'g4dn.2xlarge', 'g5.xlarge', 'g5.2xlarge'] as const;

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
  /** @default Duration.hours(12) */
  readonly jobTimeout?: Duration;
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

  constructor(scope: Construct, id: string, props: GpuTrainingProps) {
    super(scope, id);
    const {
      trainingCompute = 'gpu',
      gpuInstanceTypes = DEFAULT_GPU_INSTANCE_TYPES,
      maxvCpus = 16,
      spot = false,
      jobVcpus = 4,
      jobMemoryGiB = 14,
      jobTimeout = Duration.hours(12),
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
    ]);

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
        images: [{ imageType: batch.EcsMachineImageType.ECS_AL2_NVIDIA }],
        minvCpus: 0,
        maxvCpus,
        spot,
        allocationStrategy: spot ? batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED : batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
        updateToLatestImageVersion: true,
        replaceComputeEnvironment: false,
      });
      container = new batch.EcsEc2ContainerDefinition(this, 'GpuContainer', { ...common, gpu: 1 });
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
    });
    this.jobDefinition = new batch.EcsJobDefinition(this, 'JobDefinition', {
      container,
      timeout: jobTimeout,
      // One retry covers a Spot interruption or a lost instance; a code error fails twice.
      retryAttempts: 2,
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
