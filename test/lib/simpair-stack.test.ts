import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { allStates, stateMachineDefinition, synthStack, testApp } from './synth-stack.ts';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string }>;

/** Every policy statement of every IAM policy, role and managed policy in a template. */
function allStatements(resources: Resources): { where: string; statement: Record<string, unknown> }[] {
  const out: { where: string; statement: Record<string, unknown> }[] = [];
  const push = (where: string, doc: unknown) => {
    for (const statement of ((doc as { Statement?: Record<string, unknown>[] } | undefined)?.Statement ?? [])) out.push({ where, statement });
  };
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') push(id, r.Properties?.PolicyDocument);
    if (r.Type === 'AWS::IAM::Role') for (const p of (r.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? []) push(id, p.PolicyDocument);
    if (r.Type === 'AWS::S3::BucketPolicy') push(id, r.Properties?.PolicyDocument);
  }
  return out;
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** Fails on Allow statements with Action "*" on Resource "*", or buckets open to the public. */
function securityProblems(resources: Resources): string[] {
  const problems: string[] = [];
  for (const { where, statement } of allStatements(resources)) {
    if (statement.Effect !== 'Allow') continue;
    const actions = asList(statement.Action);
    const res = asList(statement.Resource);
    if (actions.includes('*') && res.includes('*')) problems.push(`${where}: Action "*" on Resource "*"`);
    if (actions.some((a) => typeof a === 'string' && a.endsWith(':*')) && res.includes('*')) problems.push(`${where}: service-wide ${String(actions)} on "*"`);
    const principal = statement.Principal as unknown;
    if (principal === '*' || (principal as { AWS?: unknown })?.AWS === '*') problems.push(`${where}: Allow to the anonymous principal "*"`);
  }
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::S3::Bucket') continue;
    const pab = r.Properties?.PublicAccessBlockConfiguration as Record<string, boolean> | undefined;
    const all = pab && pab.BlockPublicAcls && pab.BlockPublicPolicy && pab.IgnorePublicAcls && pab.RestrictPublicBuckets;
    if (!all) problems.push(`${id}: bucket without a full public access block`);
    if (r.Properties?.AccessControl === 'PublicRead' || r.Properties?.AccessControl === 'PublicReadWrite') problems.push(`${id}: public ACL`);
  }
  return problems;
}

describe('SimpairStack (defaults: GPU training, IAM auth, data retained)', () => {
  let template: Template;
  let resources: Resources;
  beforeAll(() => {
    ({ template } = synthStack());
    resources = template.toJSON().Resources as Resources;
  });

  describe('storage', () => {
    it('encrypts, blocks public access, versions, sends EventBridge events and is retained', () => {
      template.hasResource('AWS::S3::Bucket', {
        Properties: Match.objectLike({
          BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
          PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
          VersioningConfiguration: { Status: 'Enabled' },
          LoggingConfiguration: Match.objectLike({ DestinationBucketName: { Ref: Match.stringLikeRegexp('StorageAccessLogs') } }),
        }),
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
      // CDK turns EventBridge delivery on through its bucket-notifications custom resource.
      template.hasResourceProperties('Custom::S3BucketNotifications', {
        BucketName: { Ref: Match.stringLikeRegexp('StorageBucket') },
        NotificationConfiguration: { EventBridgeConfiguration: {} },
      });
    });

    it('expires shards/ and embeddings/ after 14 days and their old versions after a day, other old versions after 30', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({ Prefix: 'shards/', ExpirationInDays: 14, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, Status: 'Enabled' }),
            Match.objectLike({ Prefix: 'embeddings/', ExpirationInDays: 14, NoncurrentVersionExpiration: { NoncurrentDays: 1 }, Status: 'Enabled' }),
            Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
          ]),
        },
      });
    });

    it('denies requests without TLS', () => {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Principal: { AWS: '*' } }),
          ]),
        },
      });
    });
  });

  describe('trigger and orchestration', () => {
    it('starts the state machine on Object Created under datasets/ (and POST /train markers) of this bucket', () => {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.s3'],
          'detail-type': ['Object Created'],
          detail: { bucket: { name: [{ Ref: Match.stringLikeRegexp('StorageBucket') }] }, object: { key: Match.arrayWith([{ prefix: 'datasets/' }]) } },
        },
        Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('PipelineStateMachine') }, DeadLetterConfig: Match.anyValue() })],
      });
    });

    it('fans embedding out with a Distributed Map reading the shard list from S3', () => {
      const map = allStates(stateMachineDefinition(template).States).find(([, s]) => s.Type === 'Map')?.[1];
      expect(map).toMatchObject({
        ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' } },
        ItemReader: { ReaderConfig: { InputType: 'JSON' }, Parameters: { 'Key.$': '$.shardsKey' } },
        MaxConcurrency: 10,
      });
      expect(String((map?.ItemReader as { Resource: string }).Resource)).toMatch(/:states:::s3:getObject$/);
    });

    it('trains with batch:submitJob.sync, then publishes', () => {
      const states = stateMachineDefinition(template).States;
      const train = Object.values(states).find((s) => String(s.Resource).endsWith(':states:::batch:submitJob.sync'));
      expect(train).toBeDefined();
      expect(train?.Next).toBe('Publish model');
      expect(JSON.stringify(train?.Parameters)).toContain('SIMPAIR_RUN_ID');
    });

    it('catches every Task and Map into the fail function, then a Fail state', () => {
      const states = stateMachineDefinition(template).States;
      const steps = Object.entries(states).filter(([name, s]) => (s.Type === 'Task' || s.Type === 'Map') && name !== 'Record failure');
      expect(steps.map(([n]) => n)).toEqual(['Validate and split', 'Embed shards', 'Finalize embeddings', 'Train on AWS Batch', 'Publish model']);
      for (const [name, s] of steps) {
        const catches = s.Catch as { ErrorEquals: string[]; Next: string }[] | undefined;
        expect(catches, name).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: expect.stringMatching(/^Failed: /) })]);
        expect(states[catches![0].Next].Next).toBe('Record failure');
      }
      expect(states['Record failure'].Next).toBe('Run failed');
      expect(states['Run failed'].Type).toBe('Fail');
    });

    it('logs and traces the state machine', () => {
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
        TracingConfiguration: { Enabled: true },
      });
    });
  });

  describe('GPU training', () => {
    it('uses a managed EC2 environment of GPU instance types only, on the NVIDIA ECS AMI', () => {
      const envs = Object.values(template.findResources('AWS::Batch::ComputeEnvironment')) as { Properties: { ComputeResources: { InstanceTypes: string[]; Type: string; Ec2Configuration: unknown } } }[];
      expect(envs).toHaveLength(1);
      const { InstanceTypes, Type, Ec2Configuration } = envs[0].Properties.ComputeResources;
      expect(Type).toBe('EC2');
      expect(InstanceTypes.length).toBeGreaterThan(0);
      for (const t of InstanceTypes) expect(t).toMatch(/^(g4dn|g5)\.[a-z0-9]+$/);
      expect(Ec2Configuration).toEqual([{ ImageType: 'ECS_AL2023_NVIDIA' }]);
    });

    it('asks for one GPU in the job definition, with the asset image', () => {
      template.hasResourceProperties('AWS::Batch::JobDefinition', {
        PlatformCapabilities: ['EC2'],
        ContainerProperties: Match.objectLike({
          ResourceRequirements: Match.arrayWith([{ Type: 'GPU', Value: '1' }]),
          Image: Match.objectLike({ 'Fn::Sub': Match.stringLikeRegexp('container-assets') }),
        }),
      });
    });
  });

  describe('prediction API', () => {
    it('exposes POST /predict, POST /train and GET /runs/{id}, all with IAM authorization', () => {
      const methods = Object.values(template.findResources('AWS::ApiGateway::Method')) as { Properties: { HttpMethod: string; AuthorizationType: string } }[];
      const routes = methods.filter((m) => m.Properties.HttpMethod !== 'OPTIONS');
      expect(routes.map((m) => m.Properties.HttpMethod).sort()).toEqual(['GET', 'POST', 'POST']);
      for (const m of routes) expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
    });

    it('validates the /predict body against a JSON schema with the pair and length limits', () => {
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'POST',
        RequestValidatorId: Match.anyValue(),
        RequestModels: { 'application/json': Match.anyValue() },
        ResourceId: { Ref: Match.stringLikeRegexp('Apipredict') },
      });
      template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true });
      template.hasResourceProperties('AWS::ApiGateway::Model', {
        Name: 'PredictRequest',
        Schema: Match.objectLike({
          required: ['pairs'],
          properties: { pairs: Match.objectLike({ maxItems: 32, minItems: 1, items: Match.objectLike({ properties: { sentence1: { type: 'string', minLength: 1, maxLength: 2000 }, sentence2: Match.anyValue() } }) }) },
        }),
      });
    });

    it('throttles the stage (access logs are opt-in: test/lib/prediction-api.test.ts)', () => {
      template.hasResourceProperties('AWS::ApiGateway::Stage', {
        MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40, HttpMethod: '*', ResourcePath: '/*' })]),
      });
    });
  });

  describe('functions', () => {
    const functions = () =>
      Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function' && String(r.Properties?.Description ?? '').startsWith('simpair:'));

    it('runs every handler on nodejs22.x with JSON logs and the bucket name', () => {
      const fns = functions();
      expect(fns).toHaveLength(8);
      for (const [id, fn] of fns) {
        expect(fn.Properties, id).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['x86_64'],
          LoggingConfig: expect.objectContaining({ LogFormat: 'JSON' }),
          Environment: { Variables: expect.objectContaining({ SIMPAIR_BUCKET: { Ref: expect.stringMatching(/StorageBucket/) }, SIMPAIR_CACHE: '/tmp/simpair-cache' }) },
        });
      }
    });

    it('deploys in a new account: the embedding function at 3,008 MB (the usual new-account cap), no reserved concurrency, a map of 10', () => {
      const byDescription = (re: RegExp) => functions().find(([, fn]) => re.test(String(fn.Properties?.Description)))![1].Properties!;
      expect(byDescription(/^simpair: embed one row shard/).MemorySize).toBe(3008);
      for (const [id, fn] of functions()) expect(fn.Properties?.ReservedConcurrentExecutions, id).toBeUndefined();
      // POST /train knows the embedding function's memory, to refuse a shard that cannot fit.
      expect((byDescription(/^simpair: POST \/train/).Environment as { Variables: Record<string, unknown> }).Variables.SIMPAIR_EMBED_MEMORY_MB).toBe('3008');
    });

    it('alarms on failed and timed-out executions, failed Batch jobs of its queue and the dead-letter queue, without notification by default', () => {
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as { Properties: { MetricName: string; Namespace: string; AlarmActions?: unknown } }[];
      expect(alarms.map((a) => `${a.Properties.Namespace}/${a.Properties.MetricName}`).sort()).toEqual(
        ['AWS/Events/TriggeredRules', 'AWS/SQS/ApproximateNumberOfMessagesVisible', 'AWS/States/ExecutionsFailed', 'AWS/States/ExecutionsTimedOut'].sort(),
      );
      for (const a of alarms) expect(a.Properties.AlarmActions).toBeUndefined();
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: { source: ['aws.batch'], 'detail-type': ['Batch Job State Change'], detail: { status: ['FAILED'], jobQueue: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('TrainingJobQueue'), 'JobQueueArn'] }] } },
      });
      template.resourceCountIs('AWS::SNS::Topic', 0);
    });

    it('gives the onnxruntime layer to the functions that run BERT (embed, predict) alone, and no function a TF.js layer', () => {
      const layers = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::LayerVersion');
      expect(layers).toHaveLength(1);
      const [[ortId, ort]] = layers;
      expect(ort.Properties?.Description).toMatch(/^onnxruntime-node/);
      const withLayers = functions()
        .filter(([, fn]) => ((fn.Properties?.Layers as unknown[] | undefined) ?? []).length > 0)
        .map(([, fn]) => String(fn.Properties?.Description));
      expect(withLayers.sort()).toEqual([expect.stringMatching(/^simpair: POST \/predict/), expect.stringMatching(/^simpair: embed one row shard/)]);
      for (const [id, fn] of functions()) {
        const refs = (fn.Properties?.Layers as unknown[] | undefined) ?? [];
        expect(refs.every((r) => JSON.stringify(r) === JSON.stringify({ Ref: ortId })), id).toBe(true);
      }
    });

    it('keeps logs for a month', () => {
      const groups = Object.values(template.findResources('AWS::Logs::LogGroup')) as { Properties: { RetentionInDays?: number } }[];
      expect(groups.length).toBeGreaterThanOrEqual(9);
      for (const g of groups) expect(g.Properties.RetentionInDays).toBe(30);
    });

    it('gives the embedding function 3,008 MB (embeddingMemoryMB raises it), 15 minutes and 2 GiB of /tmp for BERT', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('embed one row shard'),
        MemorySize: 3008,
        Timeout: 900,
        EphemeralStorage: { Size: 2048 },
      });
    });

    it('publishes the trimmed onnxruntime layer for x86_64 only', () => {
      template.hasResourceProperties('AWS::Lambda::LayerVersion', {
        CompatibleArchitectures: ['x86_64'],
        CompatibleRuntimes: ['nodejs22.x'],
        Description: Match.stringLikeRegexp('linux/x64'),
      });
    });
  });

  describe('least privilege', () => {
    /** S3 object ARNs a role's policies allow, as `<prefix>*` strings. */
    function s3ObjectGrants(roleIdPattern: RegExp): { actions: string[]; prefix: string }[] {
      const out: { actions: string[]; prefix: string }[] = [];
      for (const r of Object.values(resources)) {
        if (r.Type !== 'AWS::IAM::Policy') continue;
        const roles = JSON.stringify(r.Properties?.Roles);
        if (!roleIdPattern.test(roles)) continue;
        for (const st of (r.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement) {
          for (const res of asList(st.Resource)) {
            const join = (res as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
            const tail = join ? join[1][join[1].length - 1] : undefined;
            if (typeof tail === 'string' && tail.startsWith('/')) out.push({ actions: asList(st.Action) as string[], prefix: tail.slice(1) });
          }
        }
      }
      return out;
    }

    it('lets the embedding function write only embeddings/ and read runs/, shards/ and the encoder', () => {
      const grants = s3ObjectGrants(/EmbeddingFunctionServiceRole/);
      const writes = grants.filter((g) => g.actions.includes('s3:PutObject')).map((g) => g.prefix);
      expect(writes).toEqual(['embeddings/*']);
      expect(new Set(grants.map((g) => g.prefix))).toEqual(new Set(['runs/*', 'shards/*', 'embeddings/*', 'encoders/bert-base-uncased/*']));
    });

    it('lets only the publish function write models/live.json', () => {
      const writers = Object.values(resources).filter(
        (r) =>
          r.Type === 'AWS::IAM::Policy' &&
          (r.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement.some(
            (st) => st.Effect === 'Allow' && asList(st.Action).includes('s3:PutObject') && JSON.stringify(st.Resource).includes('/models/live.json'),
          ),
      );
      expect(writers.map((w) => JSON.stringify(w.Properties?.Roles))).toEqual([expect.stringMatching(/PipelinePublishModel/)]);
    });

    it('grants no simpair function or job a delete (read and put only)', () => {
      const deleters = allStatements(resources).filter(
        ({ where, statement }) => statement.Effect === 'Allow' && !/AutoDelete|CustomS3AutoDelete/.test(where) && asList(statement.Action).some((a) => String(a).startsWith('s3:DeleteObject')),
      );
      expect(deleters.map((d) => d.where)).toEqual([]);
    });

    it('has no Action "*" on Resource "*", no anonymous Allow and no public bucket', () => {
      expect(securityProblems(resources)).toEqual([]);
    });

    it('the security walk catches a wildcard policy and a public bucket (it is not vacuous)', () => {
      const bad: Resources = {
        P: { Type: 'AWS::IAM::Policy', Properties: { PolicyDocument: { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } } },
        B: { Type: 'AWS::S3::Bucket', Properties: { PublicAccessBlockConfiguration: { BlockPublicAcls: false } } },
      };
      expect(securityProblems(bad)).toEqual(['P: Action "*" on Resource "*"', 'B: bucket without a full public access block']);
    });
  });
});

describe('SimpairStack variants', () => {
  it('switches training to Fargate CPU, with no GPU requirement', () => {
    const { template } = synthStack({ trainingCompute: 'cpu' });
    template.hasResourceProperties('AWS::Batch::ComputeEnvironment', { ComputeResources: Match.objectLike({ Type: 'FARGATE' }) });
    template.hasResourceProperties('AWS::Batch::JobDefinition', {
      PlatformCapabilities: ['FARGATE'],
      ContainerProperties: Match.objectLike({ ResourceRequirements: Match.not(Match.arrayWith([Match.objectLike({ Type: 'GPU' })])) }),
    });
  });

  it('uses an API key with a usage plan when apiAuth is apiKey, and can drop the data with the stack', () => {
    const { template } = synthStack({ apiAuth: 'apiKey', retainData: false });
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')) as { Properties: { AuthorizationType: string; ApiKeyRequired?: boolean } }[];
    for (const m of methods) expect(m.Properties).toMatchObject({ AuthorizationType: 'NONE', ApiKeyRequired: true });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', { Throttle: { RateLimit: 20, BurstLimit: 40 }, Quota: { Limit: 10000, Period: 'DAY' } });
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    template.hasResource('AWS::S3::Bucket', { Properties: Match.objectLike({ VersioningConfiguration: { Status: 'Enabled' } }), DeletionPolicy: 'Delete' });
    template.hasResourceProperties('Custom::S3AutoDeleteObjects', { BucketName: { Ref: Match.stringLikeRegexp('StorageBucket') } });
  });

  it('takes the embedding memory, the map concurrency, reserved concurrency for predict and an alarm e-mail from props', () => {
    const { template } = synthStack({ embeddingMemoryMB: 10240, maxConcurrency: 40, predictReservedConcurrency: 5, alarmEmail: 'ops@example.com' });
    template.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('^simpair: embed one row shard'), MemorySize: 10240 });
    template.hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('^simpair: POST /predict'), ReservedConcurrentExecutions: 5 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^simpair: POST /train'),
      Environment: { Variables: Match.objectLike({ SIMPAIR_EMBED_MEMORY_MB: '10240' }) },
    });
    const map = allStates(stateMachineDefinition(template).States).find(([, s]) => s.Type === 'Map')![1];
    expect(map.MaxConcurrency).toBe(40);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as { Properties: { AlarmActions?: unknown[] } }[];
    expect(alarms).toHaveLength(4);
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/AlarmsTopic/) }]);
  });

  it('refuses what cannot deploy: embedding memory above Lambda\'s limit, reserved concurrency 0, a bad e-mail', () => {
    expect(() => synthStack({ embeddingMemoryMB: 20000 })).toThrow(/memorySize is 20000/);
    expect(() => synthStack({ predictReservedConcurrency: 0 })).toThrow(/predictReservedConcurrency is 0/);
    expect(() => synthStack({ alarmEmail: 'ops' })).toThrow(/alarmEmail "ops"/);
  });

  it('builds the arm64 layer for arm64 functions', () => {
    const { template } = synthStack({ lambdaArchitecture: lambda.Architecture.ARM_64 });
    template.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: ['arm64'], Description: Match.stringLikeRegexp('linux/arm64') });
    template.hasResourceProperties('AWS::Lambda::Function', { Architectures: ['arm64'], Runtime: 'nodejs22.x' });
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('passes with every finding acknowledged (synth runs the pack as a validation plugin)', () => {
    const { app } = synthStack();
    const assembly = app.synth();
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string }[]; suppressedViolations: { ruleName: string }[] }[];
    };
    const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions');
    expect(nag?.conclusion).toBe('success');
    expect(nag?.violations.map((v) => v.ruleName)).toEqual([]);
    // Acknowledged findings are the IAM wildcards of prefix grants and service-mandated ones, never a public bucket.
    const acknowledged = new Set(nag?.suppressedViolations.map((v) => v.ruleName.replace(/\[.*$/, '')));
    expect([...acknowledged].filter((id) => /AwsSolutions-S(2|3|5|10)$/.test(id))).toEqual([]);
  });

  it('acknowledges only what is true: List is bucket-wide, the runtime reason names the real constraint', () => {
    const { app } = synthStack();
    const report = JSON.parse(readFileSync(join(app.synth().directory, 'validation-report.json'), 'utf8')) as {
      pluginReports: { suppressedViolations: { ruleName: string; reason: string }[] }[];
    };
    const reasons = report.pluginReports[0].suppressedViolations.map((v) => ({ rule: v.ruleName, reason: v.reason }));
    const list = reasons.filter((r) => r.rule.includes('Action::s3:List*'));
    expect(list.length).toBeGreaterThan(0);
    for (const r of list) expect(r.reason).not.toMatch(/limited to the object prefixes/);
    for (const r of list) expect(r.reason).toMatch(/whole bucket/);
    const l1 = reasons.filter((r) => r.rule.startsWith('AwsSolutions-L1'));
    for (const r of l1) expect(r.reason).not.toMatch(/tests? (run|against)/);
  });

  it('synthesizes with a model source in another bucket (its read grant acknowledged, read-only)', () => {
    const { app, template } = synthStack({ modelSource: 's3://other-bucket/encoders/bert/' });
    expect(() => app.synth()).not.toThrow();
    const grants = allStatements(template.toJSON().Resources as Resources).filter(({ statement }) => JSON.stringify(statement.Resource).includes('other-bucket'));
    expect(grants.length).toBeGreaterThan(0);
    for (const { statement } of grants) for (const a of asList(statement.Action)) expect(String(a)).toMatch(/^s3:(Get|List)/);
  });

  it('fails synth on an unacknowledged wildcard policy (the check is live)', () => {
    const app = testApp();
    const stack = new Stack(app, 'Bad');
    new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }).addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }),
    );
    expect(() => app.synth()).toThrow();
    const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as { pluginReports: { violations: { ruleName: string }[] }[] };
    expect(report.pluginReports[0].violations.map((v) => v.ruleName)).toEqual(expect.arrayContaining(['AwsSolutions-IAM5[Action::s3:*]', 'AwsSolutions-IAM5[Resource::*]']));
  });
});

