/**
 * The synthesized template, read the way the emulation needs it: every CloudFormation value
 * resolved to the local stand-in of what the deploy would create (bucket names, function,
 * role, queue and state machine ARNs in account 123456789012, us-east-1), each principal's
 * identity policies, the bucket policies, the state machine's definition, the EventBridge rules
 * and the Batch job definition. An intrinsic function it does not know throws, naming where it is.
 */
export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
}

/** A policy document (only the fields IAM evaluates). */
export interface PolicyDocument {
  Version?: string;
  Statement: Record<string, unknown>[];
}

/** An IAM role of the template, with its identity policies resolved. */
export interface Principal {
  readonly logicalId: string;
  readonly arn: string;
  /** Who may assume it (lambda.amazonaws.com, states.amazonaws.com, ...). */
  readonly service: string;
  readonly policies: { name: string; policy: PolicyDocument }[];
  /** AWS-managed policies attached by ARN: listed, not evaluated (their text is not in the template). */
  readonly managedPolicyArns: string[];
}

const lower = (id: string) => id.toLowerCase().replace(/[^a-z0-9-]/g, '');

/** Resolves the template's intrinsics to local stand-ins. */
export class TemplateResolver {
  constructor(readonly template: CfnTemplate) {}

  resource(logicalId: string, where: string): CfnResource {
    const r = this.template.Resources[logicalId];
    if (!r) throw new Error(`${where}: no resource ${logicalId} in the template`);
    return r;
  }

  /** `Ref` of a resource: what CloudFormation returns for that type. */
  ref(logicalId: string, where: string): string {
    switch (logicalId) {
      case 'AWS::Region':
        return REGION;
      case 'AWS::AccountId':
        return ACCOUNT;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return 'Emulated';
      case 'AWS::NoValue':
        return '';
    }
    const r = this.resource(logicalId, where);
    switch (r.Type) {
      case 'AWS::S3::Bucket':
        return lower(logicalId);
      case 'AWS::Lambda::Function':
      case 'AWS::IAM::Role':
      case 'AWS::Logs::LogGroup':
      case 'AWS::IAM::Policy':
        return logicalId;
      case 'AWS::Batch::JobQueue':
      case 'AWS::Batch::JobDefinition':
      case 'AWS::StepFunctions::StateMachine':
        return this.getAtt(logicalId, 'Arn', where);
      case 'AWS::SQS::Queue':
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${logicalId}`;
      default:
        return logicalId;
    }
  }

  /** `Fn::GetAtt` of a resource. */
  getAtt(logicalId: string, attribute: string, where: string): string {
    const r = this.resource(logicalId, where);
    const arnAttr = attribute === 'Arn' || attribute.endsWith('Arn');
    // Attributes that are not ARNs (a VPC's DefaultSecurityGroup...) only appear in policies of roles the pipeline never uses: a placeholder no request matches.
    if (!arnAttr && !(r.Type === 'AWS::StepFunctions::StateMachine' && attribute === 'Name')) return `emulated:${logicalId}.${attribute}`;
    switch (r.Type) {
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${lower(logicalId)}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalId}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${ACCOUNT}:role/${logicalId}`;
      case 'AWS::Batch::JobQueue':
        return `arn:aws:batch:${REGION}:${ACCOUNT}:job-queue/${logicalId}`;
      case 'AWS::Batch::JobDefinition':
        return `arn:aws:batch:${REGION}:${ACCOUNT}:job-definition/${logicalId}:1`;
      case 'AWS::StepFunctions::StateMachine':
        return attribute === 'Name' ? logicalId : `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${logicalId}`;
      case 'AWS::SQS::Queue':
        return `arn:aws:sqs:${REGION}:${ACCOUNT}:${logicalId}`;
      case 'AWS::Logs::LogGroup':
        return `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${logicalId}:*`;
      default:
        return `arn:aws:${r.Type.split('::')[1].toLowerCase()}:${REGION}:${ACCOUNT}:${logicalId}`;
    }
  }

  /** Resolves a value to a string (or a list, for Fn::Split). */
  value(v: unknown, where: string): unknown {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
    if (Array.isArray(v)) return v.map((x, i) => this.value(x, `${where}[${i}]`));
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === 'Ref') return this.ref(String(o.Ref), where);
    if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
      const [id, attr] = o['Fn::GetAtt'] as [string, string];
      return this.getAtt(id, attr, where);
    }
    if (keys.length === 1 && keys[0] === 'Fn::Join') {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return (this.value(parts, where) as unknown[]).map(String).join(sep);
    }
    if (keys.length === 1 && keys[0] === 'Fn::Split') {
      const [sep, s] = o['Fn::Split'] as [string, unknown];
      return String(this.value(s, where)).split(sep);
    }
    if (keys.length === 1 && keys[0] === 'Fn::Select') {
      const [i, list] = o['Fn::Select'] as [number, unknown];
      return (this.value(list, where) as unknown[])[Number(i)];
    }
    if (keys.length === 1 && keys[0] === 'Fn::Sub') {
      const text = String(o['Fn::Sub']);
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => (name.includes('.') ? this.getAtt(name.split('.')[0], name.split('.')[1], where) : this.ref(name, where)));
    }
    if (keys.some((k) => k.startsWith('Fn::'))) throw new Error(`${where}: ${keys[0]} is not emulated`);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, this.value(x, `${where}.${k}`)]));
  }

  string(v: unknown, where: string): string {
    const out = this.value(v, where);
    if (typeof out !== 'string') throw new Error(`${where}: expected a string, got ${JSON.stringify(out)}`);
    return out;
  }

  ofType(type: string): [string, CfnResource][] {
    return Object.entries(this.template.Resources).filter(([, r]) => r.Type === type);
  }

  /** Every IAM role with its identity policies (inline `Policies` and `AWS::IAM::Policy` resources naming it). */
  principals(): Map<string, Principal> {
    const out = new Map<string, Principal>();
    for (const [id, role] of this.ofType('AWS::IAM::Role')) {
      const p = role.Properties ?? {};
      const trust = (p.AssumeRolePolicyDocument as PolicyDocument | undefined)?.Statement?.[0]?.Principal as { Service?: string | string[] } | undefined;
      const inline = ((p.Policies as { PolicyName: string; PolicyDocument: unknown }[] | undefined) ?? []).map((x) => ({
        name: x.PolicyName,
        policy: this.value(x.PolicyDocument, `${id}.Policies.${x.PolicyName}`) as PolicyDocument,
      }));
      const managed = ((p.ManagedPolicyArns as unknown[] | undefined) ?? []).map((m, i) => this.string(m, `${id}.ManagedPolicyArns[${i}]`));
      out.set(id, { logicalId: id, arn: this.getAtt(id, 'Arn', id), service: [trust?.Service ?? ''].flat().join(','), policies: inline, managedPolicyArns: managed });
    }
    for (const [id, pol] of this.ofType('AWS::IAM::Policy')) {
      const p = pol.Properties ?? {};
      for (const roleRef of (p.Roles as { Ref: string }[] | undefined) ?? []) {
        out.get(roleRef.Ref)?.policies.push({ name: String(p.PolicyName ?? id), policy: this.value(p.PolicyDocument, `${id}.PolicyDocument`) as PolicyDocument });
      }
    }
    return out;
  }

  /** Bucket name -> its bucket policy (resolved). */
  bucketPolicies(): Map<string, PolicyDocument> {
    const out = new Map<string, PolicyDocument>();
    for (const [id, bp] of this.ofType('AWS::S3::BucketPolicy')) {
      out.set(this.string(bp.Properties!.Bucket, `${id}.Bucket`), this.value(bp.Properties!.PolicyDocument, `${id}.PolicyDocument`) as PolicyDocument);
    }
    return out;
  }

  /** The role logical id of an ARN this resolver made. */
  roleIdOfArn(arn: string): string {
    const m = /^arn:aws:iam::\d+:role\/(.+)$/.exec(arn);
    if (!m) throw new Error(`Not a role ARN of this template: ${arn}`);
    return m[1];
  }
}
