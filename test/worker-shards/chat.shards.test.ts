import { env, runDurableObjectAlarm, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { encodeIdentity, IDENTITY_HEADER } from "../../durable-objects/chat-room/contract/identity";
import type { ChatMessage } from "../../durable-objects/chat-room/contract/protocol";
import { shardStub } from "../../workers/api/chat/rooms";
import type { V1AdminChatRoomsGetResponse } from "../../workers/api/chat/v1_admin_chat_rooms_get";
import { ChatClient, chatFestival, join, stubOf } from "../worker/chat-helpers";
import { createAdmin } from "../worker/fixtures";

/**
 * Rooms past one object, through the public route only. This project's rooms hold one socket
 * themselves and two per shard (test/global-setup.ts), so a handful of members spans several objects.
 */
type Member = { id: number; token: string };

const ROOM_SOCKETS = Number(env.CHAT_ROOM_SOCKETS);
const SHARD_SOCKETS = Number(env.CHAT_SHARD_SOCKETS);

/** Every message a client received, from the welcome and from message frames, in arrival order. */
const received = (c: ChatClient): ChatMessage[] =>
  c.frames.flatMap((f) => (f.type === "welcome" ? f.messages : f.type === "message" ? [f] : []));

async function fanout(festivalId: number): Promise<V1AdminChatRoomsGetResponse> {
  const admin = await createAdmin();
  const res = await SELF.fetch(`http://somsom.test/v1/admin/chat/rooms/${festivalId}`, {
    headers: { authorization: `Bearer ${admin.token}` },
  });
  expect(res.status).toBe(200);
  return res.json();
}

/** Waits until every client holds messages 1..n; fails with what each one got instead. */
async function allReceived(clients: ChatClient[], n: number) {
  await Promise.all(clients.map((c) => c.waitType("message", (m) => m.seq === n).catch(() => undefined)));
  for (const c of clients) {
    const seqs = received(c).map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  }
}

describe("chat: a room past one object", () => {
  it("spreads sockets over shards and delivers every message to every socket once, in seq order", async () => {
    expect(ROOM_SOCKETS).toBeGreaterThan(0);
    const members = ROOM_SOCKETS + 3 * SHARD_SOCKETS + 1;
    const { festivalId, members: users } = await chatFestival(members);
    const clients: ChatClient[] = [];
    for (const u of users as Member[]) clients.push((await join(festivalId, u)).client);

    const view = await fanout(festivalId);
    expect(view.roomSockets).toBe(ROOM_SOCKETS);
    expect(view.shards.map((s) => s.sockets)).toEqual([SHARD_SOCKETS, SHARD_SOCKETS, SHARD_SOCKETS, 1]);

    // Everyone sends at once: the room orders them, every socket on every object sees that order.
    const perMember = 3;
    const acks = await Promise.all(
      clients.flatMap((c, i) => Array.from({ length: perMember }, (_, k) => c.say(`${i}번 ${k}`))),
    );
    expect(acks.every((a) => a.type === "ack")).toBe(true);
    await allReceived(clients, members * perMember);

    // The room wrote to its own socket and called each shard; it never wrote once per shard socket.
    const after = await fanout(festivalId);
    expect(after.messagesAccepted).toBe(members * perMember);
    expect(after.socketFramesSent).toBeLessThan(after.messagesAccepted * (ROOM_SOCKETS + 1) + members * 4);
    const shardFrames = after.shards.reduce((n, s) => n + s.socketFramesSent, 0);
    expect(shardFrames).toBeGreaterThanOrEqual(after.messagesAccepted * (members - ROOM_SOCKETS));
    await Promise.all(clients.map((c) => c.close()));
  });

  it("resumes gap-free when a client comes back on another shard", async () => {
    const { festivalId, members } = await chatFestival(4 + 2 * SHARD_SOCKETS);
    const [speaker, traveller, filler, ...rest] = members as Member[];
    // The room's own socket(s), then the traveller lands on shard 0.
    const { client: talk } = await join(festivalId, speaker as Member);
    for (let i = 1; i < ROOM_SOCKETS; i++) await join(festivalId, rest.pop() as Member);
    const first = await join(festivalId, traveller as Member);
    for (const text of ["하나", "둘", "셋"]) await talk.say(text);
    await first.client.waitType("message", (m) => m.seq === 3);
    await first.client.close();

    // Its place on shard 0 is taken (and the rest of shard 0 filled), so it comes back elsewhere.
    const fill = [await join(festivalId, filler as Member)];
    for (let i = 1; i < SHARD_SOCKETS; i++) fill.push(await join(festivalId, rest.pop() as Member));
    const before = await fanout(festivalId);
    expect(before.shards[0]?.sockets).toBe(SHARD_SOCKETS);

    for (const text of ["넷", "다섯"]) await talk.say(text);
    const back = await join(festivalId, traveller as Member, { after: 3 });
    expect(back.welcome).toMatchObject({ lastSeq: 5, resumed: true });
    expect(back.welcome.messages.map((m) => m.seq)).toEqual([4, 5]);
    const placed = await fanout(festivalId);
    expect(placed.shards.find((s) => s.shard === 1)?.sockets).toBe(1);

    await talk.say("여섯");
    await back.client.waitType("message", (m) => m.seq === 6);
    const seqs = [...received(first.client), ...received(back.client)].map((m) => m.seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
    await Promise.all([talk, back.client, ...fill.map((f) => f.client)].map((c) => c.close()));
  });

  it("carries presence and typing between objects, and a member's last socket leaving anywhere", async () => {
    const { festivalId, members } = await chatFestival(1 + ROOM_SOCKETS + SHARD_SOCKETS);
    const users = members as Member[];
    const clients: ChatClient[] = [];
    for (const u of users.slice(0, -1)) clients.push((await join(festivalId, u)).client);
    const local = clients[0] as ChatClient;
    const last = users.at(-1) as Member;
    // The last member lands on a shard; the room's own socket hears of it and vice versa.
    const { client: remote, welcome } = await join(festivalId, last);
    expect(welcome.online.map((u) => u.userId).sort()).toEqual(users.map((u) => u.id).sort());
    await local.waitType("presence", (p) => p.event === "joined" && p.userId === last.id);
    remote.send({ type: "typing" });
    await local.waitType("typing", (t) => t.userId === last.id);
    local.send({ type: "typing" });
    await remote.waitType("typing", (t) => t.userId === users[0]?.id);
    await remote.close();
    await local.waitType("presence", (p) => p.event === "left" && p.userId === last.id);
    await Promise.all(clients.map((c) => c.close()));
  });

  it("holds a previous Worker's socket in the room itself, however full: that Worker cannot follow a shard", async () => {
    const { festivalId, members } = await chatFestival(ROOM_SOCKETS + 2);
    const users = members as Member[];
    const clients: ChatClient[] = [];
    for (const u of users.slice(0, -1)) clients.push((await join(festivalId, u)).client);
    const old = users.at(-1) as Member;
    // The previous release's connect: no PLACES_SHARDS_HEADER (test/worker/chat.compat.test.ts has the rest).
    const res = await stubOf(festivalId).fetch("http://chat-room/connect", {
      headers: {
        upgrade: "websocket",
        [IDENTITY_HEADER]: encodeIdentity({
          festivalId,
          userId: old.id,
          nickname: "이전",
          role: "user",
          readSeq: 0,
        }),
      },
    });
    expect(res.status).toBe(101);
    const previous = new ChatClient(res.webSocket as WebSocket);
    await previous.waitType("welcome");
    expect((await fanout(festivalId)).roomSockets).toBe(ROOM_SOCKETS + 1);
    // It shares the room with the sockets on shards.
    await clients.at(-1)?.say("샤드에서");
    await previous.waitType("message", (m) => m.text === "샤드에서");
    await Promise.all([previous, ...clients].map((c) => c.close()));
  });

  it("forgets sockets a shard lost without close events at its next roster, also when it holds none", async () => {
    const { festivalId, members } = await chatFestival(ROOM_SOCKETS + 2);
    const users = members as Member[];
    const clients: ChatClient[] = [];
    for (const u of users.slice(0, ROOM_SOCKETS)) clients.push((await join(festivalId, u)).client);
    const watcher = clients[0] as ChatClient;
    // A socket on shard 0 (it learns which room and shard it is), gone again.
    const { client: visitor } = await join(festivalId, users[ROOM_SOCKETS] as Member);
    await visitor.close();
    // A socket the room admitted on shard 0 that the shard does not hold, as after a restart that
    // dropped its sockets without close events (a deploy).
    const ghost = users[ROOM_SOCKETS + 1] as Member;
    const admitted = await stubOf(festivalId).admit(0, {
      festivalId,
      userId: ghost.id,
      nickname: "유령",
      role: "user",
      readSeq: 0,
    });
    expect(admitted.ok).toBe(true);
    await watcher.waitType("presence", (p) => p.event === "joined" && p.userId === ghost.id);
    expect((await fanout(festivalId)).shards.map((s) => s.shard)).toEqual([0]);

    expect(await runDurableObjectAlarm(shardStub(festivalId, 0, env.CHAT_SHARD))).toBe(true);
    await watcher.waitType("presence", (p) => p.event === "left" && p.userId === ghost.id);
    expect((await fanout(festivalId)).shards).toEqual([]);
    await Promise.all(clients.map((c) => c.close()));
  });
});
