// How a message family declares its apis, and how families compose into one map. Invariant: an api name belongs
// to exactly one family (composeFamilies throws on a duplicate), so a frame's `api` names one schema pair.
import type { z } from 'zod';

/** A request/response api: the body schemas of both directions. */
export interface RequestApiSpec {
  request: z.ZodType;
  response: z.ZodType;
}

/** A one-way api: a pushed 'event' frame and its body schema. */
export interface EventApiSpec {
  event: z.ZodType;
}

export type ApiSpec = RequestApiSpec | EventApiSpec;

export type ApiMap = Readonly<Record<string, ApiSpec>>;

/** Names of the request/response apis of a map. */
export type RequestApiName<M extends ApiMap> = {
  [K in keyof M & string]: M[K] extends RequestApiSpec ? K : never;
}[keyof M & string];

/** Names of the event apis of a map. */
export type EventApiName<M extends ApiMap> = {
  [K in keyof M & string]: M[K] extends EventApiSpec ? K : never;
}[keyof M & string];

type RequestSchema<M extends ApiMap, K extends RequestApiName<M>> = M[K] extends RequestApiSpec ? M[K]['request'] : never;
type ResponseSchema<M extends ApiMap, K extends RequestApiName<M>> = M[K] extends RequestApiSpec ? M[K]['response'] : never;
type EventSchema<M extends ApiMap, K extends EventApiName<M>> = M[K] extends EventApiSpec ? M[K]['event'] : never;

/** What a caller passes as a request body (before defaults and transforms). */
export type RequestIn<M extends ApiMap, K extends RequestApiName<M>> = z.input<RequestSchema<M, K>>;
/** A request body as a handler sees it, validated. */
export type RequestOut<M extends ApiMap, K extends RequestApiName<M>> = z.output<RequestSchema<M, K>>;
/** What a handler returns. */
export type ResponseIn<M extends ApiMap, K extends RequestApiName<M>> = z.input<ResponseSchema<M, K>>;
/** A response body as the requester receives it, validated. */
export type ResponseOut<M extends ApiMap, K extends RequestApiName<M>> = z.output<ResponseSchema<M, K>>;
export type EventIn<M extends ApiMap, K extends EventApiName<M>> = z.input<EventSchema<M, K>>;
export type EventOut<M extends ApiMap, K extends EventApiName<M>> = z.output<EventSchema<M, K>>;

type Merge<T extends readonly ApiMap[]> = T extends readonly [infer Head extends ApiMap, ...infer Rest extends readonly ApiMap[]]
  ? Head & Merge<Rest>
  : Record<never, never>;

export function isRequestApi(spec: ApiSpec): spec is RequestApiSpec {
  return 'request' in spec;
}

/** Joins families into one api map; an api declared twice is a programming error and throws. */
export function composeFamilies<const T extends readonly ApiMap[]>(...families: T): Merge<T> {
  const map: Record<string, ApiSpec> = {};
  for (const family of families) {
    for (const [api, spec] of Object.entries(family)) {
      if (Object.hasOwn(map, api)) throw new Error(`wire: api ${api} is declared by two families`);
      map[api] = spec;
    }
  }
  return Object.freeze(map) as Merge<T>;
}
