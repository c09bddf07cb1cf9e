-- Case numbers come from one sequence per day (case_no_YYYYMMDD, made by the
-- day's first report): no counter row that every report updates and holds
-- locked until it commits. case_numbers keeps the days numbered before, so
-- that such a day goes on after its last number; the reports that make a
-- day's sequence lock it, so that one of them makes it.
COMMENT ON TABLE case_numbers IS 'the last case number of each day numbered before the daily sequences';
