-- A page of evaluation groups reads each of its keys' days in key order
-- (0023). Over a year by grid those are 22,000 daily rows of 1,000 grids,
-- each row on a heap page of its own: 21,500 pages read, 529 ms on the
-- ten-million-case history with the table in the OS cache (issue 12). With
-- the sums in the index as well, the same rows are read from 1,700
-- contiguous index pages and no heap page: 19 ms. The price: the index is
-- as large as the table (2.7 GB on ten million cases), and the sweep's
-- updates of recent days' sums write index entries (no HOT updates).
CREATE INDEX evaluation_days_key_sums_idx ON evaluation_days (grouping, key, day)
    INCLUDE (cases, reports, filed, dispatched, handled, handled_on_time, overdue, closed,
             closed_on_time, suspended, due, due_pending, rework, reworked, filing_h, filing_n,
             dispatch_h, dispatch_n, handling_h, handling_n, verification_h, verification_n);
DROP INDEX evaluation_days_key_idx;
