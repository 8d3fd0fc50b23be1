/**
 * EXT /api/v1/groups: create, list (cursor paging), get (weak ETag, 304), patch (If-Match),
 * delete (409 while a key is scoped to the group); every bad input a 422 naming its field;
 * unknown and other accounts' ids 404; send keys 403; a deleted provider leaves its groups;
 * group-scoped API keys only for groups of the key's own account.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { createProvider } from "../helpers/providers.ts";

setDefaultTimeout(30_000);

let g: TestGateway;
let p1: string;
let p2: string;
let p3: string;

beforeAll(async () => {
  g = await startTestGateway();
  p1 = await createProvider(g, { type: "capture", name: "groups api one" });
  p2 = await createProvider(g, { type: "capture", name: "groups api two" });
  p3 = await createProvider(g, { type: "capture", name: "groups api three" });
});
afterAll(async () => {
  await g?.stop();
});

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const fields = (r: { json: any }) => (r.json?.error?.errors ?? []).map((e: { field: string }) => e.field);

async function newGroup(body: Record<string, unknown>): Promise<any> {
  const r = await g.api("POST", "/api/v1/groups", body);
  if (r.status !== 201) throw new Error(`creating a group failed: ${r.status} ${r.text}`);
  return r.json.data;
}

async function deleteGroup(id: string): Promise<void> {
  const r = await g.api("DELETE", `/api/v1/groups/${id}`);
  expect(r.status).toBe(200);
}

describe("create and read", () => {
  test("POST returns the group with its members; GET one and the listing show the same", async () => {
    const r = await g.api("POST", "/api/v1/groups", { name: "transactional", members: [{ provider_id: p1 }, { provider_id: p2, percentage: 30 }] });
    expect(r.status).toBe(201);
    expect(r.json.ok).toBe(true);
    expect(r.json.meta.request_id).toBe(r.headers.get("x-request-id"));
    const d = r.json.data;
    expect(Object.keys(d).sort()).toEqual(["created_at", "id", "members", "name", "updated_at"]);
    expect(d.id).toMatch(/^grp_[a-z0-9]{24}$/);
    expect(r.headers.get("location")).toBe(`/api/v1/groups/${d.id}`);
    expect(d.name).toBe("transactional");
    expect(d.members).toEqual([
      { provider_id: p1, percentage: null },
      { provider_id: p2, percentage: 30 },
    ]);
    expect(Date.parse(d.created_at)).not.toBeNaN();
    expect(d.updated_at).toBe(d.created_at);

    const one = await g.api("GET", `/api/v1/groups/${d.id}`);
    expect(one.status).toBe(200);
    expect(one.json.data).toEqual(d);
    const list = await g.api("GET", "/api/v1/groups");
    expect(list.status).toBe(200);
    expect(list.json.data).toContainEqual(d);
    // As the Management API document's CursorPagination: no next page, no next_cursor (never null).
    expect(list.json.pagination).toEqual({ has_more: false });
    await deleteGroup(d.id);
  });

  test("members may be left out (an empty group) and a provider may carry a 0 override", async () => {
    const empty = await newGroup({ name: "later" });
    expect(empty.members).toEqual([]);
    const zero = await newGroup({ name: "zero", members: [{ provider_id: p3, percentage: 0 }] });
    expect(zero.members).toEqual([{ provider_id: p3, percentage: 0 }]);
    const nul = await g.api("PATCH", `/api/v1/groups/${zero.id}`, { members: [{ provider_id: p3, percentage: null }] });
    expect(nul.json.data.members).toEqual([{ provider_id: p3, percentage: null }]);
    await deleteGroup(empty.id);
    await deleteGroup(zero.id);
  });

  test("GET one has a weak ETag; If-None-Match with it answers 304; a change moves it", async () => {
    const grp = await newGroup({ name: "etag", members: [{ provider_id: p1 }] });
    const a = await g.api("GET", `/api/v1/groups/${grp.id}`);
    const tag = a.headers.get("etag")!;
    expect(tag).toMatch(/^W\/".+"$/);
    const again = await g.api("GET", `/api/v1/groups/${grp.id}`, undefined, { "if-none-match": tag });
    expect(again.status).toBe(304);
    expect(again.text).toBe("");
    expect(again.headers.get("etag")).toBe(tag);
    await g.api("PATCH", `/api/v1/groups/${grp.id}`, { name: "etag renamed" });
    const after = await g.api("GET", `/api/v1/groups/${grp.id}`, undefined, { "if-none-match": tag });
    expect(after.status).toBe(200);
    expect(after.json.data.name).toBe("etag renamed");
    expect(after.headers.get("etag")).not.toBe(tag);
    await deleteGroup(grp.id);
  });

  test("the listing pages with a stable cursor; a group created meanwhile shifts no page", async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await newGroup({ name: `page ${i}` })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await g.api("GET", `/api/v1/groups?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(r.status).toBe(200);
      expect(r.json.data.length).toBeLessThanOrEqual(2);
      seen.push(...r.json.data.map((x: { id: string }) => x.id));
      cursor = r.json.pagination.next_cursor ?? null;
      expect(r.json.pagination.has_more).toBe(cursor !== null);
      if (pages === 0) made.push((await newGroup({ name: "page late" })).id);
      pages++;
    } while (cursor);
    // Groups made in the same millisecond are ordered by id, so compare as sets: each exactly once.
    expect(seen.length).toBe(made.length);
    expect([...seen].sort()).toEqual([...made].sort());
    expect(seen.at(-1)).toBe(made.at(-1)!);
    expect(pages).toBe(3);
    for (const [q, param] of [["limit=0", "limit"], ["limit=101", "limit"], ["limit=x", "limit"], ["cursor=nonsense!", "cursor"], ["cursor=Zm9v", "cursor"]]) {
      const r = await g.api("GET", `/api/v1/groups?${q}`);
      expect(`${q} ${r.status} ${r.json.error.param}`).toBe(`${q} 400 ${param}`);
    }
    for (const id of made) await deleteGroup(id);
  });
});

describe("bad input", () => {
  const cases: Array<[string, () => unknown, string]> = [
    ["missing name", () => ({ members: [] }), "name"],
    ["empty name", () => ({ name: "" }), "name"],
    ["name of 256 characters", () => ({ name: "x".repeat(256) }), "name"],
    ["name not a string", () => ({ name: 7 }), "name"],
    ["name with a line break", () => ({ name: "a\r\nb" }), "name"],
    ["unknown field", () => ({ name: "x", providers: [p1] }), "providers"],
    ["members not a list", () => ({ name: "x", members: { provider_id: p1 } }), "members"],
    ["a member that is not an object", () => ({ name: "x", members: [p1] }), "members.0"],
    ["a member without provider_id", () => ({ name: "x", members: [{ percentage: 5 }] }), "members.0.provider_id"],
    ["provider_id not a string", () => ({ name: "x", members: [{ provider_id: 12 }] }), "members.0.provider_id"],
    ["an unknown provider", () => ({ name: "x", members: [{ provider_id: p1 }, { provider_id: "dprov_000000000000000000000000" }] }), "members.1.provider_id"],
    ["a provider twice", () => ({ name: "x", members: [{ provider_id: p1 }, { provider_id: p2 }, { provider_id: p1 }] }), "members.2.provider_id"],
    ["a negative percentage", () => ({ name: "x", members: [{ provider_id: p1, percentage: -1 }] }), "members.0.percentage"],
    ["a fractional percentage", () => ({ name: "x", members: [{ provider_id: p1, percentage: 2.5 }] }), "members.0.percentage"],
    ["a percentage as a string", () => ({ name: "x", members: [{ provider_id: p1, percentage: "10" }] }), "members.0.percentage"],
    ["an unknown member field", () => ({ name: "x", members: [{ provider_id: p1, weight: 3 }] }), "members.0.weight"],
  ];
  for (const [label, body, field] of cases) {
    test(`create: ${label} → 422 naming ${field}`, async () => {
      const before = (await g.api("GET", "/api/v1/groups")).json.data.length;
      const r = await g.api("POST", "/api/v1/groups", body());
      expect(r.status).toBe(422);
      expect(r.json.ok).toBe(false);
      expect(r.json.error.code).toBe("validation_error");
      expect(r.json.error.retryable).toBe(false);
      expect(fields(r)).toContain(field);
      expect(r.json.error.message).toContain(field);
      expect((await g.api("GET", "/api/v1/groups")).json.data.length).toBe(before);
    });
  }

  test("every failing field is listed at once", async () => {
    const r = await g.api("POST", "/api/v1/groups", { name: "", members: [{ provider_id: "nope", percentage: -3 }, { provider_id: p1, percentage: 1.5 }], colour: "red" });
    expect(r.status).toBe(422);
    expect(fields(r).sort()).toEqual(["colour", "members.0.percentage", "members.0.provider_id", "members.1.percentage", "name"]);
  });

  test("PATCH: bad fields are 422 and change nothing; an empty PATCH is 422", async () => {
    const grp = await newGroup({ name: "patch target", members: [{ provider_id: p1, percentage: 4 }] });
    for (const [body, field] of [
      [{ name: "" }, "name"],
      [{ members: [{ provider_id: p1, percentage: -1 }] }, "members.0.percentage"],
      [{ members: [{ provider_id: p2 }, { provider_id: p2 }] }, "members.1.provider_id"],
      [{ id: "grp_x" }, "id"],
    ] as const) {
      const r = await g.api("PATCH", `/api/v1/groups/${grp.id}`, body);
      expect(r.status).toBe(422);
      expect(fields(r)).toContain(field);
    }
    const empty = await g.api("PATCH", `/api/v1/groups/${grp.id}`, {});
    expect(empty.status).toBe(422);
    expect(empty.json.error.code).toBe("validation_error");
    expect(empty.json.error.message).toContain("nothing to change");
    expect((await g.api("GET", `/api/v1/groups/${grp.id}`)).json.data).toEqual(grp);
    await deleteGroup(grp.id);
  });

  test("unparseable or non-object bodies are 400", async () => {
    for (const method of ["POST", "PATCH"]) {
      const grp = method === "PATCH" ? await newGroup({ name: "parse" }) : null;
      const path = grp ? `/api/v1/groups/${grp.id}` : "/api/v1/groups";
      for (const raw of ["{", "[]", "", "\"name\""]) {
        const r = await g.api(method, path, raw, { "content-type": "application/json" });
        expect(`${method} ${JSON.stringify(raw)} ${r.status} ${r.json.error.code}`).toBe(`${method} ${JSON.stringify(raw)} 400 invalid_parameter`);
      }
      if (grp) await deleteGroup(grp.id);
    }
  });
});

describe("groups never share a provider", () => {
  test("a provider already in one group is refused in another (create and PATCH), naming that group", async () => {
    const a = await newGroup({ name: "owner", members: [{ provider_id: p1 }] });
    const r = await g.api("POST", "/api/v1/groups", { name: "thief", members: [{ provider_id: p2 }, { provider_id: p1 }] });
    expect(r.status).toBe(422);
    expect(fields(r)).toEqual(["members.1.provider_id"]);
    expect(r.json.error.message).toContain(a.id);
    const b = await newGroup({ name: "neighbour", members: [{ provider_id: p2 }] });
    const p = await g.api("PATCH", `/api/v1/groups/${b.id}`, { members: [{ provider_id: p2 }, { provider_id: p1 }] });
    expect(p.status).toBe(422);
    expect(fields(p)).toEqual(["members.1.provider_id"]);
    // A group may keep its own members on PATCH, and a provider freed from one group may join another.
    expect((await g.api("PATCH", `/api/v1/groups/${a.id}`, { name: "owner renamed", members: [{ provider_id: p1, percentage: 2 }] })).status).toBe(200);
    expect((await g.api("PATCH", `/api/v1/groups/${a.id}`, { members: [] })).status).toBe(200);
    const moved = await g.api("PATCH", `/api/v1/groups/${b.id}`, { members: [{ provider_id: p2 }, { provider_id: p1 }] });
    expect(moved.status).toBe(200);
    expect(moved.json.data.members.map((m: { provider_id: string }) => m.provider_id)).toEqual([p2, p1]);
    await deleteGroup(a.id);
    await deleteGroup(b.id);
  });
});

describe("update", () => {
  test("PATCH changes the name and replaces the member list; updated_at moves, created_at stays", async () => {
    const grp = await newGroup({ name: "before", members: [{ provider_id: p1 }] });
    await Bun.sleep(5);
    const r = await g.api("PATCH", `/api/v1/groups/${grp.id}`, { name: "after", members: [{ provider_id: p2, percentage: 9 }, { provider_id: p3 }] });
    expect(r.status).toBe(200);
    expect(r.json.data).toMatchObject({ id: grp.id, name: "after", created_at: grp.created_at, members: [{ provider_id: p2, percentage: 9 }, { provider_id: p3, percentage: null }] });
    expect(r.json.data.updated_at > grp.updated_at).toBe(true);
    const nameOnly = await g.api("PATCH", `/api/v1/groups/${grp.id}`, { name: "after again" });
    expect(nameOnly.json.data.members).toEqual(r.json.data.members);
    await deleteGroup(grp.id);
  });

  test("If-Match: the current ETag or * applies the change; a stale one is 409 and changes nothing", async () => {
    const grp = await newGroup({ name: "if-match" });
    const tag = (await g.api("GET", `/api/v1/groups/${grp.id}`)).headers.get("etag")!;
    expect((await g.api("PATCH", `/api/v1/groups/${grp.id}`, { name: "v2" }, { "if-match": tag })).status).toBe(200);
    const stale = await g.api("PATCH", `/api/v1/groups/${grp.id}`, { name: "v3" }, { "if-match": tag });
    expect(stale.status).toBe(409);
    expect(stale.json.error.code).toBe("conflict");
    expect((await g.api("PATCH", `/api/v1/groups/${grp.id}`, { name: "v4" }, { "if-match": "*" })).status).toBe(200);
    expect((await g.api("GET", `/api/v1/groups/${grp.id}`)).json.data.name).toBe("v4");
    await deleteGroup(grp.id);
  });
});

describe("delete", () => {
  test("DELETE removes the group; a second DELETE and a GET are 404", async () => {
    const grp = await newGroup({ name: "short lived", members: [{ provider_id: p1 }] });
    const d = await g.api("DELETE", `/api/v1/groups/${grp.id}`);
    expect(d.status).toBe(200);
    expect(d.json.data).toEqual({ id: grp.id, deleted: true });
    expect((await g.api("GET", `/api/v1/groups/${grp.id}`)).status).toBe(404);
    expect((await g.api("DELETE", `/api/v1/groups/${grp.id}`)).status).toBe(404);
    expect((await g.api("GET", "/api/v1/groups")).json.data.map((x: { id: string }) => x.id)).not.toContain(grp.id);
    // Its provider is free to join another group now.
    const next = await newGroup({ name: "heir", members: [{ provider_id: p1 }] });
    await deleteGroup(next.id);
  });

  test("a group some key is scoped to is not deleted: 409 naming every such key; after revoking them it is", async () => {
    const grp = await newGroup({ name: "in use", members: [{ provider_id: p1 }] });
    const k1 = await g.api("POST", "/api/v1/api-keys", { name: "bulk sender", scope: { type: "group", group: grp.id } });
    const k2 = await g.api("POST", "/api/v1/api-keys", { name: "bulk admin", permission: "full", scope: { type: "group", group: grp.id } });
    expect(k1.status).toBe(201);
    expect(k2.status).toBe(201);
    const r = await g.api("DELETE", `/api/v1/groups/${grp.id}`);
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe("conflict");
    expect(r.json.error.retryable).toBe(false);
    for (const k of [k1, k2]) {
      expect(r.json.error.message).toContain(k.json.data.id);
      expect(r.json.error.message).toContain(k.json.data.name);
    }
    expect((await g.api("GET", `/api/v1/groups/${grp.id}`)).status).toBe(200);
    await g.api("DELETE", `/api/v1/api-keys/${k1.json.data.id}`);
    const still = await g.api("DELETE", `/api/v1/groups/${grp.id}`);
    expect(still.status).toBe(409);
    expect(still.json.error.message).not.toContain(k1.json.data.id);
    expect(still.json.error.message).toContain(k2.json.data.id);
    await g.api("DELETE", `/api/v1/api-keys/${k2.json.data.id}`);
    await deleteGroup(grp.id);
  });

  test("deleting a provider removes it from its group", async () => {
    const doomed = await createProvider(g, { type: "capture", name: "doomed" });
    const grp = await newGroup({ name: "loses one", members: [{ provider_id: p3, percentage: 1 }, { provider_id: doomed, percentage: 5 }] });
    expect((await g.api("DELETE", `/api/v1/providers/${doomed}`)).status).toBe(200);
    const after = await g.api("GET", `/api/v1/groups/${grp.id}`);
    expect(after.json.data.members).toEqual([{ provider_id: p3, percentage: 1 }]);
    await deleteGroup(grp.id);
  });
});

describe("permissions and accounts", () => {
  test("a send key gets 403 on every group endpoint; nothing changes", async () => {
    const grp = await newGroup({ name: "guarded", members: [{ provider_id: p1 }] });
    const k = await g.api("POST", "/api/v1/api-keys", { name: "sender", permission: "send" });
    const t = k.json.data.token as string;
    const calls: Array<[string, string, unknown?]> = [
      ["GET", "/api/v1/groups"],
      ["POST", "/api/v1/groups", { name: "nope" }],
      ["GET", `/api/v1/groups/${grp.id}`],
      ["PATCH", `/api/v1/groups/${grp.id}`, { name: "nope" }],
      ["DELETE", `/api/v1/groups/${grp.id}`],
    ];
    for (const [method, path, body] of calls) {
      const r = await g.api(method, path, body, bearer(t));
      expect(`${method} ${path} ${r.status} ${r.json.error.code}`).toBe(`${method} ${path} 403 insufficient_permissions`);
    }
    expect((await g.api("GET", `/api/v1/groups/${grp.id}`)).json.data).toEqual(grp);
    expect((await g.api("GET", "/api/v1/groups")).json.data.map((x: { name: string }) => x.name)).not.toContain("nope");
    const noKey = await fetch(`${g.base}/api/v1/groups`);
    expect(noKey.status).toBe(401);
    await g.api("DELETE", `/api/v1/api-keys/${k.json.data.id}`);
    await deleteGroup(grp.id);
  });

  test("unknown ids and another account's groups are 404; another account's providers cannot be members", async () => {
    const zero = "grp_000000000000000000000000";
    for (const [method, body] of [["GET"], ["PATCH", { name: "x" }], ["DELETE"]] as const) {
      const r = await g.api(method, `/api/v1/groups/${zero}`, body);
      expect(`${method} ${r.status} ${r.json.error.code}`).toBe(`${method} 404 not_found`);
    }
    const gw = g.running.gw;
    const other = await gw.accounts.create("other", null);
    const theirProvider = await gw.providers.create(other.id, { type: "capture", name: "theirs" }, null);
    const theirGroup = await gw.groups.create(other.id, { name: "theirs", members: [{ provider_id: theirProvider.id, percentage: null }] });
    for (const [method, body] of [["GET"], ["PATCH", { name: "mine now" }], ["DELETE"]] as const) {
      const r = await g.api(method, `/api/v1/groups/${theirGroup.id}`, body);
      expect(`${method} ${r.status}`).toBe(`${method} 404`);
    }
    expect((await gw.groups.get(other.id, theirGroup.id))!.name).toBe("theirs");
    expect((await g.api("GET", "/api/v1/groups")).json.data.map((x: { id: string }) => x.id)).not.toContain(theirGroup.id);
    const r = await g.api("POST", "/api/v1/groups", { name: "borrow", members: [{ provider_id: theirProvider.id }] });
    expect(r.status).toBe(422);
    expect(fields(r)).toEqual(["members.0.provider_id"]);

    // A key scoped to another account's group, or to a group that does not exist, is refused.
    for (const group of [theirGroup.id, zero]) {
      const k = await g.api("POST", "/api/v1/api-keys", { name: "cross", scope: { type: "group", group } });
      expect(k.status).toBe(422);
      expect(fields(k)).toEqual(["scope.group"]);
      expect(k.json.error.message).toContain("scope.group");
    }
  });
});

describe("group-scoped API keys", () => {
  test("created with scope {type: group, group}; shown back as given", async () => {
    const grp = await newGroup({ name: "keyed", members: [{ provider_id: p2 }] });
    const k = await g.api("POST", "/api/v1/api-keys", { name: "group key", scope: { type: "group", group: grp.id } });
    expect(k.status).toBe(201);
    expect(k.json.data.scope).toEqual({ type: "group", group: grp.id });
    expect((await g.api("GET", `/api/v1/api-keys/${k.json.data.id}`)).json.data.scope).toEqual({ type: "group", group: grp.id });
    await g.api("DELETE", `/api/v1/api-keys/${k.json.data.id}`);
    await deleteGroup(grp.id);
  });

  const bad: Array<[string, unknown, string]> = [
    ["without group", { type: "group" }, "scope.group"],
    ["group not a string", { type: "group", group: 5 }, "scope.group"],
    ["with providers too", { type: "group", group: "grp_000000000000000000000000", providers: [] }, "scope.providers"],
  ];
  for (const [label, scope, field] of bad) {
    test(`group scope ${label} → 422 naming ${field}`, async () => {
      const r = await g.api("POST", "/api/v1/api-keys", { name: "bad scope", scope });
      expect(r.status).toBe(422);
      expect(r.json.error.code).toBe("validation_error");
      expect(fields(r)).toContain(field);
    });
  }
});
