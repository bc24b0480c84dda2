import type { App } from "../router";
import { registerV1FestivalsQueueMeDelete } from "./v1_festivals_queue_me_delete";
import { registerV1FestivalsQueueMeEventsGet } from "./v1_festivals_queue_me_events_get";
import { registerV1FestivalsQueueMeGet } from "./v1_festivals_queue_me_get";
import { registerV1FestivalsQueuePost } from "./v1_festivals_queue_post";
import { registerV1FestivalsSalesGet } from "./v1_festivals_sales_get";
import { registerV1FestivalsSalesPatch } from "./v1_festivals_sales_patch";
import { registerV1FestivalsWaitlistMeDelete } from "./v1_festivals_waitlist_me_delete";
import { registerV1FestivalsWaitlistMeGet } from "./v1_festivals_waitlist_me_get";
import { registerV1FestivalsWaitlistPost } from "./v1_festivals_waitlist_post";

/** Sale-day flow control: the virtual waiting room (queue) and the waitlist of sold-out days. */
export function registerSalesRoutes(app: App) {
  registerV1FestivalsQueuePost(app);
  registerV1FestivalsQueueMeGet(app);
  registerV1FestivalsQueueMeEventsGet(app);
  registerV1FestivalsQueueMeDelete(app);
  registerV1FestivalsWaitlistPost(app);
  registerV1FestivalsWaitlistMeGet(app);
  registerV1FestivalsWaitlistMeDelete(app);
  registerV1FestivalsSalesGet(app);
  registerV1FestivalsSalesPatch(app);
}
