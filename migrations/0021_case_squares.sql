-- The map's case clusters below zoom 13 from sums instead of cases (issue
-- 12): a city-wide tile read the 150,000 open cases of a long history one
-- by one (0.3–0.7 s). The open cases are summed per map square — a tile of
-- zoom 15, about a kilometre — by department, state, light and urgency,
-- with the sum of their positions; a tile at zoom 12 or less adds up the
-- squares inside it, eight by eight.

-- The light of a stage due at `due_at`, yellow from `warn_at`, at `at`.
CREATE FUNCTION case_light(due_at timestamptz, warn_at timestamptz, at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN at > due_at THEN 'red' WHEN at >= warn_at THEN 'yellow' ELSE 'green' END
$$;

-- An open case's light as of its last change or the last light sweep (every
-- server's overdue sweep moves lights on as their times pass: src/store/cases.rs);
-- NULL once the case left the loop. A suspended case's light stands.
ALTER TABLE cases ADD COLUMN light text;

-- The zoom-15 tile column and row of a point (Web Mercator).
CREATE FUNCTION map_square_x(lon double precision) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT floor((lon + 180) / 360 * 32768)::integer
$$;
CREATE FUNCTION map_square_y(lat double precision) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT floor((1 - ln(tan(radians(lat)) + 1 / cos(radians(lat))) / pi()) / 2 * 32768)::integer
$$;

-- Rows are added, never updated, so that cases changing at once never wait
-- for one another: each change of an open case adds a row taking it off
-- its old sums and one putting it on its new ones (`settled` false); the
-- sweep folds them into one settled row per key (case_squares_settle).
CREATE TABLE case_squares (
    department text NOT NULL,          -- '' for none
    state text NOT NULL,
    light text NOT NULL,
    urgent boolean NOT NULL,
    x integer NOT NULL,
    y integer NOT NULL,
    cases integer NOT NULL,
    lon_sum double precision NOT NULL,
    lat_sum double precision NOT NULL,
    settled boolean NOT NULL DEFAULT false
);
CREATE INDEX case_squares_xy_idx ON case_squares (x, y);
CREATE INDEX case_squares_unsettled_idx ON case_squares (x) WHERE NOT settled;

CREATE FUNCTION case_squares_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE')
       AND OLD.state IN ('reported', 'filed', 'dispatched', 'handled', 'suspended') THEN
        INSERT INTO case_squares (department, state, light, urgent, x, y, cases, lon_sum, lat_sum)
        VALUES (coalesce(OLD.department, ''), OLD.state, coalesce(OLD.light, 'green'), OLD.urgent,
                map_square_x(ST_X(OLD.geom)), map_square_y(ST_Y(OLD.geom)), -1, -ST_X(OLD.geom), -ST_Y(OLD.geom));
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE')
       AND NEW.state IN ('reported', 'filed', 'dispatched', 'handled', 'suspended') THEN
        INSERT INTO case_squares (department, state, light, urgent, x, y, cases, lon_sum, lat_sum)
        VALUES (coalesce(NEW.department, ''), NEW.state, coalesce(NEW.light, 'green'), NEW.urgent,
                map_square_x(ST_X(NEW.geom)), map_square_y(ST_Y(NEW.geom)), 1, ST_X(NEW.geom), ST_Y(NEW.geom));
    END IF;
    RETURN NULL;
END $$;

-- Folds the rows added since into one settled row per key. Servers settle
-- one at a time; a case changing meanwhile adds rows for the next time.
CREATE FUNCTION case_squares_settle() RETURNS void LANGUAGE sql AS $$
    WITH keys AS (
        SELECT DISTINCT department, state, light, urgent, x, y FROM case_squares WHERE NOT settled
    ), gone AS (
        DELETE FROM case_squares s USING keys k
        WHERE (s.department, s.state, s.light, s.urgent, s.x, s.y) = (k.department, k.state, k.light, k.urgent, k.x, k.y)
          AND pg_try_advisory_xact_lock(hashtextextended('case_squares_settle', 0))
        RETURNING s.*
    )
    INSERT INTO case_squares (department, state, light, urgent, x, y, cases, lon_sum, lat_sum, settled)
    SELECT department, state, light, urgent, x, y, sum(cases), sum(lon_sum), sum(lat_sum), true
    FROM gone GROUP BY department, state, light, urgent, x, y HAVING sum(cases) <> 0;
$$;

-- Every open case's light at `at`, and the squares summed again (after a
-- bulk load, or a clock set back). Changes to cases wait meanwhile, so that
-- none is both in the new sums and in rows of its own.
CREATE FUNCTION case_lights_rebuild(at timestamptz) RETURNS void LANGUAGE sql AS $$
    LOCK TABLE cases IN SHARE ROW EXCLUSIVE MODE;
    UPDATE cases SET light = CASE WHEN state IN ('reported', 'filed', 'dispatched', 'handled', 'suspended')
                                  THEN case_light(due_at, warn_at, coalesce(suspended_at, at)) END
    WHERE light IS DISTINCT FROM CASE WHEN state IN ('reported', 'filed', 'dispatched', 'handled', 'suspended')
                                      THEN case_light(due_at, warn_at, coalesce(suspended_at, at)) END;
    DELETE FROM case_squares;
    INSERT INTO case_squares (department, state, light, urgent, x, y, cases, lon_sum, lat_sum, settled)
    SELECT coalesce(department, ''), state, light, urgent, map_square_x(ST_X(geom)), map_square_y(ST_Y(geom)),
           count(*), sum(ST_X(geom)), sum(ST_Y(geom)), true
    FROM cases WHERE state IN ('reported', 'filed', 'dispatched', 'handled', 'suspended')
    GROUP BY 1, 2, 3, 4, 5, 6;
$$;
SELECT case_lights_rebuild(now());

-- From here on, every change of a case keeps its squares.
CREATE TRIGGER case_squares_insert AFTER INSERT ON cases FOR EACH ROW
    WHEN (NEW.state IN ('reported', 'filed', 'dispatched', 'handled', 'suspended'))
    EXECUTE FUNCTION case_squares_track();
CREATE TRIGGER case_squares_update AFTER UPDATE ON cases FOR EACH ROW
    WHEN ((OLD.state, OLD.department, OLD.light, OLD.urgent) IS DISTINCT FROM (NEW.state, NEW.department, NEW.light, NEW.urgent)
          OR NOT OLD.geom ~= NEW.geom)
    EXECUTE FUNCTION case_squares_track();
CREATE TRIGGER case_squares_delete AFTER DELETE ON cases FOR EACH ROW
    EXECUTE FUNCTION case_squares_track();

-- The lights the sweep moves on: green ones whose yellow time has come,
-- and those not yet red whose deadline has passed.
CREATE INDEX cases_light_warn_idx ON cases (warn_at)
    WHERE light = 'green' AND state IN ('reported', 'filed', 'dispatched', 'handled');
CREATE INDEX cases_light_due_idx ON cases (due_at)
    WHERE light IN ('green', 'yellow') AND state IN ('reported', 'filed', 'dispatched', 'handled');
