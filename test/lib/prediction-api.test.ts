import { describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { synthStack } from './synth-stack.ts';

/** Renders an API Gateway mapping template the way API Gateway would for a sample error, then parses it. */
function render(template: string, values: { requestId: string; messageString: string; validationErrorString?: string; responseType: string }): unknown {
  const text = template
    .replaceAll('$context.requestId', values.requestId)
    .replaceAll('$context.error.messageString', values.messageString)
    .replaceAll('$context.error.responseType', values.responseType)
    .replaceAll('$util.escapeJavaScript($context.error.validationErrorString)', JSON.stringify(values.validationErrorString ?? '').slice(1, -1));
  return JSON.parse(text);
}

describe('PredictionApi gateway responses', () => {
  const { template } = synthStack();
  const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse')) as { Properties: { ResponseType: string; ResponseTemplates: Record<string, string> } }[];
  const byType = (type: string) => responses.find((r) => r.Properties.ResponseType === type)?.Properties.ResponseTemplates['application/json'];

  it('answers the gateway own 4xx and 5xx (403, 429, 504...) as {error, message, requestId}', () => {
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX']) {
      const body = byType(type);
      expect(body, type).toBeDefined();
      expect(render(body!, { requestId: 'req-1', messageString: '"Forbidden"', responseType: 'ACCESS_DENIED' })).toEqual({ error: 'ACCESS_DENIED', message: 'Forbidden', requestId: 'req-1' });
    }
  });

  it('puts the request validator error string in a 400 for a bad body', () => {
    const body = byType('BAD_REQUEST_BODY');
    expect(body).toBeDefined();
    const rendered = render(body!, { requestId: 'req-2', messageString: '"Invalid request body"', responseType: 'BAD_REQUEST_BODY', validationErrorString: '[instance has 33 items, "maximum" is 32]' });
    expect(rendered).toEqual({ error: 'BAD_REQUEST_BODY', message: 'Invalid request body: [instance has 33 items, "maximum" is 32]', requestId: 'req-2' });
  });
});

describe('PredictionApi logging is opt-in (the API Gateway account role is region-wide)', () => {
  it('creates no AWS::ApiGateway::Account and no account role by default', () => {
    const { template } = synthStack();
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    template.hasResourceProperties('AWS::ApiGateway::Stage', { AccessLogSetting: Match.absent() });
  });

  it('uses the account role already configured with apiLogging existingRole', () => {
    const { template } = synthStack({ apiLogging: 'existingRole' });
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    template.hasResourceProperties('AWS::ApiGateway::Stage', { AccessLogSetting: Match.objectLike({ Format: Match.stringLikeRegexp('requestId') }) });
  });

  it('creates the account role, kept on destroy, with apiLogging createRole', () => {
    const { template } = synthStack({ apiLogging: 'createRole' });
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    template.hasResource('AWS::IAM::Role', {
      Properties: Match.objectLike({ AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })] }) }),
      DeletionPolicy: 'Retain',
    });
  });
});

describe('PredictionApi provisioned concurrency', () => {
  it('is off by default: the API calls the function itself', () => {
    const { template } = synthStack();
    template.resourceCountIs('AWS::Lambda::Alias', 0);
  });

  it('puts /predict behind an alias with provisioned environments when asked', () => {
    const { template } = synthStack({ predictProvisionedConcurrency: 2 });
    template.hasResourceProperties('AWS::Lambda::Alias', { Name: 'live', ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 2 } });
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      ResourceId: { Ref: Match.stringLikeRegexp('Apipredict') },
      Integration: Match.objectLike({ Uri: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([{ Ref: Match.stringLikeRegexp('PredictLive') }])]) }) }),
    });
  });
});
