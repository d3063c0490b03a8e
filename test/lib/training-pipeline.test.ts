import { beforeAll, describe, expect, it } from 'vitest';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { TrainingPipeline } from '../../lib/training-pipeline.ts';
import { allStates, stateMachineDefinition, synthStack, testApp } from './synth-stack.ts';

type State = Record<string, unknown> & { Retry?: { ErrorEquals: string[]; JitterStrategy?: string; MaxDelaySeconds?: number; BackoffRate?: number; MaxAttempts?: number }[] };

const THROTTLES = ['Lambda.TooManyRequestsException', 'Lambda.ServiceException', 'Lambda.SdkClientException'];

describe('TrainingPipeline (defaults)', () => {
  let template: Template;
  let states: [string, State][];
  let definition: ReturnType<typeof stateMachineDefinition>;
  beforeAll(() => {
    ({ template } = synthStack());
    definition = stateMachineDefinition(template);
    states = allStates(definition.States) as [string, State][];
  });
  // payloadResponseOnly tasks name the function ARN itself as their Resource.
  const lambdaTasks = () => states.filter(([, s]) => s.Type === 'Task' && !String(s.Resource).includes(':states:::batch:'));

  it('retries every Lambda task on throttling and service errors, with backoff and full jitter', () => {
    expect(lambdaTasks().map(([n]) => n)).toEqual(expect.arrayContaining(['Validate and split', 'Embed shard', 'Finalize embeddings', 'Publish model', 'Record failure']));
    for (const [name, s] of lambdaTasks()) {
      const retry = s.Retry?.find((r) => THROTTLES.every((e) => r.ErrorEquals.includes(e)));
      expect(retry, name).toMatchObject({ JitterStrategy: 'FULL', BackoffRate: 2, MaxDelaySeconds: expect.any(Number) });
      expect(retry!.MaxAttempts, name).toBeGreaterThanOrEqual(5);
    }
  });

  it('gives every task a real timeout, so the States.Timeout retry of the embed task can match', () => {
    for (const [name, s] of states.filter(([, x]) => x.Type === 'Task')) {
      expect(s.TimeoutSeconds, name).toEqual(expect.any(Number));
    }
    const embed = states.find(([n]) => n === 'Embed shard')![1];
    expect(embed.TimeoutSeconds).toBe(900 + 60);
    expect(embed.Retry?.some((r) => r.ErrorEquals.includes('States.Timeout'))).toBe(true);
  });

  it('skips the embedding map (and finalize) when validate reports the run\'s embeddings already stored', () => {
    const byName = Object.fromEntries(states);
    const duplicate = byName['Duplicate upload?'] as { Default: string };
    const choice = byName[duplicate.Default] as { Type: string; Choices: { Variable: string; BooleanEquals: boolean; Next: string }[]; Default: string };
    expect(choice.Type).toBe('Choice');
    expect(choice.Choices).toEqual([expect.objectContaining({ Variable: '$.embeddingsReady', BooleanEquals: true, Next: 'Train on AWS Batch' })]);
    expect(byName[choice.Default].Type).toBe('Map');
    expect((byName['Finalize embeddings'] as { Next: string }).Next).toBe('Train on AWS Batch');
  });

  it('retries the Batch submit state on Batch API errors and throttling, never on a failed job', () => {
    const train = states.find(([, s]) => String(s.Resource).endsWith(':states:::batch:submitJob.sync'))![1];
    const retry = train.Retry?.find((r) => r.ErrorEquals.includes('Batch.AWSBatchException'));
    expect(retry).toMatchObject({ JitterStrategy: 'FULL', BackoffRate: 2 });
    expect(retry!.ErrorEquals).toEqual(expect.arrayContaining(['Batch.ServerException', 'Batch.TooManyRequestsException']));
    expect(retry!.MaxAttempts).toBeGreaterThanOrEqual(3);
    for (const r of train.Retry ?? []) expect(r.ErrorEquals).not.toContain('States.TaskFailed');
    for (const r of train.Retry ?? []) expect(r.ErrorEquals).not.toContain('States.ALL');
  });

  it('bounds the Batch task by the job budget, below the execution timeout', () => {
    const train = states.find(([, s]) => String(s.Resource).endsWith(':states:::batch:submitJob.sync'))![1];
    expect(train.TimeoutSeconds).toBeLessThan(definition.TimeoutSeconds!);
  });

  it('keeps the Distributed Map children from filling the state: child output discarded, map result discarded', () => {
    const map = states.find(([, s]) => s.Type === 'Map')![1];
    expect(map.ResultPath).toBeNull();
    const embed = states.find(([n]) => n === 'Embed shard')![1];
    expect(embed.OutputPath).toBeNull();
  });

  it('lets the state machine read only the shard lists it maps over, and submit only this stack\'s job definition to its queue', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { Roles: unknown; PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }[];
    const statements = policies.filter((p) => JSON.stringify(p.Properties.Roles).includes('PipelineStateMachineRole')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const resourcesOf = (action: string) => statements.filter((st) => [st.Action].flat().includes(action)).flatMap((st) => [st.Resource].flat());
    expect(resourcesOf('s3:GetObject')).toEqual([{ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/StorageBucket/), 'Arn'] }, '/shards/*/shards.json']] }]);
    const submit = resourcesOf('batch:SubmitJob');
    expect(submit).toHaveLength(2);
    expect(submit).toEqual(expect.arrayContaining([{ Ref: expect.stringMatching(/TrainingJobDefinition/) }, { 'Fn::GetAtt': [expect.stringMatching(/TrainingJobQueue/), 'JobQueueArn'] }]));
  });

  it('lets the state machine describe and terminate the Batch jobs it starts (.sync)', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { Roles: unknown; PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }[];
    const sm = policies.filter((p) => JSON.stringify(p.Properties.Roles).includes('PipelineStateMachineRole'));
    const actions = sm.flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((st) => [st.Action].flat()));
    expect(actions).toEqual(expect.arrayContaining(['batch:DescribeJobs', 'batch:TerminateJob', 'batch:SubmitJob']));
  });

  it('records FAILED when an execution fails, times out or is aborted (EventBridge rule -> Lambda)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [{ Ref: Match.stringLikeRegexp('PipelineStateMachine') }] },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('PipelineExecutionFailed'), 'Arn'] }, DeadLetterConfig: Match.anyValue() })],
    });
    template.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('execution that failed, timed out or was aborted') });
  });

  it('hands the validate step its execution name, so a run can be found from its execution', () => {
    const validate = states.find(([n]) => n === 'Validate and split')![1];
    expect(JSON.stringify(validate.Parameters)).toContain('$$.Execution.Name');
  });
});

describe('TrainingPipeline timing props', () => {
  it('refuses a Batch budget that does not fit in the execution timeout', () => {
    const s = new Stack(testApp({ nag: false }), 'S');
    const bucket = new s3.Bucket(s, 'B');
    const fn = lambda.Function.fromFunctionArn(s, 'F', 'arn:aws:lambda:us-east-1:123456789012:function:f');
    const jobQueue = batch.JobQueue.fromJobQueueArn(s, 'Q', 'arn:aws:batch:us-east-1:123456789012:job-queue/q');
    const jobDefinition = batch.EcsJobDefinition.fromJobDefinitionArn(s, 'D', 'arn:aws:batch:us-east-1:123456789012:job-definition/d:1');
    expect(
      () =>
        new TrainingPipeline(s, 'P', { bucket, embedFunction: fn, jobQueue, jobDefinition, modelSource: 'bert-base-uncased', trainingTimeout: Duration.hours(24), timeout: Duration.hours(24) }),
    ).toThrow(/trainingTimeout \(24 h\)[\s\S]*timeout \(24 h\)/);
  });
});
