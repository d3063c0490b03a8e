import { runSimulation } from '@cloud-copilot/iam-simulate';
import { ACCOUNT, type PolicyDocument, type Principal } from './template.ts';

/** One AWS call a principal made, as IAM decided it. */
export interface IamCall {
  /** Role logical id of the caller. */
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly allowed: boolean;
  /** IAM's verdict: Allowed, ImplicitlyDenied, ExplicitlyDenied. */
  readonly decision: string;
  /** What made the call (an S3 request line, a state's name). */
  readonly via: string;
  /** Condition keys of the request beyond the fixed ones (s3:prefix of a list). */
  readonly context?: Record<string, string | string[]>;
}

/**
 * IAM for the emulation: each role of the template gets its own access key id (what Lambda,
 * Batch and Step Functions hand their code as the role's session), and every request is
 * evaluated with @cloud-copilot/iam-simulate against the role's identity policies from the
 * template and the resource's policy (the bucket policy for S3), as IAM does. The requests
 * arrive over loopback HTTP; they stand for the SDK's HTTPS calls to S3, so
 * aws:SecureTransport is true and s3:TlsVersion 1.3 (the bucket policy denies anything else).
 * Not evaluated, and said where it matters: AWS-managed policies attached by ARN (their text is
 * not in the template; here, AWSLambdaBasicExecutionRole, logs only), SCPs, session policies.
 */
export class Iam {
  readonly calls: IamCall[] = [];
  private readonly byKey = new Map<string, Principal>();
  private readonly keyOf = new Map<string, string>();

  constructor(
    readonly principals: Map<string, Principal>,
    private readonly resourcePolicies: (resourceArn: string) => PolicyDocument | undefined,
  ) {
    let i = 0;
    for (const p of principals.values()) {
      const key = `AKIAEMU${String(++i).padStart(4, '0')}${p.logicalId.replace(/[^A-Za-z0-9]/g, '').slice(0, 9).toUpperCase()}`;
      this.byKey.set(key, p);
      this.keyOf.set(p.logicalId, key);
    }
  }

  /** The access key id of a role (by logical id), as its code would receive it. */
  accessKeyOf(roleId: string): string {
    const key = this.keyOf.get(roleId);
    if (!key) throw new Error(`No role ${roleId} in the template`);
    return key;
  }

  principalOfKey(key: string): Principal | undefined {
    return this.byKey.get(key);
  }

  principal(roleId: string): Principal {
    const p = this.principals.get(roleId);
    if (!p) throw new Error(`No role ${roleId} in the template`);
    return p;
  }

  /** Evaluates one request and records it. */
  async authorize(principal: Principal, action: string, resource: string, via: string, context: Record<string, string | string[]> = {}): Promise<IamCall> {
    const resourcePolicy = this.resourcePolicies(resource);
    const result = await runSimulation(
      {
        identityPolicies: principal.policies.map((p, i) => ({ name: `${p.name}-${i}`, policy: p.policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy,
        request: {
          action,
          principal: principal.arn,
          resource: { accountId: resource.startsWith('arn:aws:s3:::') ? ACCOUNT : (resource.split(':')[4] || ACCOUNT), resource },
          contextVariables: { 'aws:SecureTransport': 'true', 's3:TlsVersion': '1.3', 'aws:PrincipalArn': principal.arn, 'aws:PrincipalAccount': ACCOUNT, ...context },
        },
      },
      {},
    );
    if (result.resultType === 'error') throw new Error(`IAM simulation of ${action} on ${resource} failed: ${JSON.stringify(result.errors)}`);
    const decision = String(result.overallResult);
    const call: IamCall = { principal: principal.logicalId, action, resource, allowed: decision === 'Allowed', decision, via, ...(Object.keys(context).length ? { context } : {}) };
    this.calls.push(call);
    return call;
  }

  /** The message S3 (and other services) put in an AccessDenied error. */
  static deniedMessage(principal: Principal, call: IamCall): string {
    const why = call.decision === 'ExplicitlyDenied' ? 'with an explicit deny' : `because no identity-based policy allows the ${call.action} action`;
    return `User: arn:aws:sts::${ACCOUNT}:assumed-role/${principal.logicalId}/emulated is not authorized to perform: ${call.action} on resource: "${call.resource}" ${why}`;
  }
}
