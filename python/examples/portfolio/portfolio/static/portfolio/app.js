// The portfolio example's signed-in page: a single-page app on Tessera's
// browser client, plain ES modules and no framework. It restores the
// session from the refresh cookie (a reload, a new tab) or trades the
// Django session of the /login/ form for tokens, then manages projects,
// personal access tokens and sessions.

import { TesseraClient, errorCode } from "../tessera/client.js";

const client = new TesseraClient({ baseUrl: "/api/v1/" });
// For the browser console, and the browser tests.
window.portfolio = { client };

// Every error code the API answers, in plain words.
const WORDS = {
  invalid_credentials: "The email or password is wrong.",
  user_inactive: "This account is disabled.",
  user_not_found: "This account no longer exists.",
  validation_error: "Please check what you entered.",
  not_authenticated: "You are not signed in.",
  permission_denied: "You are not allowed to do that.",
  pat_not_allowed: "A personal access token cannot do that; sign in instead.",
  method_not_allowed: "The site does not accept that request.",
  not_found: "It no longer exists; someone may have removed it already.",
  token_invalid: "Your sign-in could not be read. Please sign in again.",
  token_expired: "Your session has expired. Please sign in again.",
  token_not_yet_valid: "Your computer's clock seems to be wrong; your sign-in is not valid yet.",
  token_wrong_type: "The wrong kind of token was sent. Please sign in again.",
  token_revoked: "Your session was ended: you signed out elsewhere, or it was revoked.",
  refresh_reused:
    "Your session was ended for your safety: its refresh token was used twice, so it may have been copied.",
  pat_invalid: "That personal access token is not valid.",
  pat_expired: "That personal access token has expired.",
  pat_revoked: "That personal access token was revoked.",
  insufficient_scope: "That token lacks the scope needed for this.",
  storage_error: "The server could not reach its token store; nothing changed. Try again in a moment.",
  config_invalid: "The server rejected a setting or value.",
  logout: "You signed out.",
  no_session: "You are not signed in.",
  network: "The site cannot be reached. Check your connection and try again.",
};

const $ = (id) => document.getElementById(id);

function words(code, message) {
  const plain = WORDS[code] ?? `Something went wrong (${code ?? "unknown error"}).`;
  return code === "validation_error" && message ? `${plain} ${message}` : plain;
}

function notify(text, ok = false) {
  const notice = $("notice");
  notice.textContent = text;
  notice.classList.toggle("ok", ok);
  notice.hidden = !text;
}

// Reports a failed response in plain words; true when it was one. Once the
// session is over, the signed-out view says why instead.
async function failed(response) {
  if (response.ok) return false;
  if (document.body.dataset.state === "signed-out") return true;
  let code = await errorCode(response);
  let message = "";
  try {
    message = (await response.clone().json())?.error?.message ?? "";
  } catch {
    code ??= response.status >= 500 ? "storage_error" : null;
  }
  notify(words(code, message));
  return true;
}

// A call through the client; a network failure is reported, not thrown.
async function call(path, init) {
  try {
    return await client.fetch(path, init);
  } catch {
    notify(words("network"));
    return null;
  }
}

function show(state, reason) {
  document.body.dataset.state = state;
  $("loading").hidden = true;
  $("app").hidden = state !== "signed-in";
  $("signed-out").hidden = state !== "signed-out";
  $("sign-out").hidden = state !== "signed-in";
  if (state === "signed-out") {
    $("who").textContent = "";
    const text = $("signed-out-reason");
    text.textContent = reason ? words(reason) : "Sign in to see your portfolio.";
    text.dataset.code = reason ?? "";
    $("new-pat").hidden = true;
    $("new-pat-token").textContent = "";
  }
}

client.onSignedOut((reason) => {
  notify("");
  show("signed-out", reason);
});

function item(list, ...parts) {
  const li = document.createElement("li");
  for (const part of parts) li.append(part);
  list.append(li);
  return li;
}

function span(text, className) {
  const element = document.createElement("span");
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "never";
}

function empty(list, text) {
  list.replaceChildren();
  item(list, span(text)).className = "empty";
}

// --- Projects.

async function loadProjects() {
  const response = await call("portfolio/");
  if (!response || (await failed(response))) return false;
  const body = await response.json();
  $("who").textContent = body.user.email || body.user.username;
  const list = $("projects");
  if (body.projects.length === 0) return empty(list, "No projects yet."), true;
  list.replaceChildren();
  for (const project of body.projects) {
    const title = document.createElement("strong");
    title.textContent = project.title;
    item(list, title, span(project.summary, "grow muted"));
  }
  return true;
}

$("add-project").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const response = await call("portfolio/projects/", {
    method: "POST",
    body: JSON.stringify({ title: data.get("title"), summary: data.get("summary") }),
  });
  if (!response || (await failed(response))) return;
  form.reset();
  notify("Project added.", true);
  await loadProjects();
});

// --- Personal access tokens.

async function loadPats() {
  const response = await call("me/access-tokens/");
  if (!response || (await failed(response))) return;
  const pats = await response.json();
  const list = $("pats");
  if (pats.length === 0) return empty(list, "No tokens yet.");
  list.replaceChildren();
  for (const pat of pats) {
    const name = document.createElement("strong");
    name.textContent = pat.name;
    const details = span(
      `${pat.prefix}… · ${pat.scopes === null ? "all of your rights" : pat.scopes.join(", ") || "no scopes"} · expires ${when(pat.expires_at)} · last used ${when(pat.last_used_at)}`,
      "grow muted",
    );
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.className = "danger";
    revoke.textContent = "Revoke";
    revoke.dataset.pat = pat.id;
    revoke.addEventListener("click", async () => {
      revoke.disabled = true;
      const answer = await call(`me/access-tokens/${encodeURIComponent(pat.id)}/`, { method: "DELETE" });
      if (answer && !(await failed(answer))) notify(`Token “${pat.name}” revoked.`, true);
      await loadPats();
    });
    const li = item(list, name, details, revoke);
    li.dataset.pat = pat.id;
  }
}

$("create-pat").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const data = new FormData(form);
  const body = { name: data.get("name"), scopes: data.getAll("scopes") };
  if (data.get("expires")) body.expires_at = `${data.get("expires")}T23:59:59Z`;
  const response = await call("me/access-tokens/", { method: "POST", body: JSON.stringify(body) });
  if (!response || (await failed(response))) return;
  const pat = await response.json();
  $("new-pat-token").textContent = pat.token;
  $("new-pat").hidden = false;
  $("copy-pat").textContent = "Copy";
  form.reset();
  notify("");
  await loadPats();
});

$("copy-pat").addEventListener("click", async () => {
  const token = $("new-pat-token").textContent;
  try {
    await navigator.clipboard.writeText(token);
    $("copy-pat").textContent = "Copied";
  } catch {
    // No clipboard permission: select the text for a manual copy.
    getSelection().selectAllChildren($("new-pat-token"));
    $("copy-pat").textContent = "Selected: press Ctrl+C";
  }
});

$("hide-pat").addEventListener("click", () => {
  $("new-pat").hidden = true;
  $("new-pat-token").textContent = "";
});

// --- Sessions.

async function loadSessions() {
  const response = await call("me/sessions/");
  if (!response || (await failed(response))) return;
  const sessions = await response.json();
  const list = $("sessions");
  if (sessions.length === 0) return empty(list, "No active sessions.");
  list.replaceChildren();
  for (const session of sessions) {
    const started = span(`Signed in ${when(session.created_at)}`);
    const details = span(`last active ${when(session.last_refreshed_at)} · ends ${when(session.expires_at)}`, "grow muted");
    let li;
    if (session.current) {
      li = item(list, started, details);
      li.prepend(span("this browser", "tag"));
    } else {
      const end = document.createElement("button");
      end.type = "button";
      end.className = "danger";
      end.textContent = "Sign out";
      end.dataset.session = session.id;
      end.addEventListener("click", async () => {
        end.disabled = true;
        const answer = await call(`me/sessions/${encodeURIComponent(session.id)}/`, { method: "DELETE" });
        if (answer && !(await failed(answer))) notify("That session was signed out.", true);
        await loadSessions();
      });
      li = item(list, started, details, end);
    }
    li.dataset.current = String(session.current);
  }
}

// --- Signing out.

async function signOut(everywhere) {
  try {
    const response = everywhere ? await client.logoutEverywhere() : await client.logout();
    if (!response.ok && response.status !== 401) await failed(response);
  } catch {
    notify(words("network"));
  }
}

$("sign-out").addEventListener("click", () => signOut(false));
$("sign-out-everywhere").addEventListener("click", () => signOut(true));

// --- Start: the refresh cookie first (a reload keeps the session), else the
// Django session of the /login/ form.

async function start() {
  // A reload or a new tab: the client restores the session from the cookie.
  if ((await call("portfolio/")) === null) return;
  if (!client.isSignedIn) {
    // Straight from the /login/ form: trade its Django session for tokens.
    const reason = document.body.dataset.state === "signed-out" ? $("signed-out-reason").dataset.code : "";
    let traded;
    try {
      traded = await client.fromSession();
    } catch {
      return notify(words("network"));
    }
    if (!traded.ok) return show("signed-out", reason || null);
  }
  show("signed-in");
  notify("");
  await Promise.all([loadProjects(), loadPats(), loadSessions()]);
}

start();
