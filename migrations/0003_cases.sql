-- Cases and their closed loop (see README "Cases").

-- Case rules imported from gis-data/: sla.csv, case_rules.csv, calendar.toml.
CREATE TABLE sla_rules (
    kind text NOT NULL CHECK (kind IN ('component', 'event', '*')),
    class text NOT NULL,
    urgent text NOT NULL CHECK (urgent IN ('yes', 'no', '*')),
    stage text NOT NULL CHECK (stage IN ('filing', 'dispatch', 'handling', 'verification')),
    amount integer NOT NULL CHECK (amount > 0),
    unit text NOT NULL CHECK (unit IN ('minutes', 'working_hours', 'working_days')),
    PRIMARY KEY (kind, class, urgent, stage)
);

CREATE TABLE case_rules (
    kind text NOT NULL CHECK (kind IN ('component', 'event', '*')),
    class text NOT NULL,
    duplicate_radius_m double precision NOT NULL CHECK (duplicate_radius_m >= 0),
    duplicates text NOT NULL CHECK (duplicates IN ('attach', 'suggest')),
    auto_file boolean NOT NULL,
    auto_dispatch boolean NOT NULL,
    PRIMARY KEY (kind, class)
);

-- The working calendar: one row, the parsed calendar.toml.
CREATE TABLE calendar (
    config jsonb NOT NULL
);

-- Photos: the file is on disk under its SHA-256, this row says it exists.
CREATE TABLE media (
    id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
    content_type text NOT NULL,
    bytes bigint NOT NULL,
    uploaded_by bigint NOT NULL REFERENCES users (id),
    uploaded_at timestamptz NOT NULL
);

-- Case numbers YYYYMMDD-NNNNNN: a counter per local day.
CREATE TABLE case_numbers (
    day date PRIMARY KEY,
    last integer NOT NULL
);

CREATE TABLE cases (
    id bigserial PRIMARY KEY,
    case_no text NOT NULL UNIQUE,
    state text NOT NULL CHECK (state IN ('reported', 'filed', 'rejected', 'dispatched', 'handled', 'closed', 'suspended', 'void')),
    kind text NOT NULL CHECK (kind IN ('component', 'event')),
    class text NOT NULL,
    urgent boolean NOT NULL,
    channel text NOT NULL CHECK (channel IN ('inspector', 'kiosk', 'operator', 'open311', 'public')),
    description text NOT NULL,
    address text NOT NULL DEFAULT '',
    geom geometry(Point, 4326) NOT NULL,
    grid text NOT NULL,
    community text NOT NULL,
    street text NOT NULL,
    district text NOT NULL,
    component text,
    department text,
    reported_by bigint REFERENCES users (id),
    reported_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    duplicate_of bigint REFERENCES cases (id),
    suspended_from text,
    suspended_at timestamptz,
    verified boolean NOT NULL DEFAULT false,
    rework_count integer NOT NULL DEFAULT 0,
    extension_requested_hours integer,
    version integer NOT NULL DEFAULT 1
);
CREATE INDEX cases_geom_idx ON cases USING gist (geom);
CREATE INDEX cases_open_class_idx ON cases (kind, class, reported_at) WHERE state NOT IN ('closed', 'rejected', 'void');
CREATE INDEX cases_department_idx ON cases (department, state);
CREATE INDEX cases_grid_idx ON cases (grid);
CREATE INDEX cases_updated_idx ON cases (updated_at);

-- Every report received: the first of a case, or a duplicate attached to it.
-- (reported_by, client_key) makes retries idempotent.
CREATE TABLE reports (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    reported_by bigint NOT NULL REFERENCES users (id),
    client_key text NOT NULL,
    channel text NOT NULL,
    description text NOT NULL,
    photos text[] NOT NULL DEFAULT '{}',
    geom geometry(Point, 4326) NOT NULL,
    reported_at timestamptz NOT NULL,
    duplicate boolean NOT NULL,
    UNIQUE (reported_by, client_key)
);
CREATE INDEX reports_case_idx ON reports (case_id);

-- Each timed stage of a case: when it started, is due, was done, went overdue.
CREATE TABLE case_stages (
    case_id bigint NOT NULL REFERENCES cases (id),
    stage text NOT NULL CHECK (stage IN ('filing', 'dispatch', 'handling', 'verification')),
    amount integer NOT NULL,
    unit text NOT NULL CHECK (unit IN ('minutes', 'working_hours', 'working_days')),
    started_at timestamptz NOT NULL,
    due_at timestamptz NOT NULL,
    done_at timestamptz,
    overdue_at timestamptz,
    PRIMARY KEY (case_id, stage)
);
CREATE INDEX case_stages_open_idx ON case_stages (due_at) WHERE done_at IS NULL AND overdue_at IS NULL;

-- The audit trail: append-only.
CREATE TABLE case_events (
    id bigserial PRIMARY KEY,
    case_id bigint NOT NULL REFERENCES cases (id),
    at timestamptz NOT NULL,
    actor_id bigint REFERENCES users (id),
    actor_name text NOT NULL,
    role text NOT NULL,
    action text NOT NULL,
    from_state text,
    to_state text NOT NULL,
    note text NOT NULL DEFAULT '',
    photos text[] NOT NULL DEFAULT '{}',
    data jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX case_events_case_idx ON case_events (case_id, id);

CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_events is an append-only audit trail: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER case_events_no_update BEFORE UPDATE OR DELETE ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_append_only();
CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION case_events_append_only();

-- Every event is published on commit to every server (SSE /api/v1/events).
CREATE FUNCTION case_events_publish() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c cases;
BEGIN
    SELECT * INTO c FROM cases WHERE id = NEW.case_id;
    PERFORM pg_notify('citygrid_cases', json_build_object(
        'type', CASE
            WHEN NEW.action = 'report' THEN 'created'
            WHEN NEW.action = 'overdue' THEN 'overdue'
            WHEN NEW.from_state IS DISTINCT FROM NEW.to_state THEN 'state_changed'
            ELSE 'updated' END,
        'event_id', NEW.id,
        'case_no', c.case_no,
        'action', NEW.action,
        'from', NEW.from_state,
        'to', NEW.to_state,
        'state', c.state,
        'kind', c.kind,
        'class', c.class,
        'urgent', c.urgent,
        'department', c.department,
        'grid', c.grid,
        'lon', ST_X(c.geom),
        'lat', ST_Y(c.geom),
        'version', c.version,
        'at', NEW.at)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER case_events_publish AFTER INSERT ON case_events
    FOR EACH ROW EXECUTE FUNCTION case_events_publish();
