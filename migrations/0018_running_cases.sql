-- The grids layer's count of open cases per grid (src/http/tiles.rs), from
-- the index alone: a grid with ten years of closed cases is not read.
CREATE INDEX cases_open_grid_idx ON cases (grid)
    WHERE state IN ('reported', 'filed', 'dispatched', 'handled', 'suspended');
-- Each open case's running stage (its light on the map, the overdue filter)
-- from the index alone: a long history's finished stages are not read.
CREATE INDEX case_stages_running_idx ON case_stages (case_id, due_at) INCLUDE (started_at)
    WHERE done_at IS NULL;
-- The stages running late now (the overdue filter), by their deadline.
CREATE INDEX case_stages_running_due_idx ON case_stages (due_at) INCLUDE (case_id)
    WHERE done_at IS NULL;
