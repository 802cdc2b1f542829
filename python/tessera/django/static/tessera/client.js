// Tessera's browser client: signs a single-page app in against the host API
// of tessera.django and keeps it signed in across requests, tabs and reloads.
// A dependency-free ES module; the types are in client.d.ts beside it.
//
// The session of one tab is a small state machine:
//
//   signed-out ──fromSession() / login() succeeds──────────────────► signed-in
//   signed-out ──fetch() with no token, on a fresh page─────────────► refreshing
//                (a reload or a new tab: the cookie may hold a session)
//   signed-in  ──fetch() within the margin of exp, or 401 token_expired──► refreshing
//   refreshing ──200, from this tab or shared by another one────────► signed-in
//   refreshing ──401 (refresh_reused, token_revoked, token_expired…)──► signed-out
//                in every tab, and onSignedOut(code) runs in each
//   refreshing ──400: there is no refresh cookie─────────────────────► signed-out
//   refreshing ──network error, 403, 5xx────────────────────────────► where it was
//   signed-in  ──logout(), logoutEverywhere(), or a 401 token_revoked /
//                refresh_reused on a call (the session ended elsewhere)──► signed-out
//                in every tab; onSignedOut("logout") or onSignedOut(code)
//   any        ──another tab shares a token─────────────────────────► signed-in
//
// Invariants:
// - In cookie mode (the default) the refresh token lives only in the HttpOnly
//   cookie; script never sees it. The access token lives only in memory, and
//   crosses to other tabs of the same origin by BroadcastChannel only.
// - At most one refresh is in flight per browser profile: refreshes run under
//   one Web Lock, and a tab that waited for the lock first takes the token
//   another tab obtained meanwhile. Two refreshes presenting one cookie would
//   be reuse, which the server punishes by revoking the session. Where Web
//   Locks are missing, the single flight covers the tab only.
// - Every change of the session under the lock increments an epoch kept in
//   IndexedDB (no token in it). IndexedDB is consistent across tabs, unlike
//   localStorage, whose writes reach other tabs' processes late: so a tab
//   that gets the lock knows whether the session moved on while it waited,
//   and then waits for the message that carries the new token.
// - A call is retried at most once, and only after a 401 token_expired.
// - After a sign-out the client refreshes again only once it has signed in
//   (fromSession, login, or a token shared by another tab).

const REFRESH_HEADER = "X-Tessera-Refresh";
const JSON_HEADERS = { "Content-Type": "application/json", Accept: "application/json" };
// Refresh answers after which the session can never be refreshed again.
const SESSION_OVER = 401;
// How long a tab that saw a newer token announced waits for the message
// carrying it, before it refreshes by itself (a valid rotation, not reuse).
const SHARE_WAIT_MS = 2000;

export class TesseraClient {
  #baseUrl;
  #margin;
  #cookieMode;
  #fetch;
  #locks;
  #epochs;
  #csrfToken;
  #now;
  #lockName;
  #channel = null;

  #access = null;
  #refresh = null; // only outside cookie mode
  #state = "signed-out";
  #restorable = true;
  #inflight = null;
  #tokenEpoch = 0;
  #epochRead;
  #reason = "logout";
  #waiters = new Set();
  #listeners = new Set();

  constructor(options = {}) {
    const baseUrl = options.baseUrl ?? "/api/v1/";
    this.#baseUrl = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
    this.#margin = options.refreshMargin ?? 30;
    this.#cookieMode = options.cookieMode ?? true;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#locks = "locks" in options ? options.locks : globalThis.navigator?.locks;
    this.#csrfToken = options.csrfToken ?? (() => readCookie(options.csrfCookieName ?? "csrftoken"));
    this.#now = options.now ?? (() => Date.now());
    const name = `tessera:${options.channelName ?? this.#baseUrl}`;
    this.#lockName = `${name}:refresh`;
    this.#epochs = "epochs" in options ? options.epochs : indexedDbEpochs(name);
    // Tabs share one session only when they share the cookie.
    const Channel = "BroadcastChannel" in options ? options.BroadcastChannel : globalThis.BroadcastChannel;
    if (this.#cookieMode && Channel) {
      this.#channel = new Channel(name);
      this.#channel.onmessage = (event) => this.#receive(event.data);
    }
    if (!this.#cookieMode) {
      this.#locks = null;
      this.#epochs = null;
    }
    // Messages sent before this page loaded are not waited for.
    this.#epochRead = this.#readEpoch().then((shared) => {
      this.#tokenEpoch = Math.max(this.#tokenEpoch, shared?.epoch ?? 0);
    });
  }

  /** "signed-out", "signed-in" or "refreshing". */
  get state() {
    return this.#state;
  }

  /** Whether this tab holds an access token. */
  get isSignedIn() {
    return this.#access !== null;
  }

  /** Trades the Django session (and its CSRF token) for tokens. */
  async fromSession() {
    const response = await this.#fetch(this.#url("auth/from-session/"), {
      method: "POST",
      headers: { ...JSON_HEADERS, ...this.#csrfHeader() },
      credentials: "same-origin",
    });
    return this.#signedIn(response);
  }

  /** Signs in with an email and a password. */
  async login(email, password) {
    const response = await this.#fetch(this.#url("auth/login/email/"), {
      method: "POST",
      headers: { ...JSON_HEADERS, ...this.#modeHeader() },
      body: JSON.stringify({ email, password }),
      credentials: "same-origin",
    });
    return this.#signedIn(response);
  }

  /**
   * A request to `path` (relative to baseUrl) with the bearer token. Resolves
   * to the Response, whatever its status; rejects on network errors only.
   */
  async fetch(path, init = {}) {
    const ready = await this.#readyToken();
    if (ready.response) return ready.response;
    const response = await this.#send(path, init, ready.token);
    if (response.status !== 401 || ready.token === null) return response;
    const code = await errorCode(response);
    if (code === "token_expired") {
      const again = await this.#refreshOnce(ready.token);
      if (again.response) return again.response;
      return this.#send(path, init, again.token);
    }
    if ((code === "token_revoked" || code === "refresh_reused") && this.#access === ready.token) {
      this.#signOut(code, true);
    }
    return response;
  }

  /** Registers `callback(reason)` for every sign-out; returns the unsubscriber. */
  onSignedOut(callback) {
    this.#listeners.add(callback);
    return () => this.#listeners.delete(callback);
  }

  /** Ends this session on the server, and signs every tab out. */
  logout() {
    const body = this.#cookieMode || this.#refresh === null ? {} : { refresh: this.#refresh };
    return this.#end("auth/logout/", body);
  }

  /** Ends every session of the user, and signs every tab out. */
  logoutEverywhere() {
    return this.#end("auth/logout-all/", {});
  }

  /** Stops listening to other tabs. */
  close() {
    this.#channel?.close();
    this.#channel = null;
  }

  // --- Tokens.

  // {token} to send (null: none), or {response} of a refresh that failed.
  async #readyToken() {
    const token = this.#access;
    if (token !== null && !this.#dueForRefresh(token)) return { token };
    if (token === null && !this.#restorable) return { token: null };
    const result = await this.#refreshOnce(token);
    if (result.response && token !== null && this.#access === token && !isExpired(token, this.#now())) {
      // The refresh failed for a passing reason; the token still works.
      return { token };
    }
    return result;
  }

  #dueForRefresh(token) {
    const claims = payload(token);
    if (!claims || typeof claims.exp !== "number") return true;
    const lifetime = typeof claims.iat === "number" ? claims.exp - claims.iat : 0;
    const margin = Math.min(this.#margin, lifetime / 2);
    return this.#now() / 1000 >= claims.exp - margin;
  }

  // Single flight within the tab: concurrent callers share one promise.
  #refreshOnce(stale) {
    if (this.#inflight === null) {
      const previous = this.#state;
      this.#state = "refreshing";
      this.#inflight = this.#refreshShared(stale).finally(() => {
        this.#inflight = null;
        if (this.#state === "refreshing") this.#state = this.#access !== null ? "signed-in" : previous;
      });
    }
    return this.#inflight;
  }

  // Single flight across tabs: under the lock, a token another tab obtained
  // while this one waited is taken instead of refreshing again.
  async #refreshShared(stale) {
    if (!this.#locks) return this.#newerToken(stale) ?? this.#refreshNow();
    return this.#locks.request(this.#lockName, async () => {
      await this.#catchUp();
      return this.#newerToken(stale) ?? this.#refreshNow();
    });
  }

  // Under the lock: takes in what other tabs did to the session meanwhile.
  async #catchUp() {
    await this.#epochRead;
    const shared = await this.#readEpoch();
    if (shared === null || shared.epoch <= this.#tokenEpoch) return;
    if (shared.reason) {
      this.#signOut(shared.reason, false, shared.epoch);
      return;
    }
    await this.#tokenOfEpoch(shared.epoch);
    this.#tokenEpoch = Math.max(this.#tokenEpoch, shared.epoch);
  }

  // What to use instead of refreshing: a token that replaced `stale`
  // meanwhile (even one already within the margin: it was just issued, and
  // exp counts whole seconds), or the signed-out answer when there is
  // nothing to refresh.
  #newerToken(stale) {
    const token = this.#access;
    if (token !== null && token !== stale && !isExpired(token, this.#now())) return { token };
    if (token === null && !this.#restorable) return { response: signedOutResponse(this.#reason) };
    return null;
  }

  async #refreshNow() {
    const body = this.#cookieMode ? {} : { refresh: this.#refresh };
    if (!this.#cookieMode && this.#refresh === null) return { response: signedOutResponse("no_session") };
    const response = await this.#fetch(this.#url("auth/refresh/"), {
      method: "POST",
      headers: { ...JSON_HEADERS, ...this.#modeHeader(), ...this.#csrfHeader() },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    if (response.ok) {
      const tokens = await response.clone().json();
      const epoch = await this.#nextEpoch(null);
      this.#adopt(tokens.access, tokens.refresh ?? null, epoch);
      return { token: this.#access };
    }
    if (response.status === SESSION_OVER) {
      // Stored before the lock is released, for the tabs waiting for it.
      await this.#signOut((await errorCode(response)) ?? "token_invalid", true);
    } else if (response.status === 400) {
      // No refresh cookie: there is no session to restore.
      this.#restorable = false;
    }
    return { response };
  }

  async #signedIn(response) {
    if (response.ok) {
      const body = await response.clone().json();
      const run = async () => {
        await this.#epochRead;
        this.#adopt(body.tokens.access, body.tokens.refresh ?? null, await this.#nextEpoch(null));
      };
      if (this.#locks) await this.#locks.request(this.#lockName, run);
      else await run();
    }
    return response;
  }

  async #end(path, body) {
    const ready = await this.#readyToken();
    let response;
    try {
      response = await this.#send(path, { method: "POST", body: JSON.stringify(body) }, ready.token ?? null);
    } finally {
      await this.#signOut("logout", true);
    }
    return response;
  }

  #adopt(access, refresh, epoch) {
    this.#access = access;
    if (!this.#cookieMode) this.#refresh = refresh;
    this.#tokenEpoch = Math.max(this.#tokenEpoch, epoch);
    this.#state = "signed-in";
    this.#restorable = true;
    this.#channel?.postMessage({ type: "token", access, epoch: this.#tokenEpoch });
    this.#wake();
  }

  // Resolves once a shared sign-out is stored for the other tabs.
  #signOut(reason, share, epoch = null) {
    const wasSignedIn = this.#access !== null || this.#state !== "signed-out";
    this.#access = null;
    this.#refresh = null;
    this.#state = "signed-out";
    this.#restorable = false;
    this.#reason = reason;
    let stored = Promise.resolve();
    if (share) {
      const next = this.#tokenEpoch + 1;
      this.#tokenEpoch = next;
      this.#channel?.postMessage({ type: "signed-out", reason, epoch: next });
      stored = this.#writeEpoch({ epoch: next, reason });
    } else if (epoch !== null) {
      this.#tokenEpoch = Math.max(this.#tokenEpoch, epoch);
    }
    this.#wake();
    if (wasSignedIn) {
      for (const listener of [...this.#listeners]) {
        try {
          listener(reason);
        } catch (error) {
          // One listener's failure must not keep the others from hearing.
          setTimeout(() => {
            throw error;
          });
        }
      }
    }
    return stored;
  }

  #receive(message) {
    if (!message || typeof message !== "object") return;
    if (message.type === "token" && typeof message.access === "string") {
      if (message.epoch < this.#tokenEpoch) return;
      this.#access = message.access;
      this.#tokenEpoch = message.epoch;
      this.#restorable = true;
      if (this.#state === "signed-out") this.#state = "signed-in";
      this.#wake();
    } else if (message.type === "signed-out" && typeof message.reason === "string") {
      if (message.epoch < this.#tokenEpoch) return;
      this.#signOut(message.reason, false, message.epoch);
    }
  }

  // --- The epoch (see the invariants above).

  async #readEpoch() {
    try {
      const value = this.#epochs ? await this.#epochs.read() : null;
      return value && typeof value.epoch === "number" ? value : null;
    } catch {
      return null; // Storage denied: the messages still carry the epoch.
    }
  }

  async #writeEpoch(value) {
    try {
      await this.#epochs?.write(value);
    } catch {
      // Storage denied or full: the messages still carry the epoch.
    }
  }

  // The epoch of a new token, stored before it is announced.
  async #nextEpoch(reason) {
    const epoch = Math.max((await this.#readEpoch())?.epoch ?? 0, this.#tokenEpoch) + 1;
    await this.#writeEpoch({ epoch, reason });
    return epoch;
  }

  #tokenOfEpoch(epoch) {
    if (this.#tokenEpoch >= epoch) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = () => {
        if (this.#tokenEpoch < epoch) return false;
        clearTimeout(timer);
        resolve();
        return true;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        resolve();
      }, SHARE_WAIT_MS);
      this.#waiters.add(waiter);
    });
  }

  #wake() {
    for (const waiter of [...this.#waiters]) if (waiter()) this.#waiters.delete(waiter);
  }

  // --- Requests.

  #send(path, init, token) {
    const headers = new Headers(init.headers ?? {});
    if (token !== null) headers.set("Authorization", `Bearer ${token}`);
    if (init.body !== undefined && !headers.has("Content-Type") && typeof init.body === "string") {
      headers.set("Content-Type", "application/json");
    }
    if (!headers.has("Accept")) headers.set("Accept", "application/json");
    const csrf = this.#csrfToken();
    if (csrf && !headers.has("X-CSRFToken")) headers.set("X-CSRFToken", csrf);
    return this.#fetch(this.#url(path), { credentials: "same-origin", ...init, headers });
  }

  #url(path) {
    return /^[a-z][a-z0-9+.-]*:|^\//i.test(path) ? path : this.#baseUrl + path;
  }

  #modeHeader() {
    return this.#cookieMode ? { [REFRESH_HEADER]: "cookie" } : {};
  }

  #csrfHeader() {
    const token = this.#csrfToken();
    return token ? { "X-CSRFToken": token } : {};
  }
}

/** The `error.code` of a Tessera error response, or null. */
export async function errorCode(response) {
  try {
    const body = await response.clone().json();
    const code = body?.error?.code;
    return typeof code === "string" ? code : null;
  } catch {
    return null;
  }
}

// A Response standing for a refresh that was not attempted because this tab
// is signed out; it has the shape of the server's error bodies.
function signedOutResponse(code) {
  const body = { error: { code, message: "Signed out: sign in again." } };
  return new Response(JSON.stringify(body), {
    status: 401,
    headers: { "Content-Type": "application/json" },
  });
}

// The claims of a JWT, read without checking the signature: only to know
// when to refresh. The server checks every token it receives.
function payload(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
  } catch {
    return null;
  }
}

function isExpired(token, nowMs) {
  const claims = payload(token);
  return !claims || typeof claims.exp !== "number" || nowMs / 1000 >= claims.exp;
}

function readCookie(name) {
  if (typeof document === "undefined") return null;
  for (const part of document.cookie.split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return decodeURIComponent(value.join("="));
  }
  return null;
}

// The epoch store of a browser: one record in an IndexedDB database.
function indexedDbEpochs(key) {
  const idb = globalThis.indexedDB;
  if (!idb) return null;
  let opened = null;
  const open = () =>
    (opened ??= new Promise((resolve, reject) => {
      const request = idb.open("tessera", 1);
      request.onupgradeneeded = () => request.result.createObjectStore("epochs");
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    }));
  const run = async (mode, action) => {
    const db = await open();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction("epochs", mode);
      const request = action(transaction.objectStore("epochs"));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  };
  return {
    read: () => run("readonly", (store) => store.get(key)),
    write: (value) => run("readwrite", (store) => store.put(value, key)).then(() => undefined),
  };
}
