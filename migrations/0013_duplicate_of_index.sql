-- The cases merged into a case (its duplicates, their reports' callback
-- numbers), found by index rather than by reading every case.
CREATE INDEX cases_duplicate_of_idx ON cases (duplicate_of) WHERE duplicate_of IS NOT NULL;
