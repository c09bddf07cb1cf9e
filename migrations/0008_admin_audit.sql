-- Every administrative change: who, when, what, before → after. The database
-- keeps it append-only: no UPDATE, DELETE or TRUNCATE, whoever asks.
CREATE TABLE admin_audit (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    -- The administrator; NULL for the command line (actor says who ran it).
    actor_id bigint REFERENCES users (id),
    actor text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    before jsonb,
    after jsonb
);
CREATE INDEX admin_audit_at ON admin_audit (at DESC, id DESC);

CREATE FUNCTION admin_audit_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the admin audit log is append-only (% refused)', TG_OP;
END
$$;
CREATE TRIGGER admin_audit_is_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON admin_audit
    FOR EACH STATEMENT EXECUTE FUNCTION admin_audit_is_append_only();
