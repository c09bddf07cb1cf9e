-- Accounts: people sign in with a login and an Argon2id password and get a
-- session that ends; machines use named bearer tokens that can expire and be
-- revoked; a disabled user's sessions and tokens stop at once. Users are
-- never deleted: the audit trail names them.
ALTER TABLE users
    ADD COLUMN login text,
    ADD COLUMN password_hash text,
    ADD COLUMN disabled_at timestamptz,
    ADD COLUMN last_sign_in_at timestamptz;
UPDATE users SET login = 'user-' || id;
ALTER TABLE users ALTER COLUMN login SET NOT NULL;
CREATE UNIQUE INDEX users_login ON users (lower(login));

CREATE TABLE tokens (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    name text NOT NULL,
    token_sha256 text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz
);
INSERT INTO tokens (user_id, name, token_sha256, created_at)
SELECT id, 'created with the user', token_sha256, created_at FROM users;
ALTER TABLE users DROP COLUMN token_sha256;

CREATE TABLE sessions (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    secret_sha256 text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    idle_seconds integer NOT NULL CHECK (idle_seconds > 0),
    expires_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;
