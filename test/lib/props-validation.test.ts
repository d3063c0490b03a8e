import { describe, expect, it } from 'vitest';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { GpuTraining } from '../../lib/gpu-training.ts';
import { PredictionApi } from '../../lib/prediction-api.ts';
import { StorageBucket } from '../../lib/storage-bucket.ts';
import { EmbeddingFunction } from '../../lib/embedding-function.ts';
import { testApp } from './synth-stack.ts';

/** A stand-in for the onnxruntime layer (validation fails before it is used). */
function ortLayer(s: Stack): lambda.ILayerVersion {
  return lambda.LayerVersion.fromLayerVersionArn(s, 'OrtLayer', 'arn:aws:lambda:us-east-1:123456789012:layer:onnxruntime:1');
}

function stack(): Stack {
  return new Stack(testApp({ nag: false }), 'S');
}

describe('construct props are validated first, every conflict reported at once', () => {
  it('StorageBucket refuses to empty a retained bucket and bad day counts', () => {
    expect(() => new StorageBucket(stack(), 'B', { autoDeleteObjects: true, intermediateExpirationDays: 0, noncurrentVersionExpirationDays: 1.5 })).toThrow(
      /intermediateExpirationDays is 0[\s\S]*noncurrentVersionExpirationDays is 1.5[\s\S]*autoDeleteObjects is true but removalPolicy is retain/,
    );
    expect(() => new StorageBucket(stack(), 'B', { autoDeleteObjects: true, removalPolicy: RemovalPolicy.DESTROY })).not.toThrow();
  });

  it('GpuTraining refuses CPU instance types among the GPU ones', () => {
    const s = stack();
    const bucket = new s3.Bucket(s, 'Bucket');
    expect(() => new GpuTraining(s, 'T', { bucket, gpuInstanceTypes: ['g5.xlarge', 'c5.xlarge', 'm5.large'], maxvCpus: 2, jobVcpus: 4 })).toThrow(
      /gpuInstanceTypes has c5.xlarge, m5.large[\s\S]*maxvCpus \(2\) is below jobVcpus \(4\)/,
    );
  });

  it('PredictionApi reports auth, throttling and limit problems together', () => {
    const s = stack();
    const bucket = new s3.Bucket(s, 'Bucket');
    expect(
      () =>
        new PredictionApi(s, 'A', {
          bucket,
          onnxRuntimeLayer: ortLayer(s),
          modelSource: 'bert-base-uncased',
          apiAuth: 'open' as 'iam',
          throttlingRateLimit: 100,
          throttlingBurstLimit: 10,
          maxPairs: 0,
          dailyQuota: 5,
        }),
    ).toThrow(/apiAuth is "open"[\s\S]*throttlingBurstLimit \(10\) is below throttlingRateLimit \(100\)[\s\S]*maxPairs is 0[\s\S]*dailyQuota applies to API keys/);
  });

  it('EmbeddingFunction refuses a /tmp too small for BERT and a timeout over 15 minutes', () => {
    const s = stack();
    const bucket = new s3.Bucket(s, 'Bucket');
    expect(() => new EmbeddingFunction(s, 'E', { bucket, onnxRuntimeLayer: ortLayer(s), modelSource: 'bert-base-uncased', ephemeralStorageMiB: 512, memorySize: 20000 })).toThrow(
      /memorySize is 20000[\s\S]*ephemeralStorageMiB is 512; BERT-base/,
    );
  });
});
