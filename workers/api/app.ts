import { swaggerUI } from "@hono/swagger-ui";
import { OpenAPIHono } from "@hono/zod-openapi";
import { requestId } from "hono/request-id";
import { errorBody } from "../lib/errors";
import { registerV1AuthLogin } from "./auth/v1_auth_login";
import { registerV1AuthLogout } from "./auth/v1_auth_logout";
import { registerV1AuthRefresh } from "./auth/v1_auth_refresh";
import { registerV1AuthSignup } from "./auth/v1_auth_signup";
import { registerChatRoutes } from "./chat/routes";
import { registerFestivalRoutes } from "./festivals/routes";
import { registerV1Health } from "./health/v1_health";
import type { HonoEnv } from "./hono-env";
import { registerV1MeDelete } from "./me/v1_me_delete";
import { registerV1MeGet } from "./me/v1_me_get";
import { registerV1MePatch } from "./me/v1_me_patch";
import { notFound, onError } from "./middleware/errors";
import { init } from "./middleware/init";
import { registerNotificationRoutes } from "./notifications/routes";
import { registerReservationRoutes } from "./reservations/routes";
import { registerSalesRoutes } from "./sales/routes";

/** Routes share this factory so a zod failure anywhere answers the same 400 envelope. */
export function newRouter() {
  return new OpenAPIHono<HonoEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issues = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
      return c.json(
        errorBody(c.get("requestId"), "validation.failed", "The request is not valid", { issues }),
        400,
      );
    },
  });
}

export type App = ReturnType<typeof newRouter>;

export function createApp(): App {
  const app = newRouter();
  app.use("*", requestId({ headerName: "x-request-id" }));
  app.use("*", init());
  app.onError(onError);
  app.notFound(notFound);

  registerV1Health(app);
  registerV1AuthSignup(app);
  registerV1AuthLogin(app);
  registerV1AuthRefresh(app);
  registerV1AuthLogout(app);
  registerV1MeGet(app);
  registerV1MePatch(app);
  registerV1MeDelete(app);
  registerFestivalRoutes(app);
  registerReservationRoutes(app);
  registerSalesRoutes(app);
  registerChatRoutes(app);
  registerNotificationRoutes(app);

  app.doc31("/v1/openapi.json", {
    openapi: "3.1.0",
    info: { title: "somsom-party API", version: "1.0.0" },
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.get("/v1/docs", swaggerUI({ url: "/v1/openapi.json" }));
  return app;
}
