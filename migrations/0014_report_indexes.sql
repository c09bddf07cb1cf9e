-- A case's reports in order (its first report's photos: ORDER BY id LIMIT 1
-- within the case), and the few that left a callback number.
CREATE INDEX reports_case_id_idx ON reports (case_id, id);
DROP INDEX reports_case_idx;
CREATE INDEX reports_callback_idx ON reports (case_id) WHERE callback_phone IS NOT NULL;
