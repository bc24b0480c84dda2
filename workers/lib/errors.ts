import { z } from "@hono/zod-openapi";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** The one error envelope of DESIGN.md; every route lists it in its OpenAPI responses. */
export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "reservation.sold_out" }),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).optional(),
      requestId: z.string(),
    }),
  })
  .openapi("Error");

export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export interface AppErrorOptions {
  /** Machine-readable facts for the client, sent as `error.details`. */
  details?: Record<string, unknown>;
  /** Response headers, e.g. `Retry-After`. */
  headers?: Record<string, string>;
}

/** Thrown anywhere in a request; `app.onError` turns it into the error envelope. */
/** V8's knob for how many frames a new Error captures (workerd is V8; the types omit it). */
const V8Error = Error as ErrorConstructor & { stackTraceLimit: number };

export class AppError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(status: ContentfulStatusCode, code: string, message: string, options: AppErrorOptions = {}) {
    // No stack: an AppError is an answer (a 4xx, a 503), never logged with its trace, and capturing
    // one for each of a sale's thousands of 409s was a measurable share of the Worker's CPU.
    const limit = V8Error.stackTraceLimit;
    V8Error.stackTraceLimit = 0;
    super(message);
    V8Error.stackTraceLimit = limit;
    this.name = "AppError";
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export function errorBody(
  requestId: string,
  code: string,
  message: string,
  details?: Record<string, unknown>,
): ErrorBody {
  return { error: { code, message, ...(details ? { details } : {}), requestId } };
}

const DESCRIPTIONS = {
  400: "Invalid input",
  401: "Missing or invalid credentials",
  403: "Not allowed",
  404: "Not found",
  409: "Conflict",
  413: "Request body too large",
  422: "Business rule violated",
  426: "Upgrade required",
  429: "Too many requests",
  500: "Unexpected error",
  503: "A dependency is down or busy; retry after `Retry-After`",
} as const;

export type ErrorStatus = keyof typeof DESCRIPTIONS;

/** Codes any route can answer with these statuses: input checks, `app.onError`'s fallbacks. */
const COMMON_CODES: Partial<Record<ErrorStatus, readonly string[]>> = {
  400: ["validation.failed", "request.invalid"],
  413: ["request.too_large"],
  500: ["internal"],
  503: ["service.unavailable"],
};

const errorContent = (status: ErrorStatus, named: readonly string[]) => {
  const codes = [...new Set([...(COMMON_CODES[status] ?? []), ...named])];
  const list = codes.map((c) => `\`${c}\``).join(", ");
  return {
    description: codes.length ? `${DESCRIPTIONS[status]}. Codes: ${list}` : DESCRIPTIONS[status],
    content: { "application/json": { schema: ErrorBodySchema } },
  };
};

/**
 * A route's error responses for its OpenAPI document, spread into `responses`: the statuses it
 * answers, each a number or `[status, ...codes]` naming the `error.code`s clients can branch on,
 * plus the 500 and 503 that every route can answer, so the document never under-states errors.
 * E.g. `...errorResponses(400, ...AUTH_ERRORS, [409, "reservation.sold_out"])`.
 */
export function errorResponses<const S extends ErrorStatus>(...statuses: (S | readonly [S, ...string[]])[]) {
  const codes = new Map<ErrorStatus, string[]>();
  for (const entry of [...statuses, 500 as const, 503 as const]) {
    const [status, ...named] = typeof entry === "number" ? [entry] : entry;
    codes.set(status, [...(codes.get(status) ?? []), ...named]);
  }
  const out: Partial<Record<ErrorStatus, ReturnType<typeof errorContent>>> = {};
  for (const [status, named] of codes) out[status] = errorContent(status, named);
  return out as Record<S | 500 | 503, ReturnType<typeof errorContent>>;
}
