import { uniqueEmail } from "./fixtures";

/**
 * Request bodies built from the OpenAPI document itself, so a new route or field is walked by the
 * route-wide tests without anyone listing it. A sample fills every property (optional ones too) with
 * the schema's example or a value of its type and format, so each field can be spoiled alone while
 * the rest of the body stays well-formed: only then do the schema's cross-field rules run.
 */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  pattern?: string;
  example?: unknown;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

export type Components = Record<string, JsonSchema>;

const FORMATS: Record<string, () => string> = {
  date: () => "2026-10-03",
  "date-time": () => "2026-09-01T01:00:00Z",
  uri: () => "https://example.com/a.jpg",
};

export function sample(schema: JsonSchema, components: Components): unknown {
  if (schema.$ref) {
    const resolved = components[schema.$ref.replace("#/components/schemas/", "")];
    if (!resolved) throw new Error(`unresolved ${schema.$ref}`);
    return sample(resolved, components);
  }
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return sample(variants.find((v) => v.type !== "null") ?? {}, components);
  // A fresh address each time: a sign-up must not stop at "email taken" before the field under test.
  if (schema.format === "email") return uniqueEmail("walk");
  if (schema.example !== undefined) return schema.example;
  if (schema.enum?.length) return schema.enum[0];
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  switch (type) {
    case "object":
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([k, v]) => [k, sample(v, components)]),
      );
    case "array":
      return schema.items ? [sample(schema.items, components)] : [];
    case "string":
      if (typeof schema.default === "string") return schema.default;
      return FORMATS[schema.format ?? ""]?.() ?? "x".repeat(Math.max(schema.minLength ?? 0, 2));
    case "integer":
    case "number":
      return schema.minimum ?? (schema.exclusiveMinimum ?? 0) + 1;
    case "boolean":
      return true;
    default:
      return null;
  }
}

/** The path (keys and array indexes) of every string in a sample: the fields to spoil. */
export function stringPaths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (typeof value === "string") return [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringPaths(v, [...at, i]));
  if (value && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => stringPaths(v, [...at, k]));
  return [];
}

/** A deep copy of `body` with the value at `path` replaced. */
export function withValue(body: unknown, path: (string | number)[], value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  const copy = (Array.isArray(body) ? [...body] : { ...(body as object) }) as Record<
    string | number,
    unknown
  >;
  copy[head] = withValue(copy[head], rest, value);
  return copy;
}
