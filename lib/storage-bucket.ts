import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { acknowledge } from './private/nag.ts';
import { Construct } from 'constructs';
import { PREFIX } from '../src/pipeline/layout.ts';
import { intInRange, throwIfInvalid } from './private/validate-props.ts';

/** Props of {@link StorageBucket}. */
export interface StorageBucketProps {
  /** Days after which intermediate objects under `shards/` and `embeddings/` expire. @default 14 */
  readonly intermediateExpirationDays?: number;
  /** Days after which replaced (noncurrent) versions of any object expire. @default 30 */
  readonly noncurrentVersionExpirationDays?: number;
  /** What happens to the data when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Empty the bucket on stack deletion; only with `removalPolicy: DESTROY`. @default false */
  readonly autoDeleteObjects?: boolean;
  /** Write S3 server access logs to a second bucket. @default true */
  readonly serverAccessLogs?: boolean;
}

/**
 * The pipeline's bucket: datasets/, shards/, embeddings/, models/ and runs/ (src/pipeline/layout.ts).
 * One bucket, because every run moves objects between these prefixes and least privilege is
 * expressed per prefix; a second bucket only receives its server access logs (a bucket
 * cannot log into itself without a loop).
 */
export class StorageBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogsBucket?: s3.Bucket;

  constructor(scope: Construct, id: string, props: StorageBucketProps = {}) {
    super(scope, id);
    const {
      intermediateExpirationDays = 14,
      noncurrentVersionExpirationDays = 30,
      removalPolicy = RemovalPolicy.RETAIN,
      autoDeleteObjects = false,
      serverAccessLogs = true,
    } = props;
    throwIfInvalid('StorageBucket', [
      !intInRange(intermediateExpirationDays, 1, 3650) && `intermediateExpirationDays is ${intermediateExpirationDays}; use a whole number of days from 1 to 3650.`,
      !intInRange(noncurrentVersionExpirationDays, 1, 3650) &&
        `noncurrentVersionExpirationDays is ${noncurrentVersionExpirationDays}; use a whole number of days from 1 to 3650.`,
      autoDeleteObjects &&
        removalPolicy !== RemovalPolicy.DESTROY &&
        `autoDeleteObjects is true but removalPolicy is ${removalPolicy}; emptying a retained bucket would delete the data it is kept for. Set removalPolicy: RemovalPolicy.DESTROY or drop autoDeleteObjects.`,
    ]);

    const common = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
      autoDeleteObjects,
    } as const;

    if (serverAccessLogs) {
      this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
        ...common,
        // The log delivery service writes with an ACL-less bucket policy when ownership is enforced.
        lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      });
      acknowledge(this.accessLogsBucket, [
        { id: 'AwsSolutions-S1', reason: 'This bucket is the server access log target; logging it into itself (or a third bucket) adds nothing.' },
      ]);
    }

    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...common,
      versioned: true,
      eventBridgeEnabled: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: this.accessLogsBucket ? 'pipeline-bucket/' : undefined,
      lifecycleRules: [
        // Intermediates: a replaced or expired version is of no use, so it goes after a day (where
        // rules overlap S3 applies the shorter expiration), not after the 30 days of other objects.
        { id: 'expire-row-shards', prefix: PREFIX.shards, expiration: Duration.days(intermediateExpirationDays), noncurrentVersionExpiration: Duration.days(1) },
        { id: 'expire-embeddings', prefix: PREFIX.embeddings, expiration: Duration.days(intermediateExpirationDays), noncurrentVersionExpiration: Duration.days(1) },
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(noncurrentVersionExpirationDays),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
          expiredObjectDeleteMarker: true,
        },
      ],
    });
    if (!serverAccessLogs) {
      acknowledge(this.bucket, [
        { id: 'AwsSolutions-S1', reason: 'Server access logs were turned off with the serverAccessLogs prop; CloudTrail data events can replace them.' },
      ]);
    }
  }
}
