-- Hotspots over long periods (issue 12). A year of the ten-million-case
-- history is a million cases in 44,000 grids; counting them per request took
-- 2.2 s, and no sum per day or per month helps: a month holds about as many
-- (grid, count) rows as it has cases. What does help are sums of everything
-- *before* a moment: the count of a grid over a period is its sum before the
-- period's end less its sum before its start, two rows a grid whatever the
-- period's length. Such sums are kept at every UTC month's start and, for
-- the last 62 days, at every UTC day's start ("bounds"), so a period's ends
-- are never more than half a day (recent) or half a month (older) from a
-- bound; the cases between an end and its nearest bound are counted from the
-- cases themselves (src/store/hotspots.rs).
--
-- A bound is settled by a server's sweep (hotspot_settle) once it is an hour
-- past: its sums are the previous bound's plus the cases in between. The
-- cases before a settled bound change only by becoming void (a state no case
-- leaves) or by a case reported with a time before it (intake writes the
-- server's clock, so none, but the trigger below counts it): both change the
-- sums of the later bounds in the case's own transaction, under a shared lock
-- the settling takes exclusively, so no change is both in and out of a new
-- bound.
--
-- A bound's `version` is new whenever its sums change (settled, or changed
-- by a case), so the servers keep the sums of two bounds, once read, for as
-- long as both versions stand.

-- The settled bounds: the moments before which the sums count.
CREATE SEQUENCE hotspot_versions;
CREATE TABLE hotspot_bounds (
    at timestamptz PRIMARY KEY,
    version bigint NOT NULL DEFAULT nextval('hotspot_versions')
);

-- Cases reported before `at`, not void, per unit grid …
CREATE TABLE hotspot_grids (
    at timestamptz NOT NULL REFERENCES hotspot_bounds ON DELETE CASCADE,
    grid text NOT NULL,
    cases bigint NOT NULL,
    PRIMARY KEY (at, grid) INCLUDE (cases)
);

-- … and per H3 cell at resolution 9 (h3_parent of the cases' own cells), the
-- finest the sums serve; coarser cells are their parents.
CREATE TABLE hotspot_cells (
    at timestamptz NOT NULL REFERENCES hotspot_bounds ON DELETE CASCADE,
    cell bigint NOT NULL,
    cases bigint NOT NULL,
    PRIMARY KEY (at, cell) INCLUDE (cases)
);

-- Settles the next bound, if one is due: true when it did (call again),
-- false when there is none yet, a case before it still has no H3 cell
-- (migration 0024's fill), or another server is settling. Day bounds older
-- than 62 days go (but for months' starts).
CREATE FUNCTION hotspot_settle(now timestamptz) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    last timestamptz;
    next timestamptz;
    daily constant timestamptz := now - interval '62 days';
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended('hotspot_settle', 0)) THEN
        RETURN false;
    END IF;
    DELETE FROM hotspot_bounds  -- and their sums
        WHERE at < daily AND at <> date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    SELECT max(at) INTO last FROM hotspot_bounds;
    IF last IS NULL THEN
        -- The first case's month: nothing before it.
        SELECT date_trunc('month', min(reported_at) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
            INTO next FROM cases;
    ELSE
        next := ((last AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
        IF next > daily THEN
            -- Days from here on, the first of them inside the 62 days.
            next := greatest(((last AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC',
                             (date_trunc('day', daily AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC');
        END IF;
    END IF;
    IF next IS NULL OR next > now - interval '1 hour'
       OR EXISTS (SELECT 1 FROM cases WHERE cell IS NULL AND reported_at < next) THEN
        RETURN false;
    END IF;
    INSERT INTO hotspot_bounds (at) VALUES (next);
    IF last IS NOT NULL THEN
        INSERT INTO hotspot_grids (at, grid, cases)
        SELECT next, grid, sum(n) FROM (
            SELECT grid, cases AS n FROM hotspot_grids WHERE at = last
            UNION ALL
            SELECT grid, count(*) FROM cases
            WHERE reported_at >= last AND reported_at < next AND state <> 'void' AND grid IS NOT NULL
            GROUP BY grid
        ) s GROUP BY grid;
        INSERT INTO hotspot_cells (at, cell, cases)
        SELECT next, cell, sum(n) FROM (
            SELECT cell, cases AS n FROM hotspot_cells WHERE at = last
            UNION ALL
            SELECT h3_parent(cell, 9), count(*) FROM cases
            WHERE reported_at >= last AND reported_at < next AND state <> 'void'
            GROUP BY 1
        ) s GROUP BY cell;
    END IF;
    RETURN true;
END $$;

-- A case that becomes void leaves the sums of the settled bounds after it
-- was reported; a case reported before a settled bound (none by intake)
-- joins them.
CREATE FUNCTION hotspot_sums_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c cases;
    n bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state = 'void' OR NOT EXISTS (SELECT 1 FROM hotspot_bounds WHERE at > NEW.reported_at) THEN
            RETURN NULL;
        END IF;
        IF NEW.cell IS NULL THEN
            -- No cell to count it in (a case written without one, which
            -- migration 0024's fill gives it later): the later bounds go,
            -- to be settled again once it has its cell.
            PERFORM pg_advisory_xact_lock_shared(hashtextextended('hotspot_settle', 0));
            DELETE FROM hotspot_bounds WHERE at > NEW.reported_at;  -- and their sums
            RETURN NULL;
        END IF;
        c := NEW;
        n := 1;
    ELSE
        c := OLD;
        n := -1;
    END IF;
    -- A bound being settled is waited for; then it is among those changed.
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('hotspot_settle', 0));
    IF c.grid IS NOT NULL THEN
        INSERT INTO hotspot_grids AS g (at, grid, cases)
        SELECT at, c.grid, n FROM hotspot_bounds WHERE at > c.reported_at
        ON CONFLICT (at, grid) DO UPDATE SET cases = g.cases + EXCLUDED.cases;
    END IF;
    IF c.cell IS NOT NULL THEN
        INSERT INTO hotspot_cells AS h (at, cell, cases)
        SELECT at, h3_parent(c.cell, 9), n FROM hotspot_bounds WHERE at > c.reported_at
        ON CONFLICT (at, cell) DO UPDATE SET cases = h.cases + EXCLUDED.cases;
    END IF;
    UPDATE hotspot_bounds SET version = nextval('hotspot_versions') WHERE at > c.reported_at;
    RETURN NULL;
END $$;

CREATE TRIGGER cases_hotspot_sums_insert AFTER INSERT ON cases
    FOR EACH ROW EXECUTE FUNCTION hotspot_sums_change();
CREATE TRIGGER cases_hotspot_sums_void AFTER UPDATE OF state ON cases
    FOR EACH ROW WHEN (NEW.state = 'void' AND OLD.state <> 'void')
    EXECUTE FUNCTION hotspot_sums_change();
