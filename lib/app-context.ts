import { App, type AppProps, type Environment } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { ApiAuth, ApiLogging } from './prediction-api.ts';
import type { TrainingCompute } from './gpu-training.ts';
import { throwIfInvalid } from './private/validate-props.ts';
import { SimpairStack } from './simpair-stack.ts';

/** The `-c key=value` options the app reads (the README's table lists the same keys; a test checks it). */
export const CONTEXT_KEYS = ['stackName', 'trainingCompute', 'apiAuth', 'modelSource', 'lambdaArchitecture', 'spotTraining', 'retainData', 'apiLogging', 'trainingBaseImage', 'predictProvisionedConcurrency', 'embeddingMemoryMB', 'embedMaxConcurrency', 'predictReservedConcurrency', 'alarmEmail'] as const;

/** Options of {@link buildApp}. */
export interface BuildAppOptions extends AppProps {
  /** @default CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION */
  readonly env?: Environment;
}

const ACCEPTED: Record<string, readonly string[]> = {
  trainingCompute: ['gpu', 'cpu'],
  apiAuth: ['iam', 'apiKey'],
  lambdaArchitecture: ['x86_64', 'arm64'],
  spotTraining: ['true', 'false'],
  retainData: ['true', 'false'],
  apiLogging: ['none', 'existingRole', 'createRole'],
};

/**
 * The CDK app of `npx cdk synth` / `npx cdk deploy`: one SimpairStack configured from context,
 * e.g. `-c trainingCompute=cpu -c apiAuth=apiKey -c retainData=false`. Every context value is
 * checked; all problems are reported at once.
 */
export function buildApp(options: BuildAppOptions = {}): App {
  const { env, ...appProps } = options;
  const app = new App(appProps);
  const ctx = (key: (typeof CONTEXT_KEYS)[number]): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    return value === undefined ? undefined : String(value);
  };
  throwIfInvalid(
    'context',
    Object.entries(ACCEPTED).map(([key, values]) => {
      const value = ctx(key as (typeof CONTEXT_KEYS)[number]);
      return value !== undefined && !values.includes(value) && `${key} is "${value}"; use ${values.join(' or ')} (-c ${key}=${values[0]}).`;
    }),
  );
  function intContext(key: (typeof CONTEXT_KEYS)[number]): number | undefined {
    const raw = ctx(key);
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw)) throw new Error(`Invalid context:\n  - ${key} is "${raw}"; use a whole number (-c ${key}=1).`);
    return Number(raw);
  }
  new SimpairStack(app, ctx('stackName') ?? 'Simpair', {
    description: 'simpair: BERT + Bi-LSTM paraphrase detection; S3-triggered training on AWS Batch, prediction API',
    env: env ?? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    trainingCompute: ctx('trainingCompute') as TrainingCompute | undefined,
    apiAuth: ctx('apiAuth') as ApiAuth | undefined,
    modelSource: ctx('modelSource'),
    lambdaArchitecture: ctx('lambdaArchitecture') === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
    retainData: ctx('retainData') !== 'false',
    spotTraining: ctx('spotTraining') === 'true',
    apiLogging: ctx('apiLogging') as ApiLogging | undefined,
    trainingBaseImage: ctx('trainingBaseImage'),
    predictProvisionedConcurrency: intContext('predictProvisionedConcurrency'),
    embeddingMemoryMB: intContext('embeddingMemoryMB'),
    maxConcurrency: intContext('embedMaxConcurrency'),
    predictReservedConcurrency: intContext('predictReservedConcurrency'),
    alarmEmail: ctx('alarmEmail'),
  });
  return app;
}
