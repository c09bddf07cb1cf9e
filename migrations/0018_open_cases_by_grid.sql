-- The grids layer's count of open cases per grid (src/http/tiles.rs), from
-- the index alone: a grid with ten years of closed cases is not read.
CREATE INDEX cases_open_grid_idx ON cases (grid)
    WHERE state IN ('reported', 'filed', 'dispatched', 'handled', 'suspended');
