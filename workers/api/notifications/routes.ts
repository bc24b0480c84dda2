import type { App } from "../router";
import { registerV1MeDevicesDelete } from "./v1_me_devices_delete";
import { registerV1MeDevicesGet } from "./v1_me_devices_get";
import { registerV1MeDevicesPost } from "./v1_me_devices_post";
import { registerV1MeNotificationsGet } from "./v1_me_notifications_get";
import { registerV1MeNotificationsReadAllPost } from "./v1_me_notifications_read_all_post";
import { registerV1MeNotificationsReadPost } from "./v1_me_notifications_read_post";
import { registerV1MeNotificationsUnreadCountGet } from "./v1_me_notifications_unread_count_get";
// Registers the festival and account-deletion hooks at module load.
import "./events";

export function registerNotificationRoutes(app: App) {
  registerV1MeNotificationsGet(app);
  registerV1MeNotificationsUnreadCountGet(app);
  registerV1MeNotificationsReadAllPost(app);
  registerV1MeNotificationsReadPost(app);
  registerV1MeDevicesGet(app);
  registerV1MeDevicesPost(app);
  registerV1MeDevicesDelete(app);
}
