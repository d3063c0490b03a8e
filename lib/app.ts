import { App, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from './private/nag.ts';
import { SimpairStack } from './simpair-stack.ts';

/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy`. Options come from context, e.g.
 * `npx cdk deploy -c trainingCompute=cpu -c apiAuth=apiKey -c retainData=false`.
 */
const app = new App();
const ctx = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined ? undefined : String(value);
};
const trainingCompute = ctx('trainingCompute') as 'gpu' | 'cpu' | undefined;
const apiAuth = ctx('apiAuth') as 'iam' | 'apiKey' | undefined;

new SimpairStack(app, ctx('stackName') ?? 'Simpair', {
  description: 'simpair: BERT + Bi-LSTM paraphrase detection; S3-triggered training on AWS Batch, prediction API',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  trainingCompute,
  apiAuth,
  modelSource: ctx('modelSource'),
  lambdaArchitecture: ctx('lambdaArchitecture') === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
  retainData: ctx('retainData') !== 'false',
  spotTraining: ctx('spotTraining') === 'true',
});

// cdk-nag 3 is a policy-validation plugin: an unacknowledged AwsSolutions finding stops synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
