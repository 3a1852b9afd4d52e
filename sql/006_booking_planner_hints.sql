-- The planner cannot see how few rows the booking functions return. It
-- estimated a day's slots at millions of rows, so it spent about 300 ms
-- compiling the query with JIT before running it in 2 ms (PostgreSQL 15,
-- EXPLAIN ANALYZE on the seed data). Row estimates and jit = off fix that.
ALTER FUNCTION opening_intervals(date) ROWS 4;
ALTER FUNCTION booking_slots(date) SET jit = off ROWS 64;
ALTER FUNCTION booking_day(date, integer, timestamptz) SET jit = off ROWS 64;
ALTER FUNCTION booking_rule_check(timestamptz, timestamptz) SET jit = off ROWS 1;
ALTER FUNCTION reservation_book(text, text, text, integer, timestamptz, text, text,
                                timestamptz) SET jit = off;
ALTER FUNCTION reservation_cancel(text, text, timestamptz) SET jit = off;
