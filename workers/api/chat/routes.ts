import type { App } from "../router";
import { registerV1AdminChatPersistenceGet } from "./v1_admin_chat_persistence_get";
import { registerV1FestivalsChatGet } from "./v1_festivals_chat_get";
import { registerV1FestivalsChatMembersMeDelete } from "./v1_festivals_chat_members_me_delete";
import { registerV1FestivalsChatMembersPost } from "./v1_festivals_chat_members_post";
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
}
