import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  type ChatIdentity,
  encodeIdentity,
  IDENTITY_HEADER,
} from "../../durable-objects/chat-room/contract/identity";
import { CLOSE } from "../../durable-objects/chat-room/contract/protocol";
import { RECHECK_MS } from "../../durable-objects/chat-room/membership";
import { ACCESS_TOKEN_TTL_SECONDS, issueAccessToken } from "../../workers/api/auth/tokens";
import { joinChatRoom } from "../../workers/api/chat/rooms";
import { chatMembers } from "../../workers/db/schema/chat";
import { users } from "../../workers/db/schema/users";
import { chatFestival, join, services, stubOf } from "./chat-helpers";
import { createAdminUser } from "./fixtures";
import { api } from "./helpers";

type Member = { id: number; token: string };

/** A token that expires `inMs` from now (the room closes its socket then). */
async function tokenExpiringIn(user: { id: number }, inMs: number) {
  return issueAccessToken(
    { id: user.id, role: "user" },
    env.JWT_SECRET,
    Date.now() - ACCESS_TOKEN_TTL_SECONDS * 1000 + inMs,
  );
}

/**
 * Time passes for the room's membership re-check: the sockets' last check is moved back by
 * RECHECK_MS (the room's clock cannot be moved), then the room's alarm runs.
 */
async function recheckNow(festivalId: number) {
  await runInDurableObject(stubOf(festivalId), (_room, state) => {
    for (const ws of state.getWebSockets()) {
      const att = ws.deserializeAttachment() as { checkedAt?: number };
      ws.serializeAttachment({ ...att, checkedAt: (att.checkedAt ?? Date.now()) - RECHECK_MS - 1 });
    }
  });
  await runDurableObjectAlarm(stubOf(festivalId));
}

/** The Worker's connect as it reaches the room, with a check that started at `checkedAt`. */
function connectChecked(festivalId: number, user: Member, extra: Partial<ChatIdentity>) {
  const identity = encodeIdentity({
    festivalId,
    userId: user.id,
    nickname: "관객",
    role: "user",
    readSeq: 0,
    ...extra,
  });
  return stubOf(festivalId).fetch("https://chat-room.internal/connect", {
    headers: { upgrade: "websocket", [IDENTITY_HEADER]: identity },
  });
}

describe("chat: sockets are re-checked after connect", () => {
  it("closes a socket with 4001 when its token expires, and refuses its frames from then on", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [a, b] = members as [Member, Member];
    const shortA = await tokenExpiringIn(a, 4000);
    const shortB = await tokenExpiringIn(b, 4000);
    const { client: talker } = await join(festivalId, { token: shortA.token });
    const { client: idle } = await join(festivalId, { token: shortB.token });
    await new Promise((r) => setTimeout(r, Math.max(0, shortA.expiresAt.getTime() - Date.now()) + 50));
    // A frame after the expiry closes its socket at once…
    talker.send({ type: "typing" });
    expect(await talker.closedBy()).toEqual(CLOSE.tokenExpired);
    // …and an idle socket closes at the room's next wake-up (an alarm set when it connected).
    expect(await runDurableObjectAlarm(stubOf(festivalId))).toBe(true);
    expect(await idle.closedBy()).toEqual(CLOSE.tokenExpired);
    // A fresh token reconnects.
    const again = await join(festivalId, a);
    await again.client.close();
  });

  it("closes the sockets of a logged-out token at once (4002), and only those", async () => {
    const { festivalId, members } = await chatFestival(1);
    const me = members[0] as Member;
    const phone = await join(festivalId, me);
    const other = await issueAccessToken({ id: me.id, role: "user" }, env.JWT_SECRET);
    const laptop = await join(festivalId, { token: other.token });
    expect((await api("POST", "/v1/auth/logout", { token: me.token })).status).toBe(204);
    expect(await phone.client.closedBy()).toEqual(CLOSE.sessionRevoked);
    expect(await laptop.client.say("still here")).toMatchObject({ type: "ack" });
    await laptop.client.close();
  });

  it("closes every socket of a user whose sessions were all revoked (logout everywhere), in every room", async () => {
    const { festivalId: roomA, members } = await chatFestival(1);
    const me = members[0] as Member;
    const { festivalId: roomB } = await chatFestival(0);
    await joinChatRoom(services(), roomB, me.id);
    const inA = await join(roomA, me);
    const other = await issueAccessToken({ id: me.id, role: "user" }, env.JWT_SECRET);
    const inB = await join(roomB, { token: other.token });
    const res = await api("POST", "/v1/auth/logout", { token: me.token, body: { everywhere: true } });
    expect(res.status).toBe(204);
    expect(await inA.client.closedBy()).toEqual(CLOSE.sessionRevoked);
    expect(await inB.client.closedBy()).toEqual(CLOSE.sessionRevoked);
  });

  it("refuses a connect whose check raced a leave or a logout the room already heard of", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [leaver, loggedOut] = members as [Member, Member];
    const checkedAt = Date.now();
    // The Worker checked membership at `checkedAt`; the leave lands before its upgrade does.
    expect(
      (await api("DELETE", `/v1/festivals/${festivalId}/chat/members/me`, { token: leaver.token })).status,
    ).toBe(204);
    const late = await connectChecked(festivalId, leaver, {
      checkedAt,
      exp: Math.floor(Date.now() / 1000) + 600,
    });
    expect(late.status).toBe(403);
    expect(late.webSocket).toBeNull();
    expect(await late.json()).toMatchObject({ code: "chat.not_member" });

    const jti = crypto.randomUUID();
    await stubOf(festivalId).revoke(loggedOut.id, jti);
    const revoked = await connectChecked(festivalId, loggedOut, {
      checkedAt,
      jti,
      exp: Math.floor(Date.now() / 1000) + 600,
    });
    expect(revoked.status).toBe(401);
    // Another token of the same user, or a check made after the logout, still connects.
    const otherToken = await connectChecked(festivalId, loggedOut, {
      checkedAt,
      jti: "another",
      exp: Math.floor(Date.now() / 1000) + 600,
    });
    expect(otherToken.status).toBe(101);
    otherToken.webSocket?.accept();
    otherToken.webSocket?.close(1000);
  });

  it("closes a left member's socket even when the room was never told (4003, presence left)", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [gone, stays] = members as [Member, Member];
    const { client: goneClient } = await join(festivalId, gone);
    const { client: watcher } = await join(festivalId, stays);
    // The membership row is deleted, and the Worker dies before it calls memberLeft.
    await services()
      .db.delete(chatMembers)
      .where(and(eq(chatMembers.festivalId, festivalId), eq(chatMembers.userId, gone.id)));
    await recheckNow(festivalId);
    expect(await goneClient.closedBy()).toEqual(CLOSE.left);
    await watcher.waitType("presence", (f) => f.event === "left" && f.userId === gone.id);
    expect(watcher.closed).toBeUndefined();
    await watcher.close();
  });

  it("closes a demoted admin's socket in a room they are no member of", async () => {
    const { festivalId } = await chatFestival(0);
    const admin = await createAdminUser();
    const stillAdmin = await createAdminUser();
    const { client } = await join(festivalId, admin);
    const { client: other } = await join(festivalId, stillAdmin);
    await services().db.update(users).set({ role: "user" }).where(eq(users.id, admin.id));
    await recheckNow(festivalId);
    expect(await client.closedBy()).toEqual(CLOSE.left);
    expect(await other.say("여전히 운영자")).toMatchObject({ type: "ack" });
    await other.close();
  });
});
