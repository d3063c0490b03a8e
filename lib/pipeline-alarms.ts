import { Duration } from 'aws-cdk-lib';
import type * as batch from 'aws-cdk-lib/aws-batch';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledge } from './private/nag.ts';
import { throwIfInvalid } from './private/validate-props.ts';

/** Props of {@link PipelineAlarms}. */
export interface PipelineAlarmsProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly jobQueue: batch.IJobQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** Where the alarms send e-mail (an SNS topic with this address subscribed; confirm the subscription). @default no notification, the alarms only */
  readonly alarmEmail?: string;
}

/**
 * CloudWatch alarms on what fails without anyone watching: executions of the state machine
 * that fail or time out, training jobs that fail on AWS Batch (an EventBridge rule on this
 * queue's FAILED jobs, alarmed on its TriggeredRules metric), and events in the trigger
 * rules' dead-letter queue (an upload that never started a run). With `alarmEmail`, each
 * alarm e-mails through an SNS topic.
 */
export class PipelineAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[];
  readonly topic?: sns.Topic;
  readonly failedJobsRule: events.Rule;

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    throwIfInvalid('PipelineAlarms', [
      props.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail) && `alarmEmail "${props.alarmEmail}" is not an e-mail address; use e.g. ops@example.com.`,
    ]);
    const period = Duration.minutes(5);
    this.failedJobsRule = new events.Rule(this, 'FailedTrainingJobs', {
      description: 'simpair: a training job on this queue FAILED (counted for the alarm)',
      eventPattern: { source: ['aws.batch'], detailType: ['Batch Job State Change'], detail: { status: ['FAILED'], jobQueue: [props.jobQueue.jobQueueArn] } },
    });
    const alarm = (name: string, metric: cloudwatch.IMetric, description: string) =>
      new cloudwatch.Alarm(this, name, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
    this.alarms = [
      alarm('ExecutionsFailed', props.stateMachine.metricFailed({ period, statistic: 'Sum' }), 'simpair: a training run execution failed; its run record (runs/{id}/status.json) says which step and why.'),
      alarm('ExecutionsTimedOut', props.stateMachine.metricTimedOut({ period, statistic: 'Sum' }), 'simpair: a training run execution timed out.'),
      alarm(
        'TrainingJobsFailed',
        new cloudwatch.Metric({ namespace: 'AWS/Events', metricName: 'TriggeredRules', dimensionsMap: { RuleName: this.failedJobsRule.ruleName }, period, statistic: 'Sum' }),
        'simpair: a training job failed on AWS Batch; see its CloudWatch log stream (named in the run record).',
      ),
      alarm(
        'TriggerDeadLetters',
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        'simpair: an upload or execution event could not be delivered (dead-letter queue); its run never started or its failure was not recorded.',
      ),
    ];
    if (props.alarmEmail) {
      this.topic = new sns.Topic(this, 'Topic', { displayName: 'simpair alarms', enforceSSL: true });
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
      for (const a of this.alarms) a.addAlarmAction(new actions.SnsAction(this.topic));
      acknowledge(this.topic, [
        {
          id: 'AwsSolutions-SNS2',
          reason: 'Alarm notifications carry no data; CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key, and a customer key would cost more than the alarms.',
        },
      ]);
    }
  }
}
