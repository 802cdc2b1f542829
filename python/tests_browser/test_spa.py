"""The portfolio single-page app in real Chromium, against the example site
under gunicorn with 4 workers and 3-second access tokens.

Each scenario is one test with a browser of its own (a fresh profile); the
site, its one demo user and its audit log are shared, so counts are taken
per session (family) or as differences.
"""

from __future__ import annotations

import time
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from conftest import ACCESS_SECONDS, EMAIL, PASSWORD, Browser, BrowserSite, wait

# A call through the page's client, from the test: [status, body or null].
CLIENT_FETCH = """
const [path, init, done] = arguments;
window.portfolio.client.fetch(path, init).then(
  async (r) => done([r.status, await r.json().catch(() => null)]),
  (e) => done([0, String(e)]),
);
"""


def sign_in(driver: WebDriver, site: BrowserSite) -> None:
    """Through the server-rendered /login/ form, then the SPA takes over."""
    driver.get(f"{site.base}/login/")
    driver.find_element(By.NAME, "username").send_keys(EMAIL)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_state(driver, "signed-in")
    wait(driver, lambda d: "No projects yet" in d.find_element(By.ID, "projects").text
         or d.find_elements(By.CSS_SELECTOR, "#projects li strong"))  # fmt: skip


def wait_state(driver: WebDriver, state: str, timeout: float = 10) -> None:
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") == state,
         timeout)  # fmt: skip


def client_fetch(driver: WebDriver, path: str, init: dict[str, Any] | None = None) -> list[Any]:
    return driver.execute_async_script(CLIENT_FETCH, path, init or {})


def current_family(driver: WebDriver) -> str:
    status, sessions = client_fetch(driver, "me/sessions/")
    assert status == 200, sessions
    [current] = [s["id"] for s in sessions if s["current"]]
    return current


def api_login(site: BrowserSite) -> dict[str, str]:
    status, body, _ = site.call(
        "POST", "/api/v1/auth/login/email/", {"email": EMAIL, "password": PASSWORD}
    )
    assert status == 200, body
    return body["tokens"]


def wait_for_expiry() -> None:
    """Sleeps past the lifetime of every access token issued until now."""
    time.sleep(ACCESS_SECONDS + 1.1)


# --- 1. Sign in through the form; the SPA trades the session and lists projects.


def test_form_sign_in_then_the_spa_lists_the_projects(site: BrowserSite, browser: Browser) -> None:
    title = f"Seeded {time.monotonic_ns()}"
    status, body, _ = site.call(
        "POST", "/api/v1/portfolio/projects/", {"title": title, "summary": "from the API"},
        api_login(site)["access"],
    )  # fmt: skip
    assert status == 201, body
    issued = site.events("session_issued")
    driver = browser()
    sign_in(driver, site)
    wait(driver, lambda d: title in d.find_element(By.ID, "projects").text)
    assert EMAIL in driver.find_element(By.ID, "who").text
    # One new session: the one from-session issued for this browser.
    assert site.events("session_issued") == issued + 1
    # The refresh token is in an HttpOnly cookie, never in script's reach.
    [cookie] = [c for c in all_cookies(driver) if c["name"] == "tessera_refresh"]
    assert cookie["httpOnly"] is True
    assert "tessera_refresh" not in driver.execute_script("return document.cookie")
    # The current session is marked.
    wait(driver, lambda d: "this browser" in d.find_element(By.ID, "sessions").text)
    # Readable at a phone's width: no horizontal scrolling.
    driver.set_window_size(390, 844)
    assert driver.execute_script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def all_cookies(driver: WebDriver) -> list[dict[str, Any]]:
    """Every cookie of the profile, HttpOnly ones and other paths included."""
    return driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]


# --- 2. Add a project and a PAT in the UI; the PAT works until revoked in the UI.


def test_project_and_pat_from_the_ui(site: BrowserSite, browser: Browser) -> None:
    driver = browser()
    sign_in(driver, site)
    title = f"From the UI {time.monotonic_ns()}"
    form = driver.find_element(By.ID, "add-project")
    form.find_element(By.NAME, "title").send_keys(title)
    form.find_element(By.NAME, "summary").send_keys("added in Chromium")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, lambda d: title in d.find_element(By.ID, "projects").text)

    form = driver.find_element(By.ID, "create-pat")
    name = f"ci-{time.monotonic_ns()}"
    form.find_element(By.NAME, "name").send_keys(name)
    form.find_element(By.CSS_SELECTOR, "input[value='projects:write']").click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, lambda d: d.find_element(By.ID, "new-pat").is_displayed())
    token = driver.find_element(By.ID, "new-pat-token").text
    assert token.startswith("tsr_pat_")

    project = {"title": "Added with the PAT", "summary": "from the test"}
    status, body, _ = site.call("POST", "/api/v1/portfolio/projects/", project, token)
    assert status == 201, body

    driver.find_element(By.ID, "hide-pat").click()
    assert driver.find_element(By.ID, "new-pat-token").text == ""
    [row] = [li for li in driver.find_elements(By.CSS_SELECTOR, "#pats li[data-pat]")
             if name in li.text]  # fmt: skip
    row.find_element(By.TAG_NAME, "button").click()
    wait(driver, lambda d: "revoked" in d.find_element(By.ID, "notice").text)
    wait(driver, lambda d: name not in d.find_element(By.ID, "pats").text)
    status, body, _ = site.call("POST", "/api/v1/portfolio/projects/", project, token)
    assert (status, body["error"]["code"]) == (401, "pat_revoked")


# --- 3. Two tabs, expiry, concurrent requests: one refresh per round.

ROUNDS = 10
PER_TAB = 3

FIRE_AT = """
const [at, count] = arguments;
window.__round = null;
setTimeout(async () => {
  const client = window.portfolio.client;
  const statuses = await Promise.all(Array.from({ length: count }, () =>
    client.fetch("portfolio/").then((r) => r.status, (e) => String(e))));
  window.__round = { statuses, state: client.state };
}, Math.max(0, at - Date.now()));
"""


def test_two_tabs_at_expiry_cost_one_refresh_per_round(site: BrowserSite, browser: Browser) -> None:
    driver = browser()
    sign_in(driver, site)
    first = driver.current_window_handle
    driver.switch_to.new_window("window")
    driver.get(f"{site.base}/")
    wait_state(driver, "signed-in")
    second = driver.current_window_handle
    family = current_family(driver)
    reuse = site.events("reuse_detected")

    for round_number in range(1, ROUNDS + 1):
        wait_for_expiry()
        before = site.events("refresh_rotated", family)
        at = driver.execute_script("return Date.now()") + 400
        for handle in (first, second):
            driver.switch_to.window(handle)
            driver.execute_script(FIRE_AT, at, PER_TAB)
        for handle in (first, second):
            driver.switch_to.window(handle)
            result = wait(driver, lambda d: d.execute_script("return window.__round"), 20)
            assert result == {"statuses": [200] * PER_TAB, "state": "signed-in"}, round_number
            assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-state") == (
                "signed-in"
            )
        assert site.events("refresh_rotated", family) == before + 1, f"round {round_number}"
    assert site.events("reuse_detected") == reuse


# --- 4. Sign out in one tab: the other tab is signed out at once.


def test_sign_out_in_one_tab_signs_out_the_other(site: BrowserSite, browser: Browser) -> None:
    driver = browser()
    sign_in(driver, site)
    first = driver.current_window_handle
    driver.switch_to.new_window("window")
    driver.get(f"{site.base}/")
    wait_state(driver, "signed-in")
    second = driver.current_window_handle
    family = current_family(driver)

    driver.switch_to.window(first)
    driver.find_element(By.ID, "sign-out").click()
    wait_state(driver, "signed-out")
    driver.switch_to.window(second)
    wait_state(driver, "signed-out", timeout=2)
    reason = driver.find_element(By.ID, "signed-out-reason")
    assert reason.get_attribute("data-code") == "logout"
    assert reason.text == "You signed out."
    assert driver.find_element(By.ID, "app").is_displayed() is False
    assert site.events("logout", family) == 1
    # Its next request carries no token, and the server knows no one.
    assert driver.execute_script("return window.portfolio.client.isSignedIn") is False
    status, body = client_fetch(driver, "portfolio/")
    assert (status, body["error"]["code"]) == (401, "not_authenticated")
    assert not [c for c in all_cookies(driver) if c["name"] in ("tessera_refresh", "sessionid")]


# --- 5. A stolen refresh cookie replayed after a rotation ends the session.


def test_a_replayed_stolen_cookie_signs_the_spa_out(site: BrowserSite, browser: Browser) -> None:
    driver = browser()
    sign_in(driver, site)
    family = current_family(driver)
    [stolen] = [c["value"] for c in all_cookies(driver) if c["name"] == "tessera_refresh"]
    # The browser rotates the refresh token once the access token expires.
    wait_for_expiry()
    assert client_fetch(driver, "portfolio/")[0] == 200
    [rotated] = [c["value"] for c in all_cookies(driver) if c["name"] == "tessera_refresh"]
    assert rotated != stolen
    # Within REUSE_GRACE of that rotation the stolen token would still get
    # the same successor as the browser; once the browser has rotated again,
    # it is a grandparent, and reuse whenever it comes.
    wait_for_expiry()
    assert client_fetch(driver, "portfolio/")[0] == 200

    # The thief presents the spent token from outside the browser.
    status, body, _ = site.call("POST", "/api/v1/auth/refresh/", {"refresh": stolen})
    assert (status, body["error"]["code"]) == (401, "refresh_reused")
    assert site.events("reuse_detected", family) == 1

    # The user's next action finds the session revoked.
    form = driver.find_element(By.ID, "add-project")
    form.find_element(By.NAME, "title").send_keys("After the theft")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_state(driver, "signed-out")
    reason = driver.find_element(By.ID, "signed-out-reason")
    assert reason.get_attribute("data-code") in {"token_revoked", "refresh_reused"}
    assert "session was ended" in reason.text


# --- 6. A reload keeps the session, with no new login.


def test_reload_keeps_the_session(site: BrowserSite, browser: Browser) -> None:
    driver = browser()
    sign_in(driver, site)
    family = current_family(driver)
    issued = site.events("session_issued")
    # Without the Django session, only the refresh cookie can sign the page in.
    driver.delete_cookie("sessionid")
    driver.refresh()
    wait_state(driver, "signed-in")
    wait(driver, lambda d: "this browser" in d.find_element(By.ID, "sessions").text)
    assert current_family(driver) == family
    assert site.events("session_issued") == issued


# --- Both kinds of client on the same running site.


def test_api_clients_get_the_refresh_token_in_the_body_while_the_spa_has_the_cookie(
    site: BrowserSite, browser: Browser
) -> None:
    driver = browser()
    sign_in(driver, site)
    tokens = api_login(site)
    assert set(tokens) == {"access", "refresh"}
    status, body, _ = site.call("POST", "/api/v1/auth/refresh/", {"refresh": tokens["refresh"]})
    assert status == 200
    assert set(body) == {"access", "refresh"}
    # Meanwhile the browser's refresh answers carry no refresh token.
    wait_for_expiry()
    answer = driver.execute_async_script(
        """
        const done = arguments[0];
        const csrf = document.cookie.match(/csrftoken=([^;]+)/)[1];
        fetch("/api/v1/auth/refresh/", {method: "POST", body: "{}", headers: {
          "Content-Type": "application/json", "X-CSRFToken": csrf}})
          .then(async (r) => done([r.status, await r.json()]));
        """
    )
    assert answer[0] == 200
    assert set(answer[1]) == {"access"}
