-- Each case's H3 cell, for the hotspots (issue 12): a year of a long history
-- is a million cases, whose points went to the server one by one to be
-- put in cells there (4.2 s). A case's place never changes, so its cell at
-- resolution 12 (about 300 m², the finest the hotspots show) is written
-- with it at intake, and a cell of a coarser resolution is its parent, taken
-- by bit arithmetic (h3_parent). The cases taken before this migration get
-- theirs from the servers, a batch at a time (src/store/cases.rs,
-- fill_cells); until then the hotspots put those in cells as before.
ALTER TABLE cases ADD COLUMN cell bigint;
-- The cases still without one, newest first.
CREATE INDEX cases_cell_missing_idx ON cases (reported_at) WHERE cell IS NULL;

-- A period's cases with everything the hotspots count them by, from the
-- index alone.
CREATE INDEX cases_hotspots_idx ON cases (reported_at) INCLUDE (cell, grid, class, kind, department)
    WHERE state <> 'void';

-- The parent at `resolution` (0–15, not finer than the cell's) of an H3
-- cell index: the resolution field (bits 52–55) set, and the digits past
-- it (three bits each, the last in bits 0–2) all 7.
CREATE FUNCTION h3_parent(cell bigint, resolution integer) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (cell & ~(15::bigint << 52)) | (resolution::bigint << 52)
           | ((1::bigint << (3 * (15 - resolution))) - 1)
$$;
