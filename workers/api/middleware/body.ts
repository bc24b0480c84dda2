import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { AppError, errorResponses } from "../../lib/errors";
import type { HonoEnv } from "../hono-env";
import type { App } from "../router";

/**
 * Every body this API takes is a small JSON document (the largest, a festival at its field limits,
 * is ~20 KiB of Korean text and under 40 KiB with every character \u-escaped), so anything past
 * 64 KiB is refused before it is read, parsed or hashed: parallel 90 MB bodies could otherwise
 * exhaust the isolate's memory.
 */
export const MAX_BODY_BYTES = 64 * 1024;

const limit = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new AppError(413, "request.too_large", `The request body is larger than ${MAX_BODY_BYTES} bytes`, {
      details: { maxBytes: MAX_BODY_BYTES },
    });
  },
});

// JSON can spell half a UTF-16 surrogate pair (\ud800) that no UTF-8 text can hold: stored, it
// becomes U+FFFD in a text column and a failed insert in a JSON one. Only such escapes can make one.
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /\p{Cs}/u;

function hasLoneSurrogate(text: string): boolean {
  if (!SURROGATE_ESCAPE.test(text)) return false;
  let found = false;
  try {
    JSON.parse(text, (key, value) => {
      if (LONE_SURROGATE.test(key) || (typeof value === "string" && LONE_SURROGATE.test(value))) found = true;
      return value;
    });
  } catch {
    return false; // not JSON: the route's validator answers that
  }
  return found;
}

/** The size limit, then (for JSON) text that is well-formed Unicode, for every route at once. */
export const bodyChecks = () =>
  createMiddleware<HonoEnv>((c, next) =>
    limit(c, async () => {
      if (c.req.raw.body && /json/i.test(c.req.header("content-type") ?? "")) {
        if (hasLoneSurrogate(await c.req.text())) {
          throw new AppError(400, "validation.failed", "The request is not valid", {
            details: {
              issues: [{ path: "", message: "Text must be well-formed Unicode (no lone surrogates)" }],
            },
          });
        }
      }
      await next();
    }),
  );

/** Every operation that takes a body can answer the 413: the document says so once, here. */
export function documentBodyLimit(app: App) {
  const tooLarge = errorResponses(413)[413];
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type === "route" && def.route.request?.body) def.route.responses[413] = tooLarge;
  }
}
