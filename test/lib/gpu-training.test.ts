import { beforeAll, describe, expect, it } from 'vitest';
import { Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DEFAULT_GPU_INSTANCE_TYPES, GpuTraining } from '../../lib/gpu-training.ts';
import { stateMachineDefinition, synthStack, testApp } from './synth-stack.ts';

type JobDefinition = {
  Timeout: { AttemptDurationSeconds: number };
  RetryStrategy: { Attempts: number; EvaluateOnExit: Record<string, string>[] };
  ContainerProperties: { Environment: { Name: string; Value: unknown }[] };
};

describe('GpuTraining (defaults)', () => {
  let template: Template;
  let job: JobDefinition;
  let stack: ReturnType<typeof synthStack>['stack'];
  beforeAll(() => {
    ({ template, stack } = synthStack());
    job = (Object.values(template.findResources('AWS::Batch::JobDefinition'))[0] as { Properties: JobDefinition }).Properties;
  });

  it('gives the container its region (ECS on EC2 does not inject AWS_REGION)', () => {
    expect(job.ContainerProperties.Environment).toEqual(expect.arrayContaining([{ Name: 'AWS_REGION', Value: 'us-east-1' }]));
  });

  it('tells the GPU job it asked for a GPU (the entry fails at start when TensorFlow sees none); the CPU job not', () => {
    expect(job.ContainerProperties.Environment).toContainEqual({ Name: 'SIMPAIR_EXPECT_GPU', Value: '1' });
    const cpu = synthStack({ trainingCompute: 'cpu' }).template;
    const cpuJob = (Object.values(cpu.findResources('AWS::Batch::JobDefinition'))[0] as { Properties: JobDefinition }).Properties;
    expect(cpuJob.ContainerProperties.Environment.map((e) => e.Name)).not.toContain('SIMPAIR_EXPECT_GPU');
  });

  it('retries host and Spot failures only, never a code error (evaluateOnExit ends with EXIT on anything)', () => {
    const rules = job.RetryStrategy.EvaluateOnExit;
    expect(job.RetryStrategy.Attempts).toBe(2);
    expect(rules).toContainEqual({ Action: 'RETRY', OnStatusReason: 'Host EC2*' });
    expect(rules.at(-1)).toEqual({ Action: 'EXIT', OnReason: '*' });
    for (const r of rules.filter((x) => x.Action === 'RETRY')) expect(r.OnExitCode, JSON.stringify(r)).toBeUndefined();
  });

  it('keeps attempts x (job timeout + queue wait) inside the execution timeout', () => {
    const executionTimeout = stateMachineDefinition(template).TimeoutSeconds!;
    expect(stack.training.maxDuration.toSeconds()).toBe(job.RetryStrategy.Attempts * (job.Timeout.AttemptDurationSeconds + stack.training.queueWaitLimit.toSeconds()));
    expect(stack.training.maxDuration.toSeconds()).toBeLessThan(executionTimeout);
  });

  it('cancels jobs stuck RUNNABLE (no capacity, or a misconfigured environment)', () => {
    template.hasResourceProperties('AWS::Batch::JobQueue', {
      JobStateTimeLimitActions: Match.arrayWith([
        { Action: 'CANCEL', MaxTimeSeconds: 3600, Reason: 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY', State: 'RUNNABLE' },
        { Action: 'CANCEL', MaxTimeSeconds: 600, Reason: 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE', State: 'RUNNABLE' },
        { Action: 'CANCEL', MaxTimeSeconds: 600, Reason: 'MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT', State: 'RUNNABLE' },
      ]),
    });
  });

  it('runs on the Amazon Linux 2023 NVIDIA ECS AMI, on g4dn only by default (the cheapest T4)', () => {
    template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      ComputeResources: Match.objectLike({ Ec2Configuration: [{ ImageType: 'ECS_AL2023_NVIDIA' }], InstanceTypes: ['g4dn.xlarge', 'g4dn.2xlarge'] }),
    });
    expect(DEFAULT_GPU_INSTANCE_TYPES.every((t) => t.startsWith('g4dn.'))).toBe(true);
  });
});

describe('GpuTraining base image', () => {
  const digest = `debian:trixie-slim@sha256:${'0f'.repeat(32)}`;
  it('passes the base image to the Dockerfile, and warns when it is not pinned by digest', () => {
    const unpinned = synthStack();
    Annotations.fromStack(unpinned.stack).hasWarning('*', Match.stringLikeRegexp('not reproducible'));
    const pinned = synthStack({ trainingBaseImage: digest });
    expect(Annotations.fromStack(pinned.stack).findWarning('*', Match.stringLikeRegexp('not reproducible'))).toEqual([]);
    const assets = JSON.parse(readFileSync(join(pinned.app.synth().directory, 'Test.assets.json'), 'utf8')) as { dockerImages: Record<string, { source: { dockerBuildArgs?: Record<string, string> } }> };
    expect(Object.values(assets.dockerImages).map((i) => i.source.dockerBuildArgs)).toEqual([{ BASE_IMAGE: digest }]);
  });

  it('refuses a malformed digest', () => {
    const s = new Stack(testApp({ nag: false }), 'S');
    expect(() => new GpuTraining(s, 'T', { bucket: new s3.Bucket(s, 'B'), baseImage: 'debian@sha256:abc' })).toThrow(/malformed digest/);
  });
});

describe('GpuTraining timing props', () => {
  it('refuses a queue wait limit outside what Batch accepts (10 min to 24 h)', () => {
    const s = new Stack(testApp({ nag: false }), 'S');
    expect(() => new GpuTraining(s, 'T', { bucket: new s3.Bucket(s, 'B'), queueWaitLimit: Duration.minutes(5) })).toThrow(/queueWaitLimit is 300 s; AWS Batch accepts 600 to 86400/);
  });
});
