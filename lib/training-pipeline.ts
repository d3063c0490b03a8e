import { Duration, RemovalPolicy, Stack, Token, type CfnElement } from 'aws-cdk-lib';
import type * as batch from 'aws-cdk-lib/aws-batch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { acknowledge, acknowledgePrefixGrants } from './private/nag.ts';
import { Construct, type IConstruct } from 'constructs';
import { ENV_NAMES } from '../functions/commons/env-names.ts';
import { LIVE_MODEL_KEY, PREFIX } from '../src/pipeline/layout.ts';
import { simpairFunction } from './private/simpair-function.ts';
import { intInRange, throwIfInvalid } from './private/validate-props.ts';

/** Props of {@link TrainingPipeline}. */
export interface TrainingPipelineProps {
  /** The pipeline bucket (EventBridge notifications on). */
  readonly bucket: s3.IBucket;
  /** The per-shard embedding function the Distributed Map runs (its timeout bounds the map's task). */
  readonly embedFunction: lambda.IFunction;
  /** Timeout of `embedFunction`. @default Duration.minutes(15) */
  readonly embedFunctionTimeout?: Duration;
  /** Batch queue and job definition of the training task. */
  readonly jobQueue: batch.IJobQueue;
  readonly jobDefinition: batch.IJobDefinition;
  /** Default embedding model source of runs started by an upload. */
  readonly modelSource: string;
  /**
   * Shards embedded at the same time (Lambda concurrency the map may use). A new account's
   * concurrency is 10 in all; throttled children retry with backoff. @default DEFAULT_EMBED_MAX_CONCURRENCY (10)
   */
  readonly maxConcurrency?: number;
  /** @default lambda.Architecture.X86_64 */
  readonly architecture?: lambda.Architecture;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Whole-run limit. @default Duration.hours(24) */
  readonly timeout?: Duration;
  /**
   * Limit of the Batch training task: every attempt's queue wait and run (GpuTraining.maxDuration)
   * plus slack. When it passes, Step Functions stops the task and terminates the job. Must
   * leave at least an hour of `timeout` for the other steps.
   * @default Duration.hours(18)
   */
  readonly trainingTimeout?: Duration;
}

/** Errors of the Lambda service itself (throttling, a failed invoke call), worth retrying with backoff. */
export const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.TooManyRequestsException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
];

/** Embedding map concurrency by default: a new account's whole Lambda concurrency is 10. */
export const DEFAULT_EMBED_MAX_CONCURRENCY = 10;

/** Errors of the Batch API itself (server errors, throttling), as the Step Functions integration names them. */
export const BATCH_TRANSIENT_ERRORS = ['Batch.AWSBatchException', 'Batch.ServerException', 'Batch.TooManyRequestsException', 'Batch.SdkClientException'];

const hours = (d: Duration) => `${Math.round(d.toSeconds() / 36) / 100} h`;

/** Slack between a function's own timeout and its task's, so the function times out first and says so. */
const TASK_TIMEOUT_SLACK = Duration.seconds(60);

/** The states-side timeout of a Lambda task: the function's timeout plus slack. */
function lambdaTaskTimeout(functionTimeout: Duration | undefined): sfn.Timeout {
  return sfn.Timeout.duration(Duration.seconds((functionTimeout ?? Duration.seconds(3)).toSeconds() + TASK_TIMEOUT_SLACK.toSeconds()));
}

/**
 * Retries a Lambda task on throttling and Lambda service errors: exponential backoff with full
 * jitter, so a Distributed Map of hundreds of shards that hits the account's concurrency does
 * not retry in lockstep (or fail the whole map).
 */
function retryLambdaErrors(task: tasks.LambdaInvoke): tasks.LambdaInvoke {
  task.addRetry({
    errors: LAMBDA_TRANSIENT_ERRORS,
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 8,
    maxDelay: Duration.seconds(60),
    jitterStrategy: sfn.JitterType.FULL,
  });
  return task;
}

/** Props of {@link BoundedBatchSubmitJob}. */
interface BoundedBatchSubmitJobProps extends tasks.BatchSubmitJobProps {
  /** The state's own TimeoutSeconds: when it passes (or the execution stops), Step Functions terminates the job. */
  readonly stateTimeout: Duration;
}

/**
 * The map's item reader, granted only the shard lists it reads. CDK's S3JsonItemReader grants
 * s3:GetObject on every object of the bucket (the key is only known at run time); the key
 * is always a run's shard list (keys.shardList), so the grant names that pattern.
 */
class ShardListItemReader extends sfn.S3JsonItemReader {
  constructor(
    props: sfn.S3FileItemReaderProps,
    private readonly readable: string,
  ) {
    super(props);
  }

  override providePolicyStatements(): iam.PolicyStatement[] {
    return [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [this.readable] })];
  }
}

/**
 * BatchSubmitJob with a state timeout. CDK renders the task's `taskTimeout` as the job's
 * `Timeout.AttemptDurationSeconds` (overriding the job definition's per-attempt limit) and
 * never as the state's TimeoutSeconds, so a job stuck before RUNNING (or the queue) could hold
 * the execution until its own 24 h limit.
 */
class BoundedBatchSubmitJob extends tasks.BatchSubmitJob {
  private readonly stateTimeout: Duration;

  constructor(scope: Construct, id: string, props: BoundedBatchSubmitJobProps) {
    const { stateTimeout, ...rest } = props;
    super(scope, id, rest);
    this.stateTimeout = stateTimeout;
    // CDK grants batch:SubmitJob on every job definition of the account (job-definition/*):
    // this state submits this stack's definition to this stack's queue, nothing else.
    const policies = (this as unknown as { taskPolicies: iam.PolicyStatement[] }).taskPolicies;
    const submit = policies.findIndex((p) => p.actions.includes('batch:SubmitJob'));
    policies[submit] = new iam.PolicyStatement({ actions: ['batch:SubmitJob'], resources: [props.jobDefinitionArn, props.jobQueueArn] });
  }

  override toStateJson(topLevelQueryLanguage?: sfn.QueryLanguage): object {
    return { ...super.toStateJson(topLevelQueryLanguage), TimeoutSeconds: this.stateTimeout.toSeconds() };
  }
}

/** Step names recorded in a failed run (the same as the local flow's runSteps). */
export const STEP_NAMES = { validate: 'validate', embed: 'embed', finalize: 'finalize', train: 'train', publish: 'publish' } as const;

/**
 * Upload to train: an EventBridge rule on Object Created under `datasets/` (or a
 * `runs/{id}/start.json` marker from `POST /train`) starts a Step Functions state machine:
 * validate + split (Lambda) -> Distributed Map over the shard list in S3 running the embed
 * function -> finalize (Lambda) -> AWS Batch training (.sync) -> publish (Lambda). Every step
 * has a Catch to the fail function, which writes the run record, then a Fail state; nothing
 * is published unless every step succeeded.
 */
export class TrainingPipeline extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly rule: events.Rule;
  /** Records FAILED for the run of an execution that failed, timed out or was aborted. */
  readonly executionFailedRule: events.Rule;
  /** Events the trigger rules could not deliver (a start that never happened). */
  readonly deadLetterQueue: sqs.Queue;
  readonly functions: {
    readonly validate: NodejsFunction;
    readonly finalize: NodejsFunction;
    readonly publish: NodejsFunction;
    readonly fail: NodejsFunction;
    readonly executionFailed: NodejsFunction;
  };

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    const {
      maxConcurrency = DEFAULT_EMBED_MAX_CONCURRENCY,
      architecture = lambda.Architecture.X86_64,
      logRetention = logs.RetentionDays.ONE_MONTH,
      timeout = Duration.hours(24),
      trainingTimeout = Duration.hours(18),
      embedFunctionTimeout = Duration.minutes(15),
    } = props;
    throwIfInvalid('TrainingPipeline', [
      !intInRange(maxConcurrency, 1, 10000) && `maxConcurrency is ${maxConcurrency}; use 1 to 10000 (and mind the account's Lambda concurrency, 1000 by default).`,
      timeout.toSeconds() < 600 && `timeout is ${timeout.toSeconds()} s; a run (embedding + GPU training) needs at least 10 minutes.`,
      trainingTimeout.toSeconds() + 3600 > timeout.toSeconds() &&
        `trainingTimeout (${hours(trainingTimeout)}) leaves less than an hour of timeout (${hours(timeout)}) for validation, embedding and publishing; ` +
          'lower the job timeout, its attempts or queue wait (GpuTraining), or raise timeout.',
    ]);
    const { bucket } = props;
    const base = { architecture, logRetention, environment: { [ENV_NAMES.bucket]: bucket.bucketName } };

    const validate = simpairFunction(this, 'ValidateSplit', {
      ...base,
      handler: 'validate-split',
      description: 'simpair: start a run, validate the dataset, split it into shards',
      memorySize: 3008,
      timeout: Duration.minutes(15),
      environment: { ...base.environment, [ENV_NAMES.modelSource]: props.modelSource },
    });
    bucket.grantRead(validate, `${PREFIX.datasets}*`);
    bucket.grantRead(validate, `${PREFIX.runs}*`);
    bucket.grantPut(validate, `${PREFIX.runs}*`);
    bucket.grantPut(validate, `${PREFIX.shards}*`);
    // Whether a run's embeddings are already stored: the manifest only, nothing else of embeddings/.
    bucket.grantRead(validate, `${PREFIX.embeddings}*/manifest.json`);

    const finalize = simpairFunction(this, 'FinalizeEmbeddings', {
      ...base,
      handler: 'finalize-embeddings',
      description: 'simpair: check every embedding shard and write the manifest',
      memorySize: 1024,
      timeout: Duration.minutes(5),
    });
    bucket.grantRead(finalize, `${PREFIX.runs}*`);
    bucket.grantPut(finalize, `${PREFIX.runs}*`);
    bucket.grantRead(finalize, `${PREFIX.embeddings}*`);
    bucket.grantPut(finalize, `${PREFIX.embeddings}*`);

    const publish = simpairFunction(this, 'PublishModel', {
      ...base,
      handler: 'publish-model',
      description: 'simpair: point models/live.json at the trained model',
      memorySize: 512,
      timeout: Duration.minutes(1),
    });
    bucket.grantRead(publish, `${PREFIX.runs}*`);
    bucket.grantPut(publish, `${PREFIX.runs}*`);
    bucket.grantRead(publish, `${PREFIX.models}*`);
    bucket.grantPut(publish, LIVE_MODEL_KEY);

    const fail = simpairFunction(this, 'FailRun', {
      ...base,
      handler: 'fail-run',
      description: 'simpair: record a failed run (step and reason)',
      memorySize: 512,
      timeout: Duration.minutes(1),
    });
    bucket.grantRead(fail, `${PREFIX.runs}*`);
    bucket.grantPut(fail, `${PREFIX.runs}*`);

    const executionFailed = simpairFunction(this, 'ExecutionFailed', {
      ...base,
      handler: 'execution-failed',
      description: 'simpair: record FAILED for the run of an execution that failed, timed out or was aborted',
      memorySize: 512,
      timeout: Duration.minutes(1),
    });
    bucket.grantRead(executionFailed, `${PREFIX.runs}*`);
    bucket.grantPut(executionFailed, `${PREFIX.runs}*`);
    this.functions = { validate, finalize, publish, fail, executionFailed };
    acknowledgePrefixGrants(validate, bucket, [PREFIX.datasets, PREFIX.runs, PREFIX.shards]);
    acknowledge(validate, [
      {
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(bucket).getLogicalId(bucket.node.defaultChild as CfnElement)}.Arn>/${PREFIX.embeddings}*/manifest.json]`,
        reason: 'The manifests of stored embeddings only (one per embedding id), to skip embedding what is already stored.',
      },
    ]);
    acknowledgePrefixGrants(finalize, bucket, [PREFIX.runs, PREFIX.embeddings]);
    acknowledgePrefixGrants(publish, bucket, [PREFIX.runs, PREFIX.models]);
    acknowledgePrefixGrants(fail, bucket, [PREFIX.runs]);
    acknowledgePrefixGrants(executionFailed, bucket, [PREFIX.runs]);

    // Failure path: a Pass per step names the step, one Lambda records it, then Fail.
    const recordFailure = retryLambdaErrors(
      new tasks.LambdaInvoke(this, 'Record failure', { lambdaFunction: fail, payloadResponseOnly: true, retryOnServiceExceptions: false, taskTimeout: lambdaTaskTimeout(fail.timeout) }),
    );
    const runFailed = new sfn.Fail(this, 'Run failed', { error: 'RunFailed', cause: 'A step failed; the run record (runs/{id}/status.json) says which and why.' });
    recordFailure.next(runFailed);
    const failureOf = (step: string, fields: Record<string, string>) =>
      new sfn.Pass(this, `Failed: ${step}`, { parameters: { step, ...fields, 'error.$': '$.error' } }).next(recordFailure);
    const catchProps: sfn.CatchProps = { resultPath: '$.error' };

    const validateStep = retryLambdaErrors(
      new tasks.LambdaInvoke(this, 'Validate and split', {
        lambdaFunction: validate,
        // The S3 event, plus the execution's name: the function records which run it started, so
        // the execution-failed rule can find the run of an execution that died later.
        payload: sfn.TaskInput.fromObject({
          'source.$': '$.source',
          'detail-type.$': "$['detail-type']",
          'detail.$': '$.detail',
          'executionName.$': '$$.Execution.Name',
        }),
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        taskTimeout: lambdaTaskTimeout(validate.timeout),
      }),
    );
    validateStep.addCatch(failureOf(STEP_NAMES.validate, { 'objectKey.$': '$.detail.object.key' }), catchProps);

    const embedStep = retryLambdaErrors(
      new tasks.LambdaInvoke(this, 'Embed shard', {
        lambdaFunction: props.embedFunction,
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        taskTimeout: lambdaTaskTimeout(embedFunctionTimeout),
        // Children return nothing into the map: their result is the embedding shard in S3, and
        // thousands of child outputs would exceed the 256 KB state limit (States.DataLimitExceeded).
        outputPath: sfn.JsonPath.DISCARD,
      }),
    );
    // A Lambda cold start that times out downloading the model is worth one more try.
    embedStep.addRetry({ errors: ['Lambda.Unknown', 'States.Timeout'], maxAttempts: 1, interval: Duration.seconds(10) });
    const embedMap = new sfn.DistributedMap(this, 'Embed shards', {
      itemReader: new ShardListItemReader({ bucket, key: sfn.JsonPath.stringAt('$.shardsKey') }, bucket.arnForObjects(`${PREFIX.shards}*/shards.json`)),
      itemSelector: { 'runId.$': '$.runId', 'shard.$': '$$.Map.Item.Value' },
      maxConcurrency,
      // Results are small but there may be thousands; the state keeps only runId.
      resultPath: sfn.JsonPath.DISCARD,
      mapExecutionType: sfn.StateMachineType.STANDARD,
    });
    embedMap.itemProcessor(embedStep);
    embedMap.addCatch(failureOf(STEP_NAMES.embed, { 'runId.$': '$.runId' }), catchProps);

    const finalizeStep = retryLambdaErrors(
      new tasks.LambdaInvoke(this, 'Finalize embeddings', {
        lambdaFunction: finalize,
        payload: sfn.TaskInput.fromObject({ 'runId.$': '$.runId' }),
        payloadResponseOnly: true,
        resultPath: '$.embeddings',
        retryOnServiceExceptions: false,
        taskTimeout: lambdaTaskTimeout(finalize.timeout),
      }),
    );
    finalizeStep.addCatch(failureOf(STEP_NAMES.finalize, { 'runId.$': '$.runId' }), catchProps);

    const trainStep = new BoundedBatchSubmitJob(this, 'Train on AWS Batch', {
      stateTimeout: trainingTimeout,
      jobName: 'simpair-training',
      jobQueueArn: props.jobQueue.jobQueueArn,
      jobDefinitionArn: props.jobDefinition.jobDefinitionArn,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      containerOverrides: { environment: { [ENV_NAMES.runId]: sfn.JsonPath.stringAt('$.runId') } },
      resultSelector: { 'jobId.$': '$.JobId', 'status.$': '$.Status' },
      resultPath: '$.training',
    });
    // Batch API errors and throttling of SubmitJob/DescribeJobs are worth retrying; a failed
    // job (States.TaskFailed) is not: Batch already retried what the job definition allows.
    trainStep.addRetry({ errors: BATCH_TRANSIENT_ERRORS, interval: Duration.seconds(5), backoffRate: 2, maxAttempts: 6, maxDelay: Duration.seconds(120), jitterStrategy: sfn.JitterType.FULL });
    trainStep.addCatch(failureOf(STEP_NAMES.train, { 'runId.$': '$.runId' }), catchProps);

    const publishStep = retryLambdaErrors(
      new tasks.LambdaInvoke(this, 'Publish model', {
        lambdaFunction: publish,
        payload: sfn.TaskInput.fromObject({ 'runId.$': '$.runId' }),
        payloadResponseOnly: true,
        resultPath: '$.published',
        retryOnServiceExceptions: false,
        taskTimeout: lambdaTaskTimeout(publish.timeout),
      }),
    );
    publishStep.addCatch(failureOf(STEP_NAMES.publish, { 'runId.$': '$.runId' }), catchProps);

    trainStep.next(publishStep).next(new sfn.Succeed(this, 'Model published'));
    const definition = validateStep.next(
      new sfn.Choice(this, 'Duplicate upload?')
        .when(sfn.Condition.booleanEquals('$.duplicate', true), new sfn.Succeed(this, 'Already trained on this content'))
        .otherwise(
          // A run with other training options (epochs, seed...) of the same content, encoder and
          // maxLen stored the embeddings already: validate says so and the map is skipped.
          new sfn.Choice(this, 'Embeddings stored?')
            .when(sfn.Condition.booleanEquals('$.embeddingsReady', true), trainStep)
            .otherwise(embedMap.next(finalizeStep).next(trainStep)),
        ),
    );

    const logGroup = new logs.LogGroup(this, 'StateMachineLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout,
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      comment: 'simpair training run: validate, embed (Distributed Map), train (Batch GPU), publish',
    });
    // AWS's IAM page for Batch .sync: the state machine must describe the job to wait for it and
    // terminate it when the task times out or the execution is stopped (CDK grants SubmitJob only).
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['batch:DescribeJobs'], resources: ['*'] }));
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['batch:TerminateJob'], resources: [Stack.of(this).formatArn({ service: 'batch', resource: 'job', resourceName: '*' })] }),
    );
    // The Distributed Map's ItemReader reads the shard list with the state machine's role.
    bucket.grantRead(this.stateMachine, `${PREFIX.shards}*`);
    acknowledgePrefixGrants(this.stateMachine, bucket, [PREFIX.shards]);
    const stack = Stack.of(this);
    const logicalId = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnElement);
    const smRef = logicalId(this.stateMachine);
    // cdk-nag names findings with the literal region/account when the stack has a concrete env.
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
    acknowledge(this.stateMachine, [
      ...[validate, finalize, publish, fail, props.embedFunction].map((fn) => ({
        id: `AwsSolutions-IAM5[Resource::<${logicalId(fn)}.Arn>:*]`,
        reason: 'lambda:InvokeFunction on the versions and aliases (":*") of this pipeline\'s own functions, as CDK\'s LambdaInvoke grants it.',
      })),
      {
        id: `AwsSolutions-IAM5[Resource::<${logicalId(bucket)}.Arn>/${PREFIX.shards}*/shards.json]`,
        reason: 'The map\'s item reader reads the shard lists only (shards/{runId}/shards.json; the run id is only known at run time); read-only, one bucket.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray (xray:PutTraceSegments...), CloudWatch Logs delivery (logs:CreateLogDelivery...), batch:DescribeJobs and the .sync Batch rule (events:PutRule on the managed rule) only accept Resource "*".',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:${region}:${account}:job/*]`,
        reason: 'batch:TerminateJob on the jobs of this account and region: job ids are only known at run time; Step Functions terminates the job it started when the task times out or the execution stops.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${region}:${account}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${smRef}"}]}]}:*]`,
        reason: 'The Distributed Map manages its own child executions: states:DescribeExecution/StopExecution on executions of this state machine only.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${region}:${account}:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${smRef}"}]}]}/*:*]`,
        reason: 'The Distributed Map manages its own child executions: map-run executions of this state machine only.',
      },
    ]);

    const deadLetters = (this.deadLetterQueue = new sqs.Queue(this, 'TriggerDeadLetters', {
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    }));
    acknowledge(deadLetters, [
      { id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the EventBridge target; a DLQ of a DLQ adds nothing.' },
    ]);
    this.rule = new events.Rule(this, 'DatasetUploaded', {
      description: 'simpair: a dataset under datasets/ (or a POST /train start marker) starts a training run',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [bucket.bucketName] },
          object: { key: events.Match.anyOf(events.Match.prefix(PREFIX.datasets), events.Match.wildcard(`${PREFIX.runs}*/start.json`)) },
        },
      },
      targets: [new targets.SfnStateMachine(this.stateMachine, { deadLetterQueue: deadLetters, retryAttempts: 4, maxEventAge: Duration.hours(2) })],
    });

    // An execution that ends FAILED, TIMED_OUT or ABORTED outside the Catch path (execution
    // timeout, a stop, a failing "Record failure", a validate function killed by its timeout)
    // would leave the run record non-terminal for good; this rule records FAILED with the reason.
    this.executionFailedRule = new events.Rule(this, 'ExecutionEnded', {
      description: 'simpair: record FAILED for the run of an execution that failed, timed out or was aborted',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [this.stateMachine.stateMachineArn] },
      },
      targets: [new targets.LambdaFunction(executionFailed, { deadLetterQueue: deadLetters, retryAttempts: 4, maxEventAge: Duration.hours(6) })],
    });
  }
}
