// Compiled with `tsc --noEmit` (mk/browser.mk): client.d.ts must describe
// the client as a site uses it. Nothing here runs.
import { TesseraClient, errorCode, type SessionState, type SignOutReason } from "tessera/client.js";

async function signedInPage(): Promise<void> {
  const client = new TesseraClient({ baseUrl: "/api/v1/", refreshMargin: 30 });
  const fromSession: Response = await client.fromSession();
  if (!fromSession.ok) await client.login("demo@example.com", "portfolio-demo-password");
  const response: Response = await client.fetch("portfolio/", { method: "GET" });
  const code: string | null = response.ok ? null : await errorCode(response);
  const unsubscribe: () => void = client.onSignedOut((reason: SignOutReason) => {
    console.log(`signed out: ${reason}`, code);
  });
  const signedIn: boolean = client.isSignedIn;
  const state: SessionState = client.state;
  console.log(signedIn, state);
  await client.logout();
  await client.logoutEverywhere();
  unsubscribe();
  client.close();
}

// Options for tests and unusual sites.
const custom = new TesseraClient({
  cookieMode: false,
  locks: null,
  epochs: null,
  csrfToken: () => "token",
  fetch: (input, init) => fetch(input, init),
  now: () => Date.now(),
});

// @ts-expect-error: the state is read-only.
custom.state = "signed-in";
// @ts-expect-error: login takes an email and a password.
void custom.login("only-an-email");

void signedInPage;
