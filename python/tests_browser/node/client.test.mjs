// The browser client's session logic under Node's test runner: single
// flight within a tab and across tabs, the retry after token_expired, and
// every transition of the state machine at the top of client.js. The
// server is a scripted fetch with the host API's rotation rules (a spent
// refresh token is reuse and ends the session); real Chromium runs the
// whole flow against the real site (python/tests_browser).

import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import { TesseraClient } from "../../tessera/django/static/tessera/client.js";

const LIFETIME = 60; // seconds of an access token

// --- A server with the host API's token rules, and the browser around it.

function jwt(claims) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return `${b64({ alg: "HS256" })}.${b64(claims)}.sig`;
}

class Server {
  constructor() {
    this.clock = 1_000_000_000_000; // ms, shared with the clients
    this.cookie = null; // the browser profile's refresh cookie
    this.live = new Set(); // refresh tokens not yet spent
    this.spent = new Set();
    this.access = new Map(); // access token -> session
    this.revoked = new Set(); // ended sessions
    this.refreshes = 0;
    this.calls = [];
    this.failNext = null; // a function replacing the next API answer
    this.serial = 0;
  }

  now = () => this.clock;

  issue(session) {
    const iat = Math.floor(this.clock / 1000);
    const access = jwt({ sid: session, iat, exp: iat + LIFETIME, n: ++this.serial });
    const refresh = `refresh-${session}-${this.serial}`;
    this.access.set(access, session);
    this.live.add(refresh);
    this.cookie = refresh;
    return access;
  }

  signIn() {
    return this.issue(`s${++this.serial}`);
  }

  fetch = async (url, init = {}) => {
    // The browser attaches the cookie as it sends; the answer comes after a
    // turn of the event loop, like the network's.
    const cookie = this.cookie;
    await new Promise((resolve) => setTimeout(resolve, 1));
    const headers = new Headers(init.headers ?? {});
    this.calls.push({ url, auth: headers.get("Authorization"), mode: headers.get("X-Tessera-Refresh") });
    if (url === "/api/v1/auth/refresh/") return this.refresh(cookie);
    if (url === "/api/v1/auth/from-session/") return json(200, { tokens: { access: this.signIn() } });
    if (url === "/api/v1/auth/login/email/") {
      const { password } = JSON.parse(init.body);
      if (password !== "right") return error(401, "invalid_credentials");
      return json(200, { tokens: { access: this.signIn() } });
    }
    if (url === "/api/v1/auth/logout/" || url === "/api/v1/auth/logout-all/") {
      const session = this.access.get(bearer(headers));
      if (url.endsWith("logout-all/")) for (const s of this.access.values()) this.revoked.add(s);
      else if (session) this.revoked.add(session);
      this.cookie = null;
      return new Response(null, { status: 204 });
    }
    if (this.failNext) {
      const answer = this.failNext;
      this.failNext = null;
      return answer();
    }
    const token = bearer(headers);
    const session = this.access.get(token);
    if (!session) return error(401, token ? "token_invalid" : "not_authenticated");
    if (this.revoked.has(session)) return error(401, "token_revoked");
    if (this.clock / 1000 >= JSON.parse(Buffer.from(token.split(".")[1], "base64url")).exp) {
      return error(401, "token_expired");
    }
    return json(200, { ok: true, url });
  };

  refresh(presented = this.cookie) {
    this.refreshes += 1;
    if (presented === null) return error(400, "validation_error");
    const session = presented.split("-")[1];
    if (this.revoked.has(session)) return error(401, "token_revoked");
    if (this.spent.has(presented)) {
      this.revoked.add(session);
      return error(401, "refresh_reused");
    }
    this.live.delete(presented);
    this.spent.add(presented);
    return json(200, { access: this.issue(session) });
  }
}

function bearer(headers) {
  return (headers.get("Authorization") ?? "").replace(/^Bearer /, "") || null;
}

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function error(status, code) {
  return json(status, { error: { code, message: code } });
}

// Web Locks as the browser grants them: one holder per name, FIFO.
class Locks {
  #queues = new Map();
  async request(name, callback) {
    const previous = this.#queues.get(name) ?? Promise.resolve();
    let release;
    const mine = new Promise((resolve) => {
      release = resolve;
    });
    this.#queues.set(name, previous.then(() => mine));
    await previous;
    try {
      return await callback({ name });
    } finally {
      release();
    }
  }
}

// The epoch store as IndexedDB keeps it: consistent, answered asynchronously.
class Epochs {
  #value = null;
  async read() {
    await null;
    return this.#value && { ...this.#value };
  }
  async write(value) {
    await null;
    this.#value = { ...value };
  }
}

const open = [];
afterEach(() => {
  for (const client of open.splice(0)) client.close();
});

let channels = 0;

// Tabs of one browser profile: one cookie (the server's), one lock manager,
// one epoch store, one BroadcastChannel name.
function browser(server, { locks = new Locks(), epochs = new Epochs(), Channel = BroadcastChannel } = {}) {
  const channelName = `profile-${++channels}`;
  return () => {
    const client = new TesseraClient({
      BroadcastChannel: Channel,
      fetch: server.fetch,
      now: server.now,
      locks,
      epochs,
      channelName,
      csrfToken: () => "csrf",
    });
    open.push(client);
    return client;
  };
}

async function signedInTab(server, newTab) {
  const tab = newTab();
  const response = await tab.fromSession();
  assert.equal(response.status, 200);
  return tab;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

// --- Single flight.

test("concurrent calls in one tab at expiry cost one refresh (no Web Locks)", async () => {
  const server = new Server();
  const tab = await signedInTab(server, browser(server, { locks: null }));
  server.clock += (LIFETIME + 1) * 1000;
  const responses = await Promise.all(Array.from({ length: 8 }, () => tab.fetch("portfolio/")));
  assert.deepEqual(responses.map((r) => r.status), Array(8).fill(200));
  assert.equal(server.refreshes, 1);
  assert.equal(tab.state, "signed-in");
});

test("two tabs times concurrent calls at expiry cost one refresh, round after round", async () => {
  const server = new Server();
  const newTab = browser(server);
  const first = await signedInTab(server, newTab);
  const second = newTab();
  await settle();
  for (let round = 1; round <= 5; round++) {
    server.clock += (LIFETIME + 1) * 1000;
    const calls = [first, second].flatMap((tab) => Array.from({ length: 4 }, () => tab.fetch("portfolio/")));
    const statuses = (await Promise.all(calls)).map((r) => r.status);
    assert.deepEqual(statuses, Array(8).fill(200), `round ${round}`);
    assert.equal(server.refreshes, round, `round ${round}`);
  }
  assert.equal(server.revoked.size, 0);
  assert.ok(first.isSignedIn && second.isSignedIn);
});

// Messages that reach the other tabs only after the lock has moved on, as
// they may in a browser, where the lock and the channel are separate pipes.
class SlowChannel extends BroadcastChannel {
  set onmessage(handler) {
    super.onmessage = (event) => setTimeout(() => handler(event), 50);
  }
}

test("a tab that gets the lock before the message waits for the shared token", async () => {
  const server = new Server();
  const newTab = browser(server, { Channel: SlowChannel });
  const first = await signedInTab(server, newTab);
  const second = newTab();
  assert.equal((await second.fetch("portfolio/")).status, 200);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const refreshes = server.refreshes;
  server.clock += (LIFETIME + 1) * 1000;
  const statuses = await Promise.all([first.fetch("portfolio/"), second.fetch("portfolio/")]);
  assert.deepEqual(statuses.map((r) => r.status), [200, 200]);
  assert.equal(server.refreshes, refreshes + 1);
});

test("without the epoch store, a late message costs a second (valid) refresh", async () => {
  const server = new Server();
  const newTab = browser(server, { Channel: SlowChannel, epochs: null });
  const first = await signedInTab(server, newTab);
  const second = newTab();
  assert.equal((await second.fetch("portfolio/")).status, 200);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const refreshes = server.refreshes;
  server.clock += (LIFETIME + 1) * 1000;
  const statuses = await Promise.all([first.fetch("portfolio/"), second.fetch("portfolio/")]);
  assert.deepEqual(statuses.map((r) => r.status), [200, 200]);
  assert.equal(server.refreshes, refreshes + 2);
  assert.equal(server.revoked.size, 0);
});

test("without the lock, two tabs would present one cookie twice: reuse", async () => {
  // The hazard the lock prevents, shown with the same server.
  const server = new Server();
  const tabs = [browser(server, { locks: null })(), browser(server, { locks: null })()];
  server.signIn(); // the cookie both tabs share
  const results = await Promise.all(tabs.map((tab) => tab.fetch("portfolio/")));
  // The second refresh is reuse, which ends the session of both tabs.
  assert.deepEqual(results.map((r) => r.status), [401, 401]);
  assert.equal(server.revoked.size, 1);
  assert.equal(server.refreshes, 2);
});

test("a new tab restores the session from the cookie without waiting for old messages", async () => {
  const server = new Server();
  const newTab = browser(server);
  await signedInTab(server, newTab);
  const started = Date.now();
  const fresh = newTab();
  assert.equal(fresh.state, "signed-out");
  const response = await fresh.fetch("portfolio/");
  assert.equal(response.status, 200);
  assert.equal(fresh.state, "signed-in");
  assert.ok(Date.now() - started < 1000, "the new tab waited for a message that never comes");
});

// --- Refresh and retry.

test("a token within the margin of exp is refreshed before the call", async () => {
  const server = new Server();
  const tab = await signedInTab(server, browser(server));
  server.clock += (LIFETIME - 20) * 1000; // 20 s left, under the 30 s margin
  assert.equal((await tab.fetch("portfolio/")).status, 200);
  assert.equal(server.refreshes, 1);
  const [call] = server.calls.filter((c) => c.url === "/api/v1/portfolio/");
  assert.notEqual(call.auth, null);
});

test("the margin is at most half the token's lifetime", async () => {
  const server = new Server();
  const tab = await signedInTab(server, browser(server));
  server.clock += 10 * 1000; // 50 s left: under 30 s? no; refresh not due
  assert.equal((await tab.fetch("portfolio/")).status, 200);
  assert.equal(server.refreshes, 0);
});

test("a 401 token_expired refreshes and retries once", async () => {
  const server = new Server();
  const tab = await signedInTab(server, browser(server));
  // The server's clock is ahead of the tab's: the tab thinks its token is fresh.
  server.failNext = () => error(401, "token_expired");
  const response = await tab.fetch("portfolio/");
  assert.equal(response.status, 200);
  assert.equal(server.refreshes, 1);
  assert.equal(server.calls.filter((c) => c.url === "/api/v1/portfolio/").length, 2);
});

test("the retry happens once: a second token_expired is the answer", async () => {
  const server = new Server();
  const tab = await signedInTab(server, browser(server));
  let left = 2;
  const real = server.fetch;
  server.fetch = async (url, init) => {
    if (url === "/api/v1/portfolio/" && left-- > 0) return error(401, "token_expired");
    return real(url, init);
  };
  const client = new TesseraClient({ fetch: (u, i) => server.fetch(u, i), now: server.now, locks: null, epochs: null });
  open.push(client);
  await client.fromSession();
  const response = await client.fetch("portfolio/");
  assert.equal(response.status, 401);
  assert.equal(server.refreshes, 1);
  assert.equal(tab.state, "signed-in");
});

for (const code of ["token_invalid", "not_authenticated", "permission_denied"]) {
  test(`a 401 ${code} is answered as is, with no refresh`, async () => {
    const server = new Server();
    const tab = await signedInTab(server, browser(server));
    server.failNext = () => error(401, code);
    const response = await tab.fetch("portfolio/");
    assert.equal(response.status, 401);
    assert.equal((await response.json()).error.code, code);
    assert.equal(server.refreshes, 0);
    assert.equal(tab.state, "signed-in");
  });
}

test("a failed call resolves to its Response; a network error rejects", async () => {
  const server = new Server();
  const tab = await signedInTab(server, browser(server));
  server.failNext = () => error(503, "storage_error");
  assert.equal((await tab.fetch("portfolio/")).status, 503);
  server.failNext = () => {
    throw new TypeError("Failed to fetch");
  };
  await assert.rejects(tab.fetch("portfolio/"), TypeError);
  assert.equal(tab.state, "signed-in");
});

test("a passing refresh failure keeps a token that still works", async () => {
  const server = new Server();
  const tab = await signedInTab(server, browser(server));
  server.clock += (LIFETIME - 20) * 1000;
  const real = server.refresh.bind(server);
  server.refresh = () => error(503, "storage_error");
  assert.equal((await tab.fetch("portfolio/")).status, 200);
  assert.equal(tab.state, "signed-in");
  server.refresh = real;
  // Once expired, the failure is the answer.
  server.clock += 30 * 1000;
  server.refresh = () => error(503, "storage_error");
  assert.equal((await tab.fetch("portfolio/")).status, 503);
  server.refresh = real;
});

// --- Signing out.

test("a terminal refresh failure signs every tab out with the reason", async () => {
  const server = new Server();
  const newTab = browser(server);
  const first = await signedInTab(server, newTab);
  const second = newTab();
  assert.equal((await second.fetch("portfolio/")).status, 200);
  const reasons = [];
  first.onSignedOut((r) => reasons.push(["first", r]));
  second.onSignedOut((r) => reasons.push(["second", r]));
  // The cookie was stolen and used first: this browser's refresh is reuse.
  const stolen = server.cookie;
  server.refresh();
  server.cookie = stolen;
  server.clock += (LIFETIME + 1) * 1000;
  const response = await first.fetch("portfolio/");
  assert.equal(response.status, 401);
  assert.equal((await response.json()).error.code, "refresh_reused");
  await settle();
  assert.deepEqual(reasons.sort(), [["first", "refresh_reused"], ["second", "refresh_reused"]]);
  assert.equal(first.state, "signed-out");
  assert.equal(second.state, "signed-out");
  // Signed out: the next call goes out with no token and no refresh.
  const refreshes = server.refreshes;
  assert.equal((await second.fetch("portfolio/")).status, 401);
  assert.equal(server.refreshes, refreshes);
  assert.equal(server.calls.at(-1).auth, null);
});

test("a 401 token_revoked on a call signs every tab out", async () => {
  const server = new Server();
  const newTab = browser(server);
  const first = await signedInTab(server, newTab);
  const second = newTab();
  await second.fetch("portfolio/");
  for (const session of server.access.values()) server.revoked.add(session);
  const reasons = [];
  second.onSignedOut((r) => reasons.push(r));
  assert.equal((await first.fetch("portfolio/")).status, 401);
  await settle();
  assert.deepEqual(reasons, ["token_revoked"]);
  assert.equal(second.isSignedIn, false);
});

test("logout in one tab signs the others out at once", async () => {
  const server = new Server();
  const newTab = browser(server);
  const first = await signedInTab(server, newTab);
  const second = newTab();
  assert.equal((await second.fetch("portfolio/")).status, 200);
  const reasons = [];
  second.onSignedOut((r) => reasons.push(r));
  const response = await first.logout();
  assert.equal(response.status, 204);
  await settle();
  assert.deepEqual(reasons, ["logout"]);
  assert.equal(second.state, "signed-out");
  const refreshes = server.refreshes;
  assert.equal((await second.fetch("portfolio/")).status, 401);
  assert.equal(server.calls.at(-1).auth, null);
  assert.equal(server.refreshes, refreshes);
});

test("login signs in, asking for cookie mode; wrong credentials change nothing", async () => {
  const server = new Server();
  const newTab = browser(server);
  const tab = newTab();
  const refused = await tab.login("demo@example.com", "wrong");
  assert.equal(refused.status, 401);
  assert.equal(tab.state, "signed-out");
  const response = await tab.login("demo@example.com", "right");
  assert.equal(response.status, 200);
  assert.equal(tab.state, "signed-in");
  assert.equal(server.calls.at(-1).mode, "cookie");
  const other = newTab();
  assert.equal((await other.fetch("portfolio/")).status, 200);
});

test("logoutEverywhere ends every session and signs every tab out", async () => {
  const server = new Server();
  const newTab = browser(server);
  const first = await signedInTab(server, newTab);
  const second = newTab();
  assert.equal((await second.fetch("portfolio/")).status, 200);
  const elsewhere = server.signIn(); // another device
  const reasons = [];
  second.onSignedOut((r) => reasons.push(r));
  assert.equal((await first.logoutEverywhere()).status, 204);
  await settle();
  assert.deepEqual(reasons, ["logout"]);
  assert.equal(first.state, "signed-out");
  assert.ok(server.revoked.has(server.access.get(elsewhere)));
});

test("a tab with no session gets the refresh's 400 once, then stops trying", async () => {
  const server = new Server();
  const tab = browser(server)();
  const response = await tab.fetch("portfolio/");
  assert.equal(response.status, 400);
  assert.equal(tab.state, "signed-out");
  assert.equal((await tab.fetch("portfolio/")).status, 401);
  assert.equal(server.refreshes, 1);
});

test("signing in again in one tab signs the other tabs in", async () => {
  const server = new Server();
  const newTab = browser(server);
  const first = await signedInTab(server, newTab);
  const second = newTab();
  await second.fetch("portfolio/");
  await first.logout();
  await settle();
  assert.equal(second.isSignedIn, false);
  await first.fromSession();
  await settle();
  assert.equal(second.state, "signed-in");
  assert.equal((await second.fetch("portfolio/")).status, 200);
});

test("the state goes signed-out, refreshing, signed-in", async () => {
  const server = new Server();
  const newTab = browser(server);
  await signedInTab(server, newTab);
  const tab = newTab();
  assert.equal(tab.state, "signed-out");
  const pending = tab.fetch("portfolio/");
  assert.equal(tab.state, "refreshing");
  await pending;
  assert.equal(tab.state, "signed-in");
});

test("the browser client asks for cookie mode and sends the CSRF token", async () => {
  const server = new Server();
  const tab = await signedInTab(server, browser(server));
  server.clock += (LIFETIME + 1) * 1000;
  await tab.fetch("portfolio/");
  const refresh = server.calls.find((c) => c.url === "/api/v1/auth/refresh/");
  assert.equal(refresh.mode, "cookie");
});

// --- The types beside the module.

test("client.d.ts declares exactly the client's public members", async () => {
  const { readFile } = await import("node:fs/promises");
  const types = await readFile(new URL("../../tessera/django/static/tessera/client.d.ts", import.meta.url), "utf8");
  const body = types.slice(types.indexOf("export class TesseraClient"));
  const members = body.slice(0, body.indexOf("\n}")).matchAll(/^ {2}(?:readonly )?([A-Za-z]+)[(:?]/gm);
  const declared = new Set([...members].map((m) => m[1]).filter((n) => n !== "constructor"));
  const actual = new Set(Object.getOwnPropertyNames(TesseraClient.prototype).filter((n) => n !== "constructor"));
  assert.deepEqual([...declared].sort(), [...actual].sort());
  const module = await import("../../tessera/django/static/tessera/client.js");
  const exported = [...types.matchAll(/^export (?:class|function) (\w+)/gm)].map((m) => m[1]);
  assert.deepEqual(exported.sort(), Object.keys(module).sort());
});
