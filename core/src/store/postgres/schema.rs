//! The PostgreSQL schema: the `tessera_*` tables and their migrations. A
//! contract with databases already in use.
//!
//! Invariant: a published migration never changes; a change of layout is a
//! new entry, applied once, in order, in one transaction.

/// Schema migrations, in order. A published migration never changes; a
/// change of layout is a new entry.
pub(super) const MIGRATIONS: &[(i32, &str)] = &[
    (1, MIGRATION_1),
    (2, MIGRATION_2),
    (3, MIGRATION_3),
    (4, MIGRATION_4),
    (5, MIGRATION_5),
];

/// Version 5: per-user change stamps (`engine/stamps.rs`).
const MIGRATION_5: &str = "
CREATE TABLE tessera_user_stamp (
    user_id text PRIMARY KEY,
    stamp bigint NOT NULL CHECK (stamp > 0)
);
COMMENT ON TABLE tessera_user_stamp IS 'per-user change stamps: bumped whenever something that authenticates the user changes; a missing row is stamp 0';
";

/// Version 4: converging rotation and session controls. A family row
/// gains the session's `auth_time` and the current pair's extra claims
/// (JSON text, kept byte for byte: `jsonb` would reorder the members); the
/// derivation secret of successor jtis gets a table of its own; and the
/// `session_limit` revocation reason is allowed.
const MIGRATION_4: &str = "
ALTER TABLE tessera_family ADD COLUMN auth_time bigint;
ALTER TABLE tessera_family ADD COLUMN extra text;
COMMENT ON COLUMN tessera_family.auth_time IS 'when the credential check behind the session happened';
COMMENT ON COLUMN tessera_family.extra IS 'extra claims of the current pair, JSON text, to re-mint it within reuse_grace';
ALTER TABLE tessera_family DROP CONSTRAINT tessera_family_reason_check;
ALTER TABLE tessera_family ADD CONSTRAINT tessera_family_reason_check
    CHECK (reason IN ('logout', 'logout_all', 'reuse', 'session_limit'));
CREATE TABLE tessera_secret (
    name text PRIMARY KEY,
    secret bytea NOT NULL CHECK (octet_length(secret) = 32)
);
COMMENT ON TABLE tessera_secret IS 'the store''s secrets: derivation, the HMAC key of successor jtis; never leaves the engine';
";

/// Version 3: attempt counters for throttling (`engine/throttle.rs`).
const MIGRATION_3: &str = "
CREATE TABLE tessera_attempts (
    digest bytea PRIMARY KEY CHECK (octet_length(digest) = 32),
    count integer NOT NULL CHECK (count >= 0),
    resets_at bigint NOT NULL
);
COMMENT ON TABLE tessera_attempts IS 'attempt counters (logins and the like) of fixed windows; written with synchronous_commit off';
COMMENT ON COLUMN tessera_attempts.digest IS 'SHA-256 of the throttle key (account and address); never the key itself';
COMMENT ON COLUMN tessera_attempts.resets_at IS 'end of the window: purge time';
";

/// Version 2: a family row alone holds the state of the tokens Tessera
/// issued for it (`current`, `previous`), so rotations write no
/// `tessera_refresh` row; that table keeps only tokens Tessera did not issue
/// (simplejwt's), and rows version 1 wrote, until they expire. The layout
/// is unchanged; the new version makes a build that knows only version 1,
/// which would take every such session for gone, refuse the database.
const MIGRATION_2: &str = "
COMMENT ON TABLE tessera_refresh IS 'spent or logged-out refresh tokens Tessera did not issue, by SHA-256 of the jti; the tokens of a family are tracked in tessera_family';
";

/// Version 1: one table per record type, columns for every record field.
/// Times are Unix seconds (`bigint`), as in the records.
const MIGRATION_1: &str = "
CREATE TABLE tessera_refresh (
    digest bytea PRIMARY KEY CHECK (octet_length(digest) = 32),
    family bytea NOT NULL CHECK (octet_length(family) = 16),
    state text NOT NULL,
    state_at bigint,
    child bytea CHECK (octet_length(child) = 32),
    issued_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    CHECK (
        (state = 'active' AND state_at IS NULL AND child IS NULL)
        OR (state = 'rotated' AND state_at IS NOT NULL AND child IS NOT NULL)
        OR (state = 'blacklisted' AND state_at IS NOT NULL AND child IS NULL)
    )
);
COMMENT ON COLUMN tessera_refresh.digest IS 'SHA-256 of the jti';
COMMENT ON COLUMN tessera_refresh.state_at IS 'when the token was rotated or blacklisted';
COMMENT ON COLUMN tessera_refresh.child IS 'digest of the token it was exchanged for';
COMMENT ON COLUMN tessera_refresh.expires_at IS 'exp + leeway: purge time';
CREATE INDEX tessera_refresh_expiry ON tessera_refresh (expires_at, digest);

CREATE TABLE tessera_family (
    id bytea PRIMARY KEY CHECK (octet_length(id) = 16),
    user_id text NOT NULL,
    created_at bigint NOT NULL,
    last_refreshed_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    current bytea NOT NULL CHECK (octet_length(current) = 32),
    previous bytea CHECK (octet_length(previous) = 32),
    state text NOT NULL CHECK (state IN ('active', 'revoked')),
    revoked_at bigint,
    reason text CHECK (reason IN ('logout', 'logout_all', 'reuse')),
    CHECK ((state = 'active') = (revoked_at IS NULL)),
    CHECK ((revoked_at IS NULL) = (reason IS NULL))
);
CREATE INDEX tessera_family_user ON tessera_family (user_id, id);

CREATE TABLE tessera_user_revoked (
    user_id text PRIMARY KEY,
    revoked_at bigint NOT NULL
);

CREATE TABLE tessera_pat (
    digest bytea PRIMARY KEY CHECK (octet_length(digest) = 32),
    id bytea NOT NULL UNIQUE CHECK (octet_length(id) = 16),
    user_id text NOT NULL,
    name text NOT NULL,
    prefix text NOT NULL,
    scopes text[] NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint,
    last_used_at bigint,
    revoked_at bigint
);
COMMENT ON COLUMN tessera_pat.digest IS 'SHA-256 or HMAC-SHA256 of the whole token';
CREATE INDEX tessera_pat_user ON tessera_pat (user_id, created_at, id);
";
