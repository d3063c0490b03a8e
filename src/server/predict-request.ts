import { z } from 'zod';
import { RequestError } from '../errors.ts';

/** Limits on one prediction call; the CLI server and the Lambda share them. */
export interface PredictLimits {
  /** @default 32 */
  readonly maxPairs: number;
  /** Characters per sentence. @default 2000 */
  readonly maxTextLength: number;
}

export const DEFAULT_PREDICT_LIMITS: PredictLimits = { maxPairs: 32, maxTextLength: 2000 };

/** Body of `POST /predict`. */
export interface PredictRequest {
  pairs: { sentence1: string; sentence2: string }[];
}

/** Answer of `POST /predict`. */
export interface PredictResponse {
  predictions: { probability: number; similar: boolean }[];
}

function schema(limits: PredictLimits) {
  const sentence = z
    .string({ error: 'must be a string' })
    .refine((s) => s.trim().length > 0, { message: 'must not be empty' })
    .refine((s) => s.length <= limits.maxTextLength, {
      message: `must be at most ${limits.maxTextLength} characters`,
    });
  return z.object(
    {
      pairs: z
        .array(z.object({ sentence1: sentence, sentence2: sentence }, { error: 'must be an object with sentence1 and sentence2' }), {
          error: 'must be an array of {"sentence1": "...", "sentence2": "..."}',
        })
        .min(1, { message: 'must hold at least one pair' })
        .max(limits.maxPairs, { message: `must hold at most ${limits.maxPairs} pairs per call; split the request` }),
    },
    { error: 'body must be a JSON object {"pairs": [...]}' },
  );
}

/**
 * `JSON.parse` that ignores a leading byte order mark, as RFC 8259 (section 8.1) lets
 * parsers do: some clients (PowerShell, .NET, Windows editors) send one.
 */
export function parseJsonText(text: string): unknown {
  return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
}

/**
 * Validates a `POST /predict` body (already a string or parsed JSON). Throws
 * {@link RequestError} naming every offending field, e.g. `pairs[2].sentence1: must not be empty`.
 *
 * @example
 * parsePredictRequest('{"pairs":[{"sentence1":"a","sentence2":"b"}]}');
 */
export function parsePredictRequest(body: unknown, limits: PredictLimits = DEFAULT_PREDICT_LIMITS): PredictRequest {
  let value = body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    try {
      value = parseJsonText(text);
    } catch (err) {
      throw new RequestError(`Request body is not valid JSON (${(err as Error).message}); send {"pairs": [{"sentence1": "...", "sentence2": "..."}]}.`, { cause: err });
    }
  }
  const parsed = schema(limits).safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length ? formatPath(i.path) : 'body'}: ${i.message}`);
    throw new RequestError(`Invalid request: ${problems.join('; ')}.`);
  }
  return parsed.data;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}
