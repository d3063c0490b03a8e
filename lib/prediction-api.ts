import { Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { acknowledge, acknowledgePrefixGrants } from './private/nag.ts';
import { Construct } from 'constructs';
import { ENV_NAMES } from '../functions/commons/env-names.ts';
import { PREFIX } from '../src/pipeline/layout.ts';
import { DEFAULT_PREDICT_LIMITS } from '../src/server/predict-request.ts';
import { grantModelSourceRead, modelSourcePrefixes } from './private/grant-model-source.ts';
import { simpairFunction } from './private/simpair-function.ts';
import { intInRange, throwIfInvalid } from './private/validate-props.ts';

/** How callers authenticate: SigV4-signed requests (IAM) or an API key with a usage plan. */
export type ApiAuth = 'iam' | 'apiKey';

/**
 * API Gateway access and execution logs. They need the region-wide CloudWatch role of the
 * account's API Gateway settings (AWS::ApiGateway::Account, one per account and region, shared
 * by every API there), so the stack touches it only when asked:
 * - `none`: no stage logs; the function logs still have every request;
 * - `existingRole`: the account already has the role (set in the console or by another stack);
 * - `createRole`: this stack creates the role and points the account at it; the role is
 *   retained on `cdk destroy`, so the account setting never names a deleted role.
 */
export type ApiLogging = 'none' | 'existingRole' | 'createRole';

/** Props of {@link PredictionApi}. */
export interface PredictionApiProps {
  readonly bucket: s3.IBucket;
  /** The onnxruntime-node layer (RuntimeLayers.onnxRuntime), the predict function's only layer. */
  readonly onnxRuntimeLayer: lambda.ILayerVersion;
  /** Default embedding model of runs started by `POST /train`, and the encoder the predictor may read. */
  readonly modelSource: string;
  /** @default 'iam' */
  readonly apiAuth?: ApiAuth;
  /** Steady requests per second for the stage (and the usage plan). @default 20 */
  readonly throttlingRateLimit?: number;
  /** Burst of requests. @default 40 */
  readonly throttlingBurstLimit?: number;
  /** Requests per day per API key (apiKey mode only). @default 10000 */
  readonly dailyQuota?: number;
  /** Pairs per `POST /predict`. @default 32 (DEFAULT_PREDICT_LIMITS) */
  readonly maxPairs?: number;
  /** Characters per sentence. @default 2000 (DEFAULT_PREDICT_LIMITS) */
  readonly maxTextLength?: number;
  /** MB of the predict function (vCPUs for ONNX Runtime scale with it). @default 3008 */
  readonly predictMemorySize?: number;
  /** @default lambda.Architecture.X86_64 */
  readonly architecture?: lambda.Architecture;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default 'v1' */
  readonly stageName?: string;
  /** Stage access and execution logs (see {@link ApiLogging}). @default 'none' */
  readonly apiLogging?: ApiLogging;
  /**
   * Predict environments kept initialised (model downloaded, ONNX session open), so callers
   * never wait for a cold start. Billed while deployed, whether used or not: about
   * $0.0000041667 per GB-second in us-east-1, so one 3,008 MB environment is ~$32 a month
   * (check the Lambda pricing page). 0 = on-demand only.
   * @default 0
   */
  readonly predictProvisionedConcurrency?: number;
  /**
   * Concurrency reserved for the predict function, so a training run's embedding fan-out can
   * never starve `/predict` (and /predict never takes more). The account must keep 10 unreserved:
   * with the 10 a new account gets, raise the "Concurrent executions" quota first.
   * @default none (shares the account's unreserved pool)
   */
  readonly predictReservedConcurrency?: number;
  /** Memory of the embedding function (MB): `POST /train` refuses a shardSize whose shard cannot fit in it. */
  readonly embedMemoryMB?: number;
}

/**
 * Body of the answers API Gateway itself gives (authorisation, throttling, validation,
 * integration timeout): the same `{error, message, requestId}` as the functions' errors.
 * `messageString` is already a quoted JSON string.
 */
const GATEWAY_ERROR_TEMPLATE = '{"error": "$context.error.responseType", "message": $context.error.messageString, "requestId": "$context.requestId"}';
/**
 * A bad request body also says what the JSON-schema validator found. `$util.escapeJavaScript`
 * turns `'` into `\'`, which JSON does not allow, so it is turned back (Java regex `\\'`).
 */
const BAD_BODY_TEMPLATE = String.raw`{"error": "$context.error.responseType", "message": "Invalid request body: $util.escapeJavaScript($context.error.validationErrorString).replaceAll("\\'","'")", "requestId": "$context.requestId"}`;

/**
 * The HTTP face in the cloud, the same routes as `simpair serve`: `POST /predict` (predict
 * function), `POST /train` and `GET /runs/{id}` (train-api function), on an API Gateway REST
 * API with JSON-schema request validation, stage throttling, JSON access logs, and IAM
 * authorisation by default (or an API key with a usage plan).
 */
export class PredictionApi extends Construct {
  readonly api: apigw.RestApi;
  readonly predictFunction: NodejsFunction;
  readonly trainApiFunction: NodejsFunction;
  readonly apiKey?: apigw.IApiKey;

  constructor(scope: Construct, id: string, props: PredictionApiProps) {
    super(scope, id);
    const {
      apiAuth = 'iam',
      throttlingRateLimit = 20,
      throttlingBurstLimit = 40,
      dailyQuota = 10_000,
      maxPairs = DEFAULT_PREDICT_LIMITS.maxPairs,
      maxTextLength = DEFAULT_PREDICT_LIMITS.maxTextLength,
      predictMemorySize = 3008,
      architecture = lambda.Architecture.X86_64,
      logRetention = logs.RetentionDays.ONE_MONTH,
      stageName = 'v1',
      apiLogging = 'none',
      predictProvisionedConcurrency = 0,
    } = props;
    throwIfInvalid('PredictionApi', [
      apiAuth !== 'iam' && apiAuth !== 'apiKey' && `apiAuth is "${String(apiAuth)}"; use 'iam' or 'apiKey'.`,
      !(throttlingRateLimit > 0) && `throttlingRateLimit is ${throttlingRateLimit}; give a positive number of requests per second.`,
      !intInRange(throttlingBurstLimit, 1, 5000) && `throttlingBurstLimit is ${throttlingBurstLimit}; use 1 to 5000.`,
      throttlingBurstLimit < throttlingRateLimit && `throttlingBurstLimit (${throttlingBurstLimit}) is below throttlingRateLimit (${throttlingRateLimit}); a burst is at least one second of the rate.`,
      !intInRange(maxPairs, 1, 1000) && `maxPairs is ${maxPairs}; use 1 to 1000 (a call must finish within API Gateway's 29 s).`,
      !intInRange(maxTextLength, 1, 100_000) && `maxTextLength is ${maxTextLength}; use 1 to 100000 characters.`,
      !intInRange(predictMemorySize, 128, 10240) && `predictMemorySize is ${predictMemorySize}; Lambda allows 128 to 10240 MB.`,
      props.dailyQuota !== undefined && apiAuth !== 'apiKey' && 'dailyQuota applies to API keys; set apiAuth: "apiKey" or drop dailyQuota.',
      !/^[A-Za-z0-9_]+$/.test(stageName) && `stageName "${stageName}" may hold only letters, digits and "_".`,
      !['none', 'existingRole', 'createRole'].includes(apiLogging) && `apiLogging is "${String(apiLogging)}"; use 'none', 'existingRole' or 'createRole'.`,
      !intInRange(predictProvisionedConcurrency, 0, 100) && `predictProvisionedConcurrency is ${predictProvisionedConcurrency}; use 0 (on demand) to 100.`,
      props.predictReservedConcurrency !== undefined &&
        !intInRange(props.predictReservedConcurrency, 1, 1000) &&
        `predictReservedConcurrency is ${props.predictReservedConcurrency}; use 1 to 1000 (0 would throttle every call), and leave 10 of the account's concurrency unreserved.`,
      props.predictReservedConcurrency !== undefined &&
        props.predictReservedConcurrency < predictProvisionedConcurrency &&
        `predictReservedConcurrency (${props.predictReservedConcurrency}) is below predictProvisionedConcurrency (${predictProvisionedConcurrency}); provisioned environments count against it.`,
    ]);
    const { bucket } = props;
    const env = { [ENV_NAMES.bucket]: bucket.bucketName };

    this.predictFunction = simpairFunction(this, 'Predict', {
      handler: 'predict',
      description: 'simpair: POST /predict with the live model',
      architecture,
      memorySize: predictMemorySize,
      // API Gateway answers 504 after 29 s anyway.
      timeout: Duration.seconds(29),
      ephemeralStorageSize: Size.mebibytes(1024),
      reservedConcurrentExecutions: props.predictReservedConcurrency,
      logRetention,
      layers: [props.onnxRuntimeLayer],
      environment: { ...env, [ENV_NAMES.predictMaxPairs]: String(maxPairs), [ENV_NAMES.predictMaxTextLength]: String(maxTextLength) },
    });
    bucket.grantRead(this.predictFunction, `${PREFIX.models}*`);
    grantModelSourceRead(this, bucket, props.modelSource, this.predictFunction);

    this.trainApiFunction = simpairFunction(this, 'TrainApi', {
      handler: 'train-api',
      description: 'simpair: POST /train and GET /runs/{id}',
      architecture,
      memorySize: 1024,
      timeout: Duration.seconds(29),
      logRetention,
      environment: {
        ...env,
        [ENV_NAMES.modelSource]: props.modelSource,
        ...(props.embedMemoryMB !== undefined ? { [ENV_NAMES.embedMemoryMB]: String(props.embedMemoryMB) } : {}),
      },
    });
    // startRun hashes the dataset (read), writes the run record and the start marker (runs/).
    bucket.grantRead(this.trainApiFunction, `${PREFIX.datasets}*`);
    bucket.grantRead(this.trainApiFunction, `${PREFIX.runs}*`);
    bucket.grantPut(this.trainApiFunction, `${PREFIX.runs}*`);
    acknowledgePrefixGrants(this.predictFunction, bucket, [PREFIX.models, ...modelSourcePrefixes(bucket, props.modelSource)]);
    acknowledgePrefixGrants(this.trainApiFunction, bucket, [PREFIX.datasets, PREFIX.runs]);

    const logging = apiLogging !== 'none';
    const accessLogs = logging ? new logs.LogGroup(this, 'AccessLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY }) : undefined;
    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: 'simpair',
      description: 'simpair: sentence-pair paraphrase prediction and training runs',
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole: apiLogging === 'createRole',
      // The account setting outlives the stack: keep the role it points at.
      cloudWatchRoleRemovalPolicy: apiLogging === 'createRole' ? RemovalPolicy.RETAIN : undefined,
      deployOptions: {
        stageName,
        throttlingRateLimit,
        throttlingBurstLimit,
        loggingLevel: logging ? apigw.MethodLoggingLevel.ERROR : apigw.MethodLoggingLevel.OFF,
        dataTraceEnabled: false,
        tracingEnabled: true,
        accessLogDestination: accessLogs && new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: accessLogs && apigw.AccessLogFormat.jsonWithStandardFields(),
      },
      defaultMethodOptions: {
        authorizationType: apiAuth === 'iam' ? apigw.AuthorizationType.IAM : apigw.AuthorizationType.NONE,
        apiKeyRequired: apiAuth === 'apiKey',
      },
    });

    this.api.addGatewayResponse('Default4xx', { type: apigw.ResponseType.DEFAULT_4XX, templates: { 'application/json': GATEWAY_ERROR_TEMPLATE } });
    this.api.addGatewayResponse('Default5xx', { type: apigw.ResponseType.DEFAULT_5XX, templates: { 'application/json': GATEWAY_ERROR_TEMPLATE } });
    this.api.addGatewayResponse('BadRequestBody', { type: apigw.ResponseType.BAD_REQUEST_BODY, statusCode: '400', templates: { 'application/json': BAD_BODY_TEMPLATE } });

    const bodyValidator = new apigw.RequestValidator(this, 'BodyValidator', { restApi: this.api, validateRequestBody: true, validateRequestParameters: true });
    const paramsValidator = new apigw.RequestValidator(this, 'ParamsValidator', { restApi: this.api, validateRequestBody: false, validateRequestParameters: true });
    const sentence = { type: apigw.JsonSchemaType.STRING, minLength: 1, maxLength: maxTextLength };
    const predictModel = this.api.addModel('PredictRequest', {
      contentType: 'application/json',
      modelName: 'PredictRequest',
      schema: {
        schema: apigw.JsonSchemaVersion.DRAFT4,
        title: 'PredictRequest',
        type: apigw.JsonSchemaType.OBJECT,
        required: ['pairs'],
        additionalProperties: false,
        properties: {
          pairs: {
            type: apigw.JsonSchemaType.ARRAY,
            minItems: 1,
            maxItems: maxPairs,
            items: {
              type: apigw.JsonSchemaType.OBJECT,
              required: ['sentence1', 'sentence2'],
              additionalProperties: false,
              properties: { sentence1: sentence, sentence2: sentence },
            },
          },
        },
      },
    });
    const trainModel = this.api.addModel('TrainRequest', {
      contentType: 'application/json',
      modelName: 'TrainRequest',
      schema: {
        schema: apigw.JsonSchemaVersion.DRAFT4,
        title: 'TrainRequest',
        type: apigw.JsonSchemaType.OBJECT,
        required: ['datasetKey'],
        properties: {
          datasetKey: { type: apigw.JsonSchemaType.STRING, pattern: `^${PREFIX.datasets}.+`, maxLength: 1024 },
          options: { type: apigw.JsonSchemaType.OBJECT },
        },
      },
    });

    const predict = this.api.root.addResource('predict');
    // With provisioned concurrency the API calls an alias whose environments are kept initialised.
    const predictTarget =
      predictProvisionedConcurrency > 0
        ? new lambda.Alias(this, 'PredictLive', { aliasName: 'live', version: this.predictFunction.currentVersion, provisionedConcurrentExecutions: predictProvisionedConcurrency })
        : this.predictFunction;
    predict.addMethod('POST', new apigw.LambdaIntegration(predictTarget), {
      requestValidator: bodyValidator,
      requestModels: { 'application/json': predictModel },
    });
    const trainIntegration = new apigw.LambdaIntegration(this.trainApiFunction);
    this.api.root.addResource('train').addMethod('POST', trainIntegration, {
      requestValidator: bodyValidator,
      requestModels: { 'application/json': trainModel },
    });
    this.api.root
      .addResource('runs')
      .addResource('{id}')
      .addMethod('GET', trainIntegration, { requestValidator: paramsValidator, requestParameters: { 'method.request.path.id': true } });

    if (apiAuth === 'apiKey') {
      const plan = this.api.addUsagePlan('UsagePlan', {
        name: 'simpair',
        throttle: { rateLimit: throttlingRateLimit, burstLimit: throttlingBurstLimit },
        quota: { limit: dailyQuota, period: apigw.Period.DAY },
      });
      plan.addApiStage({ stage: this.api.deploymentStage });
      this.apiKey = this.api.addApiKey('ApiKey', { description: 'simpair API key (value: aws apigateway get-api-key --include-value)' });
      plan.addApiKey(this.apiKey);
    }

    acknowledge(
      this.api,
      [
        { id: 'AwsSolutions-APIG3', reason: 'No WAF web ACL: callers are authenticated (IAM or API key) and throttled per stage; add WAF for a public-facing deployment.' },
        ...(logging
          ? []
          : [
              {
                id: 'AwsSolutions-APIG1',
                reason: 'apiLogging is "none": stage access logs need the region-wide API Gateway account role, which the deployer opts into (-c apiLogging=existingRole|createRole); the functions log every request.',
              },
              {
                id: 'AwsSolutions-APIG6',
                reason: 'apiLogging is "none": execution logs need the region-wide API Gateway account role, which the deployer opts into (-c apiLogging=existingRole|createRole).',
              },
            ]),
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
          reason: 'The API Gateway account role uses AmazonAPIGatewayPushToCloudWatchLogs, the AWS-managed policy AWS documents for it.',
        },
        ...(apiAuth === 'iam'
          ? [{ id: 'AwsSolutions-COG4', reason: 'Methods use IAM (SigV4) authorization instead of a Cognito user pool; callers are AWS principals.' }]
          : [
              { id: 'AwsSolutions-APIG4', reason: 'apiAuth is "apiKey": callers present an API key bound to a usage plan with a quota and throttling, chosen by the deployer over IAM.' },
              { id: 'AwsSolutions-COG4', reason: 'apiAuth is "apiKey": API keys with a usage plan instead of a Cognito user pool.' },
            ]),
      ],
    );
  }
}
