import { describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { synthStack } from './synth-stack.ts';

/**
 * Java's StringEscapeUtils.escapeJavaScript (commons-lang 2), which API Gateway's
 * `$util.escapeJavaScript` is: `'` becomes `\'` (not valid in JSON), `"` `\"`, `\` `\\`, `/` `\/`,
 * control characters and everything above 0x7f `\uXXXX`.
 */
function escapeJavaScript(s: string): string {
  const named: Record<string, string> = { "'": "\\'", '"': '\\"', '\\': '\\\\', '/': '\\/', '\b': '\\b', '\n': '\\n', '\t': '\\t', '\f': '\\f', '\r': '\\r' };
  let out = '';
  // By UTF-16 code unit, as Java's String.charAt.
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    const u = s.charCodeAt(i);
    if (named[ch]) out += named[ch];
    else if (u < 32 || u > 0x7f) out += `\\u${u.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

/**
 * Renders an API Gateway mapping template the way API Gateway would for a sample error:
 * `$context.*` references, `$util.escapeJavaScript(...)` with Java's escaping, and a chain of
 * Java `String.replaceAll(regex, replacement)` calls after it (Velocity passes its string
 * literals' backslashes through unchanged). Anything else left with a `$` fails the test.
 */
function render(template: string, values: { requestId: string; messageString: string; validationErrorString?: string; responseType: string }): unknown {
  const context: Record<string, string> = {
    '$context.requestId': values.requestId,
    '$context.error.messageString': values.messageString,
    '$context.error.responseType': values.responseType,
    '$context.error.validationErrorString': values.validationErrorString ?? '',
  };
  let text = template.replace(/\$util\.escapeJavaScript\((\$[\w.]+)\)((?:\.replaceAll\("(?:[^"]*)", ?"(?:[^"]*)"\))*)/g, (_, ref: string, calls: string) => {
    let value = escapeJavaScript(context[ref] ?? '');
    for (const [, regex, replacement] of calls.matchAll(/\.replaceAll\("([^"]*)", ?"([^"]*)"\)/g)) {
      // Java regex and replacement syntax agree with JavaScript's for these (no groups, no $).
      value = value.replace(new RegExp(regex, 'g'), replacement.replace(/\\(.)/g, '$1'));
    }
    return value;
  });
  for (const [ref, value] of Object.entries(context)) text = text.replaceAll(ref, value);
  expect(text).not.toMatch(/\$(context|util|input)/);
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

  it('every gateway response renders valid JSON when the input holds quotes, backslashes, slashes and non-ASCII', () => {
    const nasty = `[string "it's a \\"test\\"" at /pairs/0 is too long: café]`;
    expect(responses.length).toBeGreaterThanOrEqual(3);
    for (const r of responses) {
      const rendered = render(r.Properties.ResponseTemplates['application/json'], {
        requestId: 'req-3',
        messageString: JSON.stringify("Can't \"do\" that"),
        responseType: r.Properties.ResponseType,
        validationErrorString: nasty,
      }) as { message: string };
      expect(rendered.message, r.Properties.ResponseType).toMatch(r.Properties.ResponseType === 'BAD_REQUEST_BODY' ? `Invalid request body: ${nasty}` : `Can't "do" that`);
    }
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
