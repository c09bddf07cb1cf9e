-- Users and their bearer tokens (only a SHA-256 of each token is stored).
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    role text NOT NULL CHECK (role IN ('inspector', 'operator', 'dispatcher', 'department', 'kiosk', 'admin')),
    department text,
    kiosk_id text,
    kiosk_lon double precision,
    kiosk_lat double precision,
    token_sha256 text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'department') = (department IS NOT NULL)),
    CHECK ((role = 'kiosk') = (kiosk_id IS NOT NULL AND kiosk_lon IS NOT NULL AND kiosk_lat IS NOT NULL))
);
