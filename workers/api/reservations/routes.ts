import type { App } from "../router";
import { registerV1AdminReservationsCancel } from "./v1_admin_reservations_cancel";
import { registerV1FestivalsCheckInsPost } from "./v1_festivals_check_ins_post";
import { registerV1FestivalsReservationsGet } from "./v1_festivals_reservations_get";
import { registerV1FestivalsReservationsPost } from "./v1_festivals_reservations_post";
import { registerV1MeReservationsGet } from "./v1_me_reservations_get";
import { registerV1ReservationsCancel } from "./v1_reservations_cancel";
import { registerV1ReservationsGet } from "./v1_reservations_get";
// Registers the festival-cancelled and account-deleted hooks at module load.
import "./cancel";

export function registerReservationRoutes(app: App) {
  registerV1FestivalsReservationsPost(app);
  registerV1FestivalsReservationsGet(app);
  registerV1FestivalsCheckInsPost(app);
  registerV1MeReservationsGet(app);
  registerV1ReservationsGet(app);
  registerV1ReservationsCancel(app);
  registerV1AdminReservationsCancel(app);
}
