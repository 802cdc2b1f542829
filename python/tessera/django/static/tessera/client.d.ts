// Types of Tessera's browser client (client.js beside this file).

/** Where a tab's session is: see the state machine at the top of client.js. */
export type SessionState = "signed-out" | "signed-in" | "refreshing";

/**
 * Why a tab was signed out: "logout" (this tab or another one signed out),
 * or the error code of the refresh or request that ended the session
 * ("refresh_reused", "token_revoked", "token_expired", "user_inactive", ...).
 */
export type SignOutReason =
  | "logout"
  | "refresh_reused"
  | "token_revoked"
  | "token_expired"
  | (string & {});

/** The subset of the Web Locks API the client uses (navigator.locks). */
export interface LockManagerLike {
  request<T>(name: string, callback: (lock: unknown) => Promise<T> | T): Promise<T>;
}

/** The last change of the session shared by the tabs; it holds no token. */
export interface Epoch {
  epoch: number;
  /** Set when the change was a sign-out. */
  reason: SignOutReason | null;
}

/** Where the tabs keep the epoch; it must be consistent across tabs. */
export interface EpochStore {
  read(): Promise<Epoch | null | undefined>;
  write(value: Epoch): Promise<void>;
}

export interface TesseraClientOptions {
  /** Where tessera.django's URLs are included; default "/api/v1/". */
  baseUrl?: string;
  /** Seconds before `exp` at which the access token is refreshed; default 30,
   * and at most half the token's lifetime. */
  refreshMargin?: number;
  /** Refresh token in the HttpOnly cookie (default true); false keeps it in
   * this tab's memory, one session per tab. */
  cookieMode?: boolean;
  /** Name of Django's CSRF cookie; default "csrftoken". */
  csrfCookieName?: string;
  /** Returns the CSRF token; default reads the csrfCookieName cookie. */
  csrfToken?: () => string | null;
  /** Separates clients of different APIs on one origin; default baseUrl. */
  channelName?: string;
  /** The fetch to call; default globalThis.fetch. */
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  /** Web Locks; default navigator.locks; null: single flight within the tab only. */
  locks?: LockManagerLike | null;
  /** The epoch store; default one record in IndexedDB; null: messages only. */
  epochs?: EpochStore | null;
  /** The BroadcastChannel class; default globalThis.BroadcastChannel. */
  BroadcastChannel?: typeof BroadcastChannel | null;
  /** The clock, in milliseconds since the epoch; default Date.now. */
  now?: () => number;
}

export class TesseraClient {
  constructor(options?: TesseraClientOptions);

  /** The state of this tab's session. */
  readonly state: SessionState;
  /** Whether this tab holds an access token. */
  readonly isSignedIn: boolean;

  /** Trades the Django session (and its CSRF token) for tokens. */
  fromSession(): Promise<Response>;
  /** Signs in with an email and a password. */
  login(email: string, password: string): Promise<Response>;
  /**
   * A request to `path` (relative to baseUrl, or absolute) with the bearer
   * token, refreshed first when due and retried once after a 401
   * token_expired. Resolves to the Response whatever its status (the caller
   * reads `error.code`); rejects on network errors only. A body that is
   * retried must be one fetch can send twice (a string, Blob, FormData).
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Calls `callback` at every sign-out of this tab; returns the unsubscriber. */
  onSignedOut(callback: (reason: SignOutReason) => void): () => void;
  /** Ends this session on the server and signs every tab out. */
  logout(): Promise<Response>;
  /** Ends every session of the user and signs every tab out. */
  logoutEverywhere(): Promise<Response>;
  /** Stops listening to other tabs. */
  close(): void;
}

/** The `error.code` of a Tessera error response, or null. */
export function errorCode(response: Response): Promise<string | null>;
