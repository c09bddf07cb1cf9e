-- The base map under the city's own layers (optional data sets of the import
-- format): roads, water and landmarks, each with its Chinese name and, where
-- the city gives one, its English name. Rows keep the file's order (id).
CREATE TABLE roads (
    id integer PRIMARY KEY,
    name text NOT NULL DEFAULT '',
    name_en text NOT NULL DEFAULT '',
    class text NOT NULL,
    geom geometry(MultiLineString, 4326) NOT NULL
);

CREATE TABLE water (
    id integer PRIMARY KEY,
    name text NOT NULL DEFAULT '',
    name_en text NOT NULL DEFAULT '',
    geom geometry(MultiPolygon, 4326) NOT NULL
);

CREATE TABLE landmarks (
    id integer PRIMARY KEY,
    name text NOT NULL,
    name_en text NOT NULL DEFAULT '',
    kind text NOT NULL,
    geom geometry(Point, 4326) NOT NULL
);

CREATE INDEX roads_geom_idx ON roads USING gist (geom);
CREATE INDEX water_geom_idx ON water USING gist (geom);
CREATE INDEX landmarks_geom_idx ON landmarks USING gist (geom);
