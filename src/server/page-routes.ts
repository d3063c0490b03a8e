import { parseJsonText } from './predict-request.ts';
import { z } from 'zod';
import { NotFoundError, RequestError } from '../errors.ts';
import type { ApiResponse } from './api-router.ts';
import { requireFeature, type PageBackend } from './page-backend.ts';
import { TRY_PAGE_HTML, TRY_PAGE_SCRIPT } from './try-page.ts';

/**
 * Headers of every page answer: nothing may load from elsewhere (no CDN, no external
 * request), scripts only from this server, no framing.
 */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Targets of the page's static files, which the request guard serves without the token. */
export const PUBLIC_PAGE_TARGETS: readonly string[] = ['/', '/try-page.js'];

const uploadBody = z.object({ name: z.string().min(1), content: z.string() });

function ok(contentType: string, body: string, statusCode = 200): ApiResponse {
  return { statusCode, headers: { ...PAGE_HEADERS, 'content-type': contentType }, body };
}

function json(value: unknown, statusCode = 200): ApiResponse {
  return ok('application/json', JSON.stringify(value), statusCode);
}

/**
 * The page to try the model (`GET /`, its script) and the JSON it reads besides the API:
 * `GET /model` (facts of the model in service), `GET /model/{picture}.svg`, and in store mode
 * `GET /runs` and `POST /datasets` (`{"name": "x.tsv", "content": "..."}`: stores the file
 * under `datasets/` and starts its run). Returns undefined for any other route, which the
 * API router then answers. Errors are thrown for the router to map (4xx / 500).
 */
export async function routePage(page: PageBackend, method: string, route: string, body: string | undefined): Promise<ApiResponse | undefined> {
  if (method === 'GET' && route === '/') return ok('text/html; charset=utf-8', page.listRuns ? TRY_PAGE_HTML.replace('<body>', '<body data-runs>') : TRY_PAGE_HTML);
  if (method === 'GET' && route === '/try-page.js') return ok('text/javascript; charset=utf-8', TRY_PAGE_SCRIPT);
  if (method === 'GET' && route === '/model') {
    const facts = await page.modelFacts();
    if (!facts) throw new NotFoundError('No model in service yet: train one (upload a dataset) and it appears here.');
    return json(facts);
  }
  const picture = /^\/model\/([\w-]+\.svg)$/.exec(route);
  if (method === 'GET' && picture) {
    const bytes = await page.modelPicture(picture[1]);
    if (!bytes) throw new NotFoundError(`The model in service has no ${picture[1]}.`);
    return ok('image/svg+xml', Buffer.from(bytes).toString('utf8'));
  }
  if (method === 'GET' && route === '/runs') return json({ runs: await requireFeature(page.listRuns, 'The list of runs')() });
  if (method === 'POST' && route === '/datasets') {
    const upload = requireFeature(page.uploadDataset, 'Uploading a dataset');
    let parsed: unknown;
    try {
      parsed = parseJsonText(body ?? '');
    } catch {
      throw new RequestError('Request body is not valid JSON; send {"name": "train.tsv", "content": "<the file\'s text>"}.');
    }
    const checked = uploadBody.safeParse(parsed);
    if (!checked.success) throw new RequestError('Send {"name": "train.tsv", "content": "<the file\'s text>"}: both are strings.');
    return json(await upload(checked.data.name, checked.data.content), 202);
  }
  return undefined;
}
