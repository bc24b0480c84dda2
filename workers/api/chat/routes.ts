import type { App } from "../router";
import { registerV1AdminChatPersistenceGet } from "./v1_admin_chat_persistence_get";
import { registerV1AdminChatRoomsGet } from "./v1_admin_chat_rooms_get";
import { registerV1FestivalsChatAnnouncementsPost } from "./v1_festivals_chat_announcements_post";
import { registerV1FestivalsChatBansDelete } from "./v1_festivals_chat_bans_delete";
import { registerV1FestivalsChatBansPut } from "./v1_festivals_chat_bans_put";
import { registerV1FestivalsChatGet } from "./v1_festivals_chat_get";
import { registerV1FestivalsChatMembersMeDelete } from "./v1_festivals_chat_members_me_delete";
import { registerV1FestivalsChatMembersPost } from "./v1_festivals_chat_members_post";
import { registerV1FestivalsChatMessagesDelete } from "./v1_festivals_chat_messages_delete";
import { registerV1FestivalsChatMessagesReportsPost } from "./v1_festivals_chat_messages_reports_post";
import { registerV1FestivalsChatMutesDelete } from "./v1_festivals_chat_mutes_delete";
import { registerV1FestivalsChatMutesPut } from "./v1_festivals_chat_mutes_put";
import { registerV1FestivalsChatPinnedGet } from "./v1_festivals_chat_pinned_get";
import { registerV1FestivalsChatReportsGet } from "./v1_festivals_chat_reports_get";
import { registerV1FestivalsChatSlowModePut } from "./v1_festivals_chat_slow_mode_put";
import { registerV1FestivalsMessagesGet } from "./v1_festivals_messages_get";
import { registerV1MeChatRoomsGet } from "./v1_me_chat_rooms_get";
// rooms.ts registers the account-deleted hook at module load; the routes above import it.

export function registerChatRoutes(app: App) {
  registerV1FestivalsChatGet(app);
  registerV1FestivalsChatMembersPost(app);
  registerV1FestivalsChatMembersMeDelete(app);
  registerV1MeChatRoomsGet(app);
  registerV1FestivalsMessagesGet(app);
  registerV1AdminChatPersistenceGet(app);
  registerV1AdminChatRoomsGet(app);
  registerV1FestivalsChatMessagesDelete(app);
  registerV1FestivalsChatMessagesReportsPost(app);
  registerV1FestivalsChatReportsGet(app);
  registerV1FestivalsChatMutesPut(app);
  registerV1FestivalsChatMutesDelete(app);
  registerV1FestivalsChatBansPut(app);
  registerV1FestivalsChatBansDelete(app);
  registerV1FestivalsChatSlowModePut(app);
  registerV1FestivalsChatAnnouncementsPost(app);
  registerV1FestivalsChatPinnedGet(app);
}
