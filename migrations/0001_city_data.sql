-- City data: the import format's data sets (see README "City data").
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE districts (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{6}$'),
    name text NOT NULL,
    geom geometry(MultiPolygon, 4326) NOT NULL
);

CREATE TABLE streets (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{9}$'),
    name text NOT NULL,
    geom geometry(MultiPolygon, 4326) NOT NULL
);

CREATE TABLE communities (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{12}$'),
    name text NOT NULL,
    geom geometry(MultiPolygon, 4326) NOT NULL
);

CREATE TABLE grids (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{15}$'),
    name text NOT NULL DEFAULT '',
    community_code text GENERATED ALWAYS AS (left(code, 12)) STORED,
    geom geometry(MultiPolygon, 4326) NOT NULL
);
CREATE INDEX grids_community_idx ON grids (community_code);

CREATE TABLE departments (
    code text PRIMARY KEY,
    name text NOT NULL,
    phone text NOT NULL DEFAULT ''
);

CREATE TABLE classes (
    kind text NOT NULL CHECK (kind IN ('component', 'event')),
    code text NOT NULL CHECK (code ~ '^[0-9]{4}$'),
    major text NOT NULL,
    major_name text NOT NULL,
    name text NOT NULL,
    name_en text NOT NULL DEFAULT '',
    PRIMARY KEY (kind, code)
);

CREATE TABLE components (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{16}$'),
    class text NOT NULL,
    name text NOT NULL DEFAULT '',
    dept_competent text NOT NULL,
    dept_owner text,
    dept_maintainer text,
    state text NOT NULL CHECK (state IN ('intact', 'damaged', 'lost', 'encroached', 'removed')),
    geom geometry(Point, 4326) NOT NULL
);

CREATE TABLE services (
    id text PRIMARY KEY,
    category text NOT NULL,
    name text NOT NULL,
    address text NOT NULL DEFAULT '',
    phone text NOT NULL DEFAULT '',
    hours text NOT NULL DEFAULT '',
    geom geometry(Point, 4326) NOT NULL
);

CREATE TABLE routing_rules (
    kind text NOT NULL CHECK (kind IN ('component', 'event')),
    class text NOT NULL,
    area text NOT NULL,
    department text NOT NULL,
    PRIMARY KEY (kind, class, area)
);

-- What was last imported of each data set: a file identical to it is not reloaded.
CREATE TABLE datasets (
    name text PRIMARY KEY,
    sha256 text NOT NULL,
    rows bigint NOT NULL,
    imported_at timestamptz NOT NULL
);

CREATE INDEX districts_geom_idx ON districts USING gist (geom);
CREATE INDEX streets_geom_idx ON streets USING gist (geom);
CREATE INDEX communities_geom_idx ON communities USING gist (geom);
CREATE INDEX grids_geom_idx ON grids USING gist (geom);
CREATE INDEX components_geom_idx ON components USING gist (geom);
CREATE INDEX services_geom_idx ON services USING gist (geom);
