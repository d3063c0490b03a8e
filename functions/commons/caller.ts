import type { APIGatewayProxyEvent } from 'aws-lambda';

/** Who called the API, as API Gateway's request context says: the IAM principal (SigV4) or the API key's id, and the source address. */
export interface Caller {
  /** IAM user or assumed-role ARN of a SigV4-signed call (apiAuth iam). */
  userArn?: string;
  /** Id (not the value) of the API key used (apiAuth apiKey). */
  apiKeyId?: string;
  sourceIp?: string;
}

/** The caller of an API Gateway request; fields API Gateway did not set are left out. */
export function callerOf(event: Pick<APIGatewayProxyEvent, 'requestContext'>): Caller {
  const identity = event.requestContext?.identity;
  const caller: Caller = {};
  if (identity?.userArn) caller.userArn = identity.userArn;
  if (identity?.apiKeyId) caller.apiKeyId = identity.apiKeyId;
  if (identity?.sourceIp) caller.sourceIp = identity.sourceIp;
  return caller;
}
