/**
 * A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) as plain data. The shapes asyncgate answers with are
 * described this way next to the code that builds them; http/openapi.ts puts them in the OpenAPI document.
 */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** A header field (or a query parameter) as the OpenAPI document describes it. */
export interface FieldDoc {
  description: string;
  schema: JsonSchema;
  required?: boolean;
  /** Named examples of the value. */
  examples?: Readonly<Record<string, string>>;
}
