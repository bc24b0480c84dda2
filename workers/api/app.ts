import { swaggerUI } from "@hono/swagger-ui";
import { requestId } from "hono/request-id";
import { registerV1AuthLogin } from "./auth/v1_auth_login";
import { registerV1AuthLogout } from "./auth/v1_auth_logout";
import { registerV1AuthRefresh } from "./auth/v1_auth_refresh";
import { registerV1AuthSignup } from "./auth/v1_auth_signup";
import { registerV1FestivalsStaffDelete } from "./auth/v1_festivals_staff_delete";
import { registerV1FestivalsStaffPut } from "./auth/v1_festivals_staff_put";
import { registerChatRoutes } from "./chat/routes";
import { registerFestivalRoutes } from "./festivals/routes";
import { registerV1Health } from "./health/v1_health";
import { registerV1MeDelete } from "./me/v1_me_delete";
import { registerV1MeGet } from "./me/v1_me_get";
import { registerV1MePasswordPut } from "./me/v1_me_password_put";
import { registerV1MePatch } from "./me/v1_me_patch";
import { bodyChecks, documentBodyLimit } from "./middleware/body";
import { corsFromAllowlist } from "./middleware/cors";
import { notFound, onError } from "./middleware/errors";
import { init } from "./middleware/init";
import { DOCS_PATH, noStore, securityHeaders } from "./middleware/secure-headers";
import { registerNotificationRoutes } from "./notifications/routes";
import { registerReservationRoutes } from "./reservations/routes";
import { type App, newRouter } from "./router";
import { registerSalesRoutes } from "./sales/routes";

/** The document's header; `local/openapi.ts` writes the same document to a file without a server. */
export const OPENAPI_CONFIG = {
  openapi: "3.1.0",
  info: {
    title: "somsom-party API",
    version: "1.0.0",
    description:
      "Festival reservations and real-time chat. Every error is the `Error` envelope; each response names its `error.code`s.",
  },
  // Relative, so generated clients and Swagger UI call whichever deployment served the document.
  servers: [{ url: "/", description: "This deployment" }],
} satisfies Parameters<App["getOpenAPI31Document"]>[0];

export function createApp(): App {
  const app = newRouter();
  app.use("*", requestId({ headerName: "x-request-id" }));
  app.use("*", init());
  // Before any route: a preflight is answered here, and error answers carry the CORS headers too.
  app.use("*", corsFromAllowlist());
  app.use("*", securityHeaders());
  app.use("*", bodyChecks());
  for (const path of ["/v1/auth/signup", "/v1/auth/login", "/v1/auth/refresh", "/v1/me/password"])
    app.use(path, noStore());
  app.onError(onError);
  app.notFound(notFound);

  registerV1Health(app);
  registerV1AuthSignup(app);
  registerV1AuthLogin(app);
  registerV1AuthRefresh(app);
  registerV1AuthLogout(app);
  registerV1FestivalsStaffPut(app);
  registerV1FestivalsStaffDelete(app);
  registerV1MeGet(app);
  registerV1MePatch(app);
  registerV1MeDelete(app);
  registerV1MePasswordPut(app);
  registerFestivalRoutes(app);
  registerReservationRoutes(app);
  registerSalesRoutes(app);
  registerChatRoutes(app);
  registerNotificationRoutes(app);

  documentBodyLimit(app);
  app.doc31("/v1/openapi.json", OPENAPI_CONFIG);
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "The access token from /v1/auth/login, /v1/auth/signup or /v1/auth/refresh",
  });
  // Swagger UI's files are static assets copied from swagger-ui-dist at build time (web/vite.config.ts):
  // no CDN and no inline script, so the page works offline and under a strict CSP.
  app.get(
    DOCS_PATH,
    swaggerUI({
      url: "/v1/openapi.json",
      title: "somsom-party API",
      manuallySwaggerUIHtml: () =>
        '<div id="swagger-ui"></div><link rel="stylesheet" href="/vendor/swagger-ui/swagger-ui.css" />' +
        '<script src="/vendor/swagger-ui/swagger-ui-bundle.js"></script><script src="/vendor/swagger-ui/init.js"></script>',
    }),
  );
  return app;
}
