/** Finding the status monitor in a `202 Accepted`: the pure reader lives in protocol/ (the gateway follows upstreams
 * with it too); this is its face for a fetch `Response`. */
import { discoverOperation as discover, type Operation } from '../protocol/operation-discovery.js';

export { learnLinks, linkRelations, parseJson, type Convention, type Operation } from '../protocol/operation-discovery.js';

/** The operation a `202 Accepted` describes, or undefined when it names no monitor (nothing to poll). */
export function discoverOperation(res: Response, bodyText: string, requestUrl: string): Operation | undefined {
  return discover(res.headers, bodyText, res.url || requestUrl);
}
