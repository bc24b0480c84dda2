import { env } from "cloudflare:test";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { encodeIdentity, IDENTITY_HEADER } from "../../durable-objects/chat-room/contract/identity";
import { CLOSE } from "../../durable-objects/chat-room/contract/protocol";
import { issueAccessToken } from "../../workers/api/auth/tokens";
import { DELETED_NICKNAME } from "../../workers/api/me/service";
import { chatFestival, connect, join } from "./chat-helpers";
import { createAdminUser, createUsers, PASSWORD } from "./fixtures";
import { type ApiError, api } from "./helpers";

async function refusal(festivalId: number, token: string | undefined, opts?: Parameters<typeof connect>[2]) {
  const { res, client } = await connect(festivalId, token, opts);
  expect(client).toBeUndefined();
  return { status: res.status, body: (await res.json()) as ApiError };
}

describe("chat: who may connect", () => {
  it("refuses the upgrade without a token or with a bad one (401)", async () => {
    const { festivalId, members } = await chatFestival(1);
    const member = members[0] as { id: number; token: string };
    expect(await refusal(festivalId, undefined)).toMatchObject({ status: 401 });
    expect(await refusal(festivalId, "not-a-jwt")).toMatchObject({ status: 401 });
    expect(await refusal(festivalId, "not-a-jwt", { via: "protocol" })).toMatchObject({ status: 401 });
    const forged = await sign(
      {
        sub: String(member.id),
        role: "admin",
        jti: "x",
        iat: 1,
        exp: 4102444800,
        iss: "somsom-party",
        typ: "access",
      },
      "another-secret",
      "HS256",
    );
    expect(await refusal(festivalId, forged)).toMatchObject({ status: 401 });
    const expired = await issueAccessToken(
      { id: member.id, role: "user" },
      env.JWT_SECRET,
      Date.now() - 3600_000,
    );
    expect(await refusal(festivalId, expired.token)).toMatchObject({ status: 401 });
  });

  it("refuses a logged-out token", async () => {
    const { festivalId, members } = await chatFestival(1);
    const member = members[0] as { token: string };
    expect((await api("POST", "/v1/auth/logout", { token: member.token })).status).toBe(204);
    expect(await refusal(festivalId, member.token)).toMatchObject({ status: 401 });
  });

  it("refuses non-members (403) but lets admins in", async () => {
    const { festivalId } = await chatFestival(1);
    const [stranger] = await createUsers(1);
    const refused = await refusal(festivalId, stranger?.token);
    expect(refused).toMatchObject({ status: 403, body: { error: { code: "chat.not_member" } } });
    const admin = await createAdminUser();
    const { client, welcome } = await join(festivalId, admin);
    expect(welcome.roomId).toBe(String(festivalId));
    await client.close();
  });

  it("answers 404 for a festival without a room, 400 for a foreign subprotocol", async () => {
    const { members } = await chatFestival(1);
    const member = members[0] as { token: string };
    expect(await refusal(987_654_321, member.token)).toMatchObject({
      status: 404,
      body: { error: { code: "chat.room_not_found" } },
    });
    const { festivalId } = await chatFestival(0);
    const foreign = await refusal(festivalId, member.token, {
      headers: { "Sec-WebSocket-Protocol": "graphql-ws" },
    });
    expect(foreign).toMatchObject({ status: 400, body: { error: { code: "chat.protocol_required" } } });
  });

  it("ignores an identity header sent by the client: the room trusts only the Worker", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [me, victim] = members as [{ id: number; token: string }, { id: number; token: string }];
    const spoof = encodeIdentity({
      festivalId,
      userId: victim.id,
      nickname: "victim",
      role: "admin",
      readSeq: 0,
    });
    const { client } = await connect(festivalId, me.token, { headers: { [IDENTITY_HEADER]: spoof } });
    if (!client) throw new Error("upgrade refused");
    expect(await client.say("who am I?")).toMatchObject({ type: "ack", seq: 1 });
    const message = await client.waitType("message");
    expect(message.userId).toBe(me.id);
    await client.close();
  });

  it("stores hostile text verbatim (bound parameters) and keeps working", async () => {
    const { festivalId, members } = await chatFestival(1);
    const { client } = await join(festivalId, members[0] as { token: string });
    const hostile = `'); DROP TABLE messages; -- " <script>alert(1)</script>`;
    await client.say(hostile);
    await client.say("after");
    await client.close();
    const again = await join(festivalId, members[0] as { token: string });
    expect(again.welcome.messages.map((m) => m.text)).toEqual([hostile, "after"]);
    await again.client.close();
  });

  it("closes a deleted account's sockets and anonymises its messages in the room", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [gone, stays] = members as [{ id: number; token: string }, { id: number; token: string }];
    const { client } = await join(festivalId, gone);
    await client.say("bye");
    expect((await api("DELETE", "/v1/me", { token: gone.token, body: { password: PASSWORD } })).status).toBe(
      204,
    );
    // Deletion ends every session first: the revocation closes the socket before the leave does.
    await expect.poll(() => client.closed).toEqual(CLOSE.sessionRevoked);
    const other = await join(festivalId, stays);
    expect(other.welcome.messages).toEqual([
      expect.objectContaining({ userId: gone.id, nickname: DELETED_NICKNAME, text: "bye" }),
    ]);
    await other.client.close();
  });
});
