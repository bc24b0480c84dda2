import type { App } from "../router";
import { registerV1FestivalsCancel } from "./v1_festivals_cancel";
import { registerV1FestivalsCreate } from "./v1_festivals_create";
import { registerV1FestivalsGet } from "./v1_festivals_get";
import { registerV1FestivalsList } from "./v1_festivals_list";
import { registerV1FestivalsUpdate } from "./v1_festivals_update";

export function registerFestivalRoutes(app: App) {
  registerV1FestivalsList(app);
  registerV1FestivalsGet(app);
  registerV1FestivalsCreate(app);
  registerV1FestivalsUpdate(app);
  registerV1FestivalsCancel(app);
}
