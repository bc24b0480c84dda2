import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ChatRoom } from "../../durable-objects/chat-room";
import { decodeIdentity, encodeIdentity } from "../../durable-objects/chat-room/contract/identity";
import { ChatClient, chatFestival, join } from "./chat-helpers";
import type { SeededUser } from "./fixtures";

/**
 * During a gradual deployment a Durable Object runs one version while the Worker calling it may run
 * the other (Cloudflare pins each object to one version per deployment; Worker requests are split by
 * percentage). So the current ChatRoom must keep answering the previous release's Worker, and the
 * previous object must understand what the current Worker sends.
 *
 * PREVIOUS is that release's side of the contract (e25fb08:durable-objects/chat-room/contract/),
 * frozen as the values it puts on the wire, never imported: the contract files move on, an old
 * Worker does not. Refresh it from `git show <last release>:durable-objects/chat-room/contract/` at
 * each release (only ever the previous one: two consecutive versions are what can meet).
 */
const PREVIOUS = {
  /** How the previous Worker named a room's object (workers/api/chat/rooms.ts roomStub). */
  objectName: (festivalId: number) => `festival:${festivalId}`,
  identityHeader: "x-somsom-chat-identity",
  /** Its ChatIdentity: these fields, no others. */
  identity: (festivalId: number, user: { id: number }) => ({
    festivalId,
    userId: user.id,
    nickname: `previous-${user.id}`,
    role: "user" as const,
    readSeq: 0,
    protocol: "somsom.chat.v1",
  }),
  encodeIdentity: (identity: object) => encodeURIComponent(JSON.stringify(identity)),
  /** The previous object's decodeIdentity, which reads the fields above and ignores the rest. */
  decodeIdentity: (value: string) => JSON.parse(decodeURIComponent(value)) as Record<string, unknown>,
} as const;

const roomOf = (festivalId: number) => {
  const rooms = env.CHAT_ROOM as DurableObjectNamespace<ChatRoom>;
  return rooms.get(rooms.idFromName(PREVIOUS.objectName(festivalId)));
};

/** The upgrade exactly as the previous Worker built it after its token and membership checks. */
async function connectAsPreviousWorker(festivalId: number, user: { id: number }) {
  const res = await roomOf(festivalId).fetch("http://chat-room/connect", {
    headers: {
      upgrade: "websocket",
      [PREVIOUS.identityHeader]: PREVIOUS.encodeIdentity(PREVIOUS.identity(festivalId, user)),
    },
  });
  if (!res.webSocket)
    throw new Error(`the room refused the previous Worker: ${res.status} ${await res.text()}`);
  return { res, client: new ChatClient(res.webSocket) };
}

describe("chat: the current room keeps the previous release's contract", () => {
  it("accepts the previous Worker's upgrade and answers the welcome that Worker's clients read", async () => {
    const { festivalId, members } = await chatFestival(1);
    const member = members[0] as { id: number };
    const { res, client } = await connectAsPreviousWorker(festivalId, member);
    expect(res.status).toBe(101);
    expect(res.headers.get("sec-websocket-protocol")).toBe("somsom.chat.v1");
    const welcome = await client.waitType("welcome");
    expect(welcome).toMatchObject({
      roomId: String(festivalId),
      lastSeq: 0,
      readSeq: 0,
      online: [{ userId: member.id, nickname: `previous-${member.id}` }],
      messages: [],
    });
    await client.close();
  });

  it("takes the previous client frames (send, read, typing, resume) from a socket the previous Worker opened", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [old, current] = members as [SeededUser, SeededUser];
    const { client: oldClient } = await connectAsPreviousWorker(festivalId, old);
    await oldClient.waitType("welcome");
    // A member who came through the current Worker shares the room with the previous Worker's socket.
    const { client: newClient } = await join(festivalId, current);

    expect(await oldClient.say("from the previous Worker", "prev-1")).toEqual({
      type: "ack",
      clientMsgId: "prev-1",
      seq: 1,
    });
    const seen = await newClient.waitType("message", (m) => m.seq === 1);
    expect(seen).toMatchObject({
      userId: old.id,
      nickname: `previous-${old.id}`,
      text: "from the previous Worker",
    });
    // A retry of the same clientMsgId is acked with the first seq, not stored twice.
    expect(await oldClient.say("from the previous Worker", "prev-1")).toMatchObject({ type: "ack", seq: 1 });

    expect(await newClient.say("from the current Worker")).toMatchObject({ type: "ack", seq: 2 });
    await oldClient.waitType("message", (m) => m.seq === 2 && m.userId === current.id);

    const before = oldClient.frames.length;
    oldClient.send({ type: "read", seq: 2 });
    oldClient.send({ type: "typing" });
    await newClient.waitType("typing", (t) => t.userId === old.id);
    oldClient.send({ type: "resume", afterSeq: 0 });
    await oldClient.waitFor((f) => f.type === "message" && f.seq === 2, { from: before });
    const replayed = oldClient.frames.slice(before).filter((f) => f.type === "message");
    expect(replayed.map((m) => (m.type === "message" ? m.seq : 0))).toEqual([1, 2]);
    expect(oldClient.frames.slice(before).filter((f) => f.type === "error")).toEqual([]);

    await oldClient.close();
    await newClient.close();
  });

  it("answers the RPCs the previous Worker and consumer call, with their old arguments and shapes", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [leaver, stays] = members as [SeededUser, SeededUser];
    const { client: leaving } = await connectAsPreviousWorker(festivalId, leaver);
    const { client: staying } = await connectAsPreviousWorker(festivalId, stays);
    await leaving.say("one");
    await leaving.say("two");
    const room = roomOf(festivalId);

    // history(before, limit) → { items newest first, heldFrom }: the previous history route merges on these.
    const tail = await room.history(Number.MAX_SAFE_INTEGER, 10);
    expect(tail.items.map((m) => m.seq)).toEqual([2, 1]);
    expect(tail.items[0]).toMatchObject({ userId: leaver.id, text: "two", id: expect.any(String) });
    expect(tail.heldFrom).toBe(1);

    // markPersisted(seq) from the previous consumer: a seq past the last one is clamped, not trusted.
    await room.markPersisted(99);
    expect((await room.history(Number.MAX_SAFE_INTEGER, 10)).items.map((m) => m.seq)).toEqual([2, 1]);

    // memberLeft(userId, anonymizeAs) closes that member's sockets (4003) and tells the others.
    await room.memberLeft(leaver.id, "탈퇴한 사용자");
    await expect.poll(() => leaving.closed?.code).toBe(4003);
    await staying.waitType("presence", (p) => p.event === "left" && p.userId === leaver.id);
    expect((await room.history(Number.MAX_SAFE_INTEGER, 10)).items[0]?.nickname).toBe("탈퇴한 사용자");
    await staying.close();
  });

  it("sends the previous object an identity it can read: the current Worker only adds optional fields", () => {
    const current = {
      ...PREVIOUS.identity(7, { id: 42 }),
      exp: 2_000_000_000,
      jti: "j",
      checkedAt: 1,
      after: 3,
    };
    const header = encodeIdentity(current);
    const asPreviousReadsIt = PREVIOUS.decodeIdentity(header);
    for (const [field, value] of Object.entries(PREVIOUS.identity(7, { id: 42 }))) {
      expect(asPreviousReadsIt[field], field).toEqual(value);
    }
    // And the other way round: the previous header is a complete identity for the current room.
    const previousHeader = PREVIOUS.encodeIdentity(PREVIOUS.identity(7, { id: 42 }));
    expect(decodeIdentity(previousHeader)).toMatchObject(PREVIOUS.identity(7, { id: 42 }));
  });
});
