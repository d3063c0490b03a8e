import { RequestError } from '../errors.ts';

const BASE = 'http://localhost';

/**
 * The path of an HTTP request target (`req.url`), or a {@link RequestError} (400) for one the
 * API does not serve: anything but an origin-form path (`/predict?x=1`), so no `//host`,
 * `http://...`, `*`, or a path that a URL parser would read as naming another host.
 *
 * @example
 * requestPath('/runs/r1?verbose=1'); // '/runs/r1'
 * requestPath('//x:65536');          // throws RequestError
 */
export function requestPath(target: string | undefined): string {
  const raw = target ?? '';
  const shown = JSON.stringify(raw.length > 60 ? `${raw.slice(0, 59)}…` : raw);
  if (!raw.startsWith('/') || raw.startsWith('//')) {
    throw new RequestError(`Request target ${shown} is not a path; send e.g. POST /predict.`);
  }
  let url: URL;
  try {
    url = new URL(raw, BASE);
  } catch (err) {
    throw new RequestError(`Request target ${shown} is not a valid URL path.`, { cause: err });
  }
  // `/\host/...` and the like parse as another authority in WHATWG URLs: refuse them too.
  if (url.origin !== BASE) throw new RequestError(`Request target ${shown} names a host; send a plain path such as /predict.`);
  return url.pathname;
}
