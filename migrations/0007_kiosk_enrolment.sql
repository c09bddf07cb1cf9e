-- A kiosk is enrolled, not signed in: an administrator's one-time code (a
-- SHA-256 here) is exchanged once, before it expires, for the kiosk's
-- long-lived device session.
CREATE TABLE enrolments (
    code_sha256 text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
