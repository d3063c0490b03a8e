import { Validations } from 'aws-cdk-lib';
import { buildApp } from './app-context.ts';
import { AwsSolutionsChecks } from './private/nag.ts';

/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy`. Options come from context (lib/app-context.ts),
 * e.g. `npx cdk deploy -c trainingCompute=cpu -c apiAuth=apiKey -c retainData=false`.
 */
const app = buildApp();

// cdk-nag 3 is a policy-validation plugin: an unacknowledged AwsSolutions finding stops synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
