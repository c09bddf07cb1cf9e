-- Which cases a photo belongs to (a department sees only its own cases' photos).
CREATE INDEX reports_photos_idx ON reports USING gin (photos);
CREATE INDEX case_events_photos_idx ON case_events USING gin (photos);
