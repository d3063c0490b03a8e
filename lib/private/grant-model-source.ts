import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from './nag.ts';

/**
 * Grants read on the S3 prefix a model source names (`s3://bucket/prefix/`), in the
 * pipeline bucket or another one. A hub id needs no grant: it is downloaded over HTTPS.
 */
export function grantModelSourceRead(scope: Construct, pipelineBucket: s3.IBucket, modelSource: string, grantee: iam.IGrantable): void {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(modelSource);
  if (!match) return;
  const [, bucketName, rawPrefix] = match;
  const prefix = rawPrefix && !rawPrefix.endsWith('/') ? `${rawPrefix}/` : rawPrefix;
  const bucket = bucketName === pipelineBucket.bucketName ? pipelineBucket : s3.Bucket.fromBucketName(scope, `ModelSourceBucket${scope.node.children.length}`, bucketName);
  bucket.grantRead(grantee, `${prefix}*`);
  if (bucket !== pipelineBucket) {
    // The verbs are acknowledged with the pipeline bucket's grants; the other bucket's object
    // ARN is a finding of its own (cdk-nag names it literally).
    acknowledge(scope, [
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${bucketName}/${prefix}*]`,
        reason: `Read-only grant on the model source the deployer named (s3://${bucketName}/${prefix}): the embedding model files under that prefix.`,
      },
    ]);
  }
}

/** Checks a model source prop; returns a problem message or undefined. */
export function checkModelSource(modelSource: string): string | undefined {
  if (modelSource.trim() === '') return 'modelSource is empty; use s3://bucket/prefix/ or a Hugging Face id such as bert-base-uncased.';
  if (modelSource.startsWith('s3://') && !/^s3:\/\/[^/]+\/.+/.test(modelSource)) {
    return `modelSource "${modelSource}" names a bucket without a prefix; use s3://bucket/encoders/bert-base-uncased/.`;
  }
  return undefined;
}

/** The prefix a model source names in the pipeline bucket (for acknowledging its grant), if any. */
export function modelSourcePrefixes(pipelineBucket: s3.IBucket, modelSource: string): string[] {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(modelSource);
  if (!match || match[1] !== pipelineBucket.bucketName) return [];
  const prefix = match[2];
  return [prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix];
}
