import { Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import cdkNag from 'cdk-nag';
import type { IConstruct } from 'constructs';

// cdk-nag is CommonJS with exports Node's ESM loader cannot detect by name; take them from
// the default export (module.exports) once, here.
export const { AwsSolutionsChecks } = cdkNag;

/** One cdk-nag finding acknowledged, with the reason it is acceptable. */
export interface NagAcknowledgment {
  /** Rule id (`AwsSolutions-S1`), or `AwsSolutions-IAM5[FindingId]` for one finding of a multi-finding rule. */
  readonly id: string;
  readonly reason: string;
}

/**
 * Acknowledges cdk-nag findings on a construct and everything below it. cdk-nag 3 reads CDK's
 * native `Validations.of(...).acknowledge()` (its v2 `NagSuppressions` API is gone) with ids
 * qualified by the pack name, and each finding of IAM4/IAM5 must be named exactly.
 */
export function acknowledge(scope: IConstruct, acknowledgments: readonly NagAcknowledgment[]): void {
  for (const { id, reason } of acknowledgments) {
    if (reason.trim().length < 20) throw new Error(`Acknowledgment of ${id} needs a written reason, got "${reason}".`);
    Validations.of(scope).acknowledge({ id: id.startsWith('AwsSolutions::') ? id : `AwsSolutions::${id}`, reason });
  }
}

/** The wildcard verbs CDK's bucket grants use (grantRead, grantPut, grantReadWrite). */
const S3_GRANT_ACTIONS = ['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:Abort*', 's3:DeleteObject*'];

/** What each grant verb really allows, for the acknowledgment reasons (they must say what is true). */
const GRANT_VERB_REASONS: Record<string, string> = {
  's3:List*':
    'CDK bucket grant verb s3:List* on the whole bucket (no s3:prefix condition): listing shows key names of every prefix, never contents. ' +
    'It stays unconditioned because HeadObject answers 404 for a missing key only to callers with s3:ListBucket (403 otherwise), and the store tells "absent" from "forbidden" by that.',
  's3:GetBucket*': 'CDK bucket grant verb s3:GetBucket* on the bucket itself: bucket configuration reads (location, versioning), no object data.',
};

/**
 * Acknowledges the IAM5 findings of CDK bucket grants scoped to prefixes of one bucket:
 * the grant verbs (`s3:GetObject*`...) and the `<bucket>/<prefix>*` resources. Anything wider
 * (another bucket, `*`) still fails the check.
 */
export function acknowledgePrefixGrants(scope: IConstruct, bucket: s3.IBucket, prefixes: readonly string[]): void {
  const logicalId = Stack.of(bucket).getLogicalId(bucket.node.defaultChild as CfnElement);
  acknowledge(scope, [
    ...S3_GRANT_ACTIONS.map((action) => ({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason: GRANT_VERB_REASONS[action] ?? `CDK bucket grant verb ${action}, on the object prefixes listed in this construct only.`,
    })),
    ...prefixes.map((prefix) => ({
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${prefix}*]`,
      reason: `Objects under ${prefix} of the pipeline bucket only: keys there are created per run, so the grant is a prefix.`,
    })),
  ]);
}
