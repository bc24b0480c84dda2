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

/** Thrown anywhere in a request; `app.onError` turns it into the error envelope. */
export class AppError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    details?: Record<string, unknown>,
    headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "AppError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
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

const errorContent = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorBodySchema } },
});

/** Spread into a route's `responses` so the OpenAPI document lists the errors too. */
export const errorResponses = {
  400: errorContent("Invalid input"),
  401: errorContent("Missing or invalid credentials"),
  403: errorContent("Not allowed"),
  404: errorContent("Not found"),
  409: errorContent("Conflict"),
  422: errorContent("Business rule violated"),
  429: errorContent("Too many requests"),
  500: errorContent("Unexpected error"),
  503: errorContent("A dependency is down"),
} as const;
