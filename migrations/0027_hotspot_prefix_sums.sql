-- Hotspots over long periods (issue 12). A year of the ten-million-case
-- history is a million cases in 44,000 grids; counting them per request took
-- 2.2 s, and no sum per day or per month helps: a month holds about as many
-- (grid, count) rows as it has cases. What does help are sums of everything
-- *before* each month: the count of a grid over any period of whole months is
-- the sum before its end less the sum before its start, two rows per grid
-- whatever the period's length. Periods that start or end inside a month
-- count their cases from the nearest settled month's start to the period's
-- end (src/http/stats.rs, hotspots).
--
-- Months are UTC months, like the evaluation's days. A month is settled by a
-- server's sweep (hotspot_settle) once it is an hour past: its sums are the
-- previous month's plus the previous month's own cases. The cases of a
-- settled month change only by becoming void (a state no case leaves) or by a
-- case reported with a time before it (intake writes the server's clock, so
-- none, but the trigger below counts it): both change the sums of the later
-- settled months in the case's own transaction, under a shared lock the
-- settling takes exclusively, so no change is both in and out of a new month.

-- The settled months: each one's start, before which its sums count.
CREATE TABLE hotspot_months (
    month timestamptz PRIMARY KEY
);

-- Cases reported before `month`, not void, per unit grid …
CREATE TABLE hotspot_grids (
    month timestamptz NOT NULL REFERENCES hotspot_months,
    grid text NOT NULL,
    cases bigint NOT NULL,
    PRIMARY KEY (month, grid) INCLUDE (cases)
);

-- … and per H3 cell at resolution 9 (h3_parent of the cases' own cells), the
-- finest the sums serve; coarser cells are their parents.
CREATE TABLE hotspot_cells (
    month timestamptz NOT NULL REFERENCES hotspot_months,
    cell bigint NOT NULL,
    cases bigint NOT NULL,
    PRIMARY KEY (month, cell) INCLUDE (cases)
);

-- Settles the next month, if one is due: true when it did (call again),
-- false when there is none yet, a case before it still has no H3 cell
-- (migration 0024's fill), or another server is settling.
CREATE FUNCTION hotspot_settle(now timestamptz) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    last timestamptz;
    next timestamptz;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended('hotspot_settle', 0)) THEN
        RETURN false;
    END IF;
    SELECT max(month) INTO last FROM hotspot_months;
    IF last IS NULL THEN
        -- The first case's month: nothing before it.
        SELECT date_trunc('month', min(reported_at) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
            INTO next FROM cases;
    ELSE
        next := ((last AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
    END IF;
    IF next IS NULL OR next > now - interval '1 hour'
       OR EXISTS (SELECT 1 FROM cases WHERE cell IS NULL AND reported_at < next) THEN
        RETURN false;
    END IF;
    INSERT INTO hotspot_months VALUES (next);
    IF last IS NOT NULL THEN
        INSERT INTO hotspot_grids (month, grid, cases)
        SELECT next, grid, sum(n) FROM (
            SELECT grid, cases AS n FROM hotspot_grids WHERE month = last
            UNION ALL
            SELECT grid, count(*) FROM cases
            WHERE reported_at >= last AND reported_at < next AND state <> 'void' AND grid IS NOT NULL
            GROUP BY grid
        ) s GROUP BY grid;
        INSERT INTO hotspot_cells (month, cell, cases)
        SELECT next, cell, sum(n) FROM (
            SELECT cell, cases AS n FROM hotspot_cells WHERE month = last
            UNION ALL
            SELECT h3_parent(cell, 9), count(*) FROM cases
            WHERE reported_at >= last AND reported_at < next AND state <> 'void'
            GROUP BY 1
        ) s GROUP BY cell;
    END IF;
    RETURN true;
END $$;

-- A case that becomes void leaves the sums of the settled months after it
-- was reported; a case reported before a settled month (none by intake)
-- joins them.
CREATE FUNCTION hotspot_sums_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c cases;
    n bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state = 'void' OR NOT EXISTS (SELECT 1 FROM hotspot_months WHERE month > NEW.reported_at) THEN
            RETURN NULL;
        END IF;
        c := NEW;
        n := 1;
    ELSE
        c := OLD;
        n := -1;
    END IF;
    -- A month being settled is waited for; then it is among those changed.
    PERFORM pg_advisory_xact_lock_shared(hashtextextended('hotspot_settle', 0));
    IF c.grid IS NOT NULL THEN
        INSERT INTO hotspot_grids AS g (month, grid, cases)
        SELECT month, c.grid, n FROM hotspot_months WHERE month > c.reported_at
        ON CONFLICT (month, grid) DO UPDATE SET cases = g.cases + EXCLUDED.cases;
    END IF;
    IF c.cell IS NOT NULL THEN
        INSERT INTO hotspot_cells AS h (month, cell, cases)
        SELECT month, h3_parent(c.cell, 9), n FROM hotspot_months WHERE month > c.reported_at
        ON CONFLICT (month, cell) DO UPDATE SET cases = h.cases + EXCLUDED.cases;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER cases_hotspot_sums_insert AFTER INSERT ON cases
    FOR EACH ROW EXECUTE FUNCTION hotspot_sums_change();
CREATE TRIGGER cases_hotspot_sums_void AFTER UPDATE OF state ON cases
    FOR EACH ROW WHEN (NEW.state = 'void' AND OLD.state <> 'void')
    EXECUTE FUNCTION hotspot_sums_change();
