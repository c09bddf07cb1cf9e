-- The case list (newest first, by any filter) and the case tiles on a long
-- history (issue 12): each walks an index in order and stops at its page
-- instead of sorting every matching case; with the state in the index, a
-- hundredth page steps over index entries alone. A btree is read backwards
-- as readily as forwards: the same indexes serve the exports (oldest first).
CREATE INDEX cases_reported_idx ON cases (reported_at, id) INCLUDE (state);
CREATE INDEX cases_department_reported_idx ON cases (department, reported_at, id) INCLUDE (state);
CREATE INDEX cases_district_reported_idx ON cases (district, reported_at, id) INCLUDE (state);
CREATE INDEX cases_street_reported_idx ON cases (street, reported_at, id) INCLUDE (state);
CREATE INDEX cases_grid_reported_idx ON cases (grid, reported_at, id) INCLUDE (state);
DROP INDEX cases_grid_idx;
-- The open cases (1–2 % of a long history): the dispatch centre's list and map.
CREATE INDEX cases_open_reported_idx ON cases (reported_at, id)
    WHERE state IN ('reported', 'filed', 'dispatched', 'handled', 'suspended');
CREATE INDEX cases_open_geom_idx ON cases USING gist (geom)
    WHERE state IN ('reported', 'filed', 'dispatched', 'handled', 'suspended');
