import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { PING_FRAME, PONG_FRAME } from "../../durable-objects/chat-room/contract/protocol";
import {
  type ChatUnreadEvent,
  unreadEventsKey,
} from "../../durable-objects/chat-room/contract/unread-events";
import type { V1MeChatRoomsGetResponse } from "../../workers/api/chat/v1_me_chat_rooms_get";
import { chatMembers, chatRooms } from "../../workers/db/schema/chat";
import { chatFestival, connect, eventually, join, services } from "./chat-helpers";
import { createAdminUser, createUsers } from "./fixtures";
import { api } from "./helpers";

const myRooms = (token: string) => api<V1MeChatRoomsGetResponse>("GET", "/v1/me/chat-rooms", { token });

describe("chat: live room", () => {
  it("lets two members exchange messages in one order, with acks, presence and typing", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [a, b] = members as [(typeof members)[0], (typeof members)[0]];
    const { client: alice, welcome } = await join(festivalId, a);
    expect(welcome).toMatchObject({ roomId: String(festivalId), lastSeq: 0, readSeq: 0, messages: [] });
    expect(welcome.online.map((u) => u.userId)).toEqual([a.id]);

    const { client: bob, welcome: bobWelcome } = await join(festivalId, b);
    expect(bobWelcome.online.map((u) => u.userId).sort()).toEqual([a.id, b.id].sort());
    await alice.waitType("presence", (f) => f.event === "joined" && f.userId === b.id);

    const ack1 = await alice.say("안녕하세요!");
    const ack2 = await bob.say("반가워요");
    const ack3 = await alice.say("  불꽃놀이 몇 시?  ");
    expect([ack1, ack2, ack3].map((f) => f.type === "ack" && f.seq)).toEqual([1, 2, 3]);

    for (const c of [alice, bob]) {
      await c.waitType("message", (m) => m.seq === 3);
      expect(c.messages().map((m) => [m.seq, m.userId, m.text])).toEqual([
        [1, a.id, "안녕하세요!"],
        [2, b.id, "반가워요"],
        [3, a.id, "불꽃놀이 몇 시?"],
      ]);
    }
    const first = alice.messages()[0];
    expect(first?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(first?.sentAt ?? "").toISOString()).toBe(first?.sentAt);

    bob.send({ type: "typing" });
    await alice.waitType("typing", (f) => f.userId === b.id);
    expect(bob.frames.some((f) => f.type === "typing")).toBe(false);

    await bob.close();
    await alice.waitType("presence", (f) => f.event === "left" && f.userId === b.id);
    await alice.close();
  });

  it("announces presence once per user, not per socket", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [a, b] = members as [(typeof members)[0], (typeof members)[0]];
    const { client: watcher } = await join(festivalId, a);
    const { client: phone } = await join(festivalId, b);
    const { client: laptop } = await join(festivalId, b);
    await phone.close();
    // Sent after the close above, so its arrival proves any presence frame for it came first.
    await laptop.say("still here");
    await watcher.waitType("message", (m) => m.text === "still here");
    const presence = watcher.frames.filter((f) => f.type === "presence");
    expect(presence.map((f) => f.type === "presence" && [f.event, f.userId])).toEqual([["joined", b.id]]);
    await laptop.close();
    await watcher.waitType("presence", (f) => f.event === "left" && f.userId === b.id);
    await watcher.close();
  });

  it("replays exactly the missed messages to a client that resumes", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [a, b] = members as [(typeof members)[0], (typeof members)[0]];
    const { client: alice } = await join(festivalId, a);
    const { client: bob } = await join(festivalId, b);
    await alice.say("one");
    await bob.waitType("message", (m) => m.seq === 1);
    await bob.close();
    for (const text of ["two", "three", "four"]) await alice.say(text);

    const { client: back } = await join(festivalId, b);
    back.send({ type: "resume", afterSeq: 1 });
    await back.waitType("message", (m) => m.seq === 4);
    expect(back.messages().map((m) => [m.seq, m.text])).toEqual([
      [2, "two"],
      [3, "three"],
      [4, "four"],
    ]);

    // Nothing missed: nothing replayed; the next live message is the only new frame.
    const from = back.frames.length;
    back.send({ type: "resume", afterSeq: 4 });
    await alice.say("five");
    await back.waitType("message", (m) => m.seq === 5, from);
    expect(back.frames.slice(from).map((f) => f.type)).toEqual(["message"]);
    await alice.close();
    await back.close();
  });

  it("lists my rooms with the last message, and unread counts that move as members read", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [a, b] = members as [(typeof members)[0], (typeof members)[0]];
    const { client: alice } = await join(festivalId, a);
    for (const text of ["하나", "둘", "셋"]) await alice.say(text);

    const bobView = await eventually(
      () => myRooms(b.token),
      (r) => r.body.items[0]?.lastSeq === 3,
      { flushRoom: festivalId },
    );
    expect(bobView.status).toBe(200);
    expect(bobView.body.items).toEqual([
      expect.objectContaining({
        roomId: String(festivalId),
        festivalId,
        name: expect.stringContaining("채팅 축제"),
        memberCount: 2,
        lastSeq: 3,
        readSeq: 0,
        unreadCount: 3,
        lastMessage: expect.objectContaining({ seq: 3, text: "셋", userId: a.id }),
      }),
    ]);
    // The sender has read what they wrote.
    const aliceView = await eventually(
      () => myRooms(a.token),
      (r) => r.body.items[0]?.readSeq === 3,
      { flushRoom: festivalId },
    );
    expect(aliceView.body.items[0]?.unreadCount).toBe(0);

    const { client: bob } = await join(festivalId, b);
    bob.send({ type: "read", seq: 2 });
    const afterRead = await eventually(
      () => myRooms(b.token),
      (r) => r.body.items[0]?.readSeq === 2,
      { flushRoom: festivalId },
    );
    expect(afterRead.body.items[0]).toMatchObject({ readSeq: 2, unreadCount: 1 });

    // Cursors never move back.
    bob.send({ type: "read", seq: 1 });
    bob.send({ type: "read", seq: 3 });
    const allRead = await eventually(
      () => myRooms(b.token),
      (r) => r.body.items[0]?.readSeq === 3,
      { flushRoom: festivalId },
    );
    expect(allRead.body.items[0]).toMatchObject({ readSeq: 3, unreadCount: 0 });
    const reconnect = await join(festivalId, b);
    expect(reconnect.welcome.readSeq).toBe(3);
    for (const c of [alice, bob, reconnect.client]) await c.close();
  });

  it("joins and leaves through the API; leaving closes the member's sockets", async () => {
    const { festivalId } = await chatFestival(0);
    const [user] = (await createUsers(1)) as [{ id: number; token: string }];
    expect((await connect(festivalId, user.token)).res.status).toBe(403);

    const joined = await api("POST", `/v1/festivals/${festivalId}/chat/members`, { token: user.token });
    expect(joined.status).toBe(204);
    expect(
      (await api("POST", `/v1/festivals/${festivalId}/chat/members`, { token: user.token })).status,
    ).toBe(204);
    const listed = await myRooms(user.token);
    expect(listed.body.items.map((r) => [r.festivalId, r.memberCount])).toEqual([[festivalId, 1]]);

    const { client } = await join(festivalId, user);
    const left = await api("DELETE", `/v1/festivals/${festivalId}/chat/members/me`, { token: user.token });
    expect(left.status).toBe(204);
    await expect.poll(() => client.closed?.code).toBe(4003);
    expect((await connect(festivalId, user.token)).res.status).toBe(403);
    expect((await myRooms(user.token)).body.items).toEqual([]);
    expect(
      (await api("DELETE", `/v1/festivals/${festivalId}/chat/members/me`, { token: user.token })).status,
    ).toBe(204);
  });

  it("counts members exactly when many join and leave one room at once", async () => {
    const { festivalId } = await chatFestival(0);
    const crowd = await createUsers(30);
    const joins = await Promise.all(
      crowd.map((u) => api("POST", `/v1/festivals/${festivalId}/chat/members`, { token: u.token })),
    );
    expect(joins.map((r) => r.status)).toEqual(crowd.map(() => 204));
    const leavers = crowd.slice(0, 10);
    const leaves = await Promise.all(
      [...leavers, ...leavers].map((u) =>
        api("DELETE", `/v1/festivals/${festivalId}/chat/members/me`, { token: u.token }),
      ),
    );
    expect(leaves.map((r) => r.status)).toEqual([...leavers, ...leavers].map(() => 204));
    const [room] = await services().db.select().from(chatRooms).where(eq(chatRooms.festivalId, festivalId));
    expect(room?.memberCount).toBe(20);
    expect((await myRooms(crowd[29]?.token ?? "")).body.items[0]?.memberCount).toBe(20);
  });

  it("starts a new member with the room's earlier messages read", async () => {
    const { festivalId } = await chatFestival(0);
    const admin = await createAdminUser();
    const { client: host } = await join(festivalId, admin);
    for (const text of ["공지 1", "공지 2"]) await host.say(text);
    await eventually(
      () => services().db.select().from(chatRooms).where(eq(chatRooms.festivalId, festivalId)),
      (rows) => rows[0]?.lastSeq === 2,
      { flushRoom: festivalId },
    );
    const [late] = (await createUsers(1)) as [{ id: number; token: string }];
    await api("POST", `/v1/festivals/${festivalId}/chat/members`, { token: late.token });
    expect((await myRooms(late.token)).body.items[0]).toMatchObject({
      lastSeq: 2,
      readSeq: 2,
      unreadCount: 0,
    });
    const { client, welcome } = await join(festivalId, late);
    expect(welcome).toMatchObject({ lastSeq: 2, readSeq: 2 });
    expect(welcome.messages.map((m) => m.text)).toEqual(["공지 1", "공지 2"]);
    await client.close();
    await host.close();
  });

  it("answers a keep-alive ping with a pong", async () => {
    const { festivalId, members } = await chatFestival(1);
    const { client } = await join(festivalId, members[0] as { token: string });
    client.ws.send(PING_FRAME);
    await client.waitFor((f) => JSON.stringify(f) === PONG_FRAME);
    await client.close();
  });

  it("accepts the token as a WebSocket subprotocol and selects the chat protocol", async () => {
    const { festivalId, members } = await chatFestival(1);
    const { res, client } = await connect(festivalId, members[0]?.token, { via: "protocol" });
    expect(res.status).toBe(101);
    expect(res.headers.get("sec-websocket-protocol")).toBe("somsom.chat.v1");
    await client?.waitType("welcome");
    await client?.close();
  });

  it("publishes one small event per flush naming the room and the seq range, whatever the room's size", async () => {
    const { festivalId, members } = await chatFestival(3);
    const [a, b] = members as [(typeof members)[0], (typeof members)[0]];
    // A big room: the event must not grow with it (a list of offline members was ~1.5 MB at 50k).
    const crowd = await createUsers(300);
    await services()
      .db.insert(chatMembers)
      .values(crowd.map((u) => ({ festivalId, userId: u.id, readSeq: 0 })));
    const { client: alice } = await join(festivalId, a);
    const { client: bob } = await join(festivalId, b);
    await alice.say("모두 모여!");
    const lines = await eventually(
      // Read without popping: the list is shared with other tests running meanwhile.
      async () =>
        (await services().redis.lrange(unreadEventsKey(services()), 0, -1)).filter(
          (line) => (JSON.parse(line) as ChatUnreadEvent).festivalId === festivalId,
        ),
      (list) => list.length > 0,
      { flushRoom: festivalId },
    );
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? "")).toEqual({
      roomId: String(festivalId),
      festivalId,
      fromSeq: 1,
      toSeq: 1,
      lastMessage: expect.objectContaining({ text: "모두 모여!" }),
      at: expect.any(String),
    });
    expect(lines[0]?.length).toBeLessThan(1024);
    await alice.close();
    await bob.close();
  });
});
