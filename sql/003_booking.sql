-- Time zone arithmetic and the race-safe booking logic. Every function takes
-- the application's clock as a parameter (p_now) instead of calling now(), so
-- tests can fix the clock.

-- Returns the UTC offset that zone has at instant ts.
CREATE FUNCTION zone_offset(ts timestamptz, zone text) RETURNS interval
LANGUAGE sql STABLE AS $$
	SELECT (ts AT TIME ZONE zone) - (ts AT TIME ZONE 'UTC');
$$;

-- Formats ts as ISO 8601 local time in zone with its offset, for example
-- 2026-12-24T19:00:00+01:00.
CREATE FUNCTION iso_local(ts timestamptz, zone text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT to_char(ts AT TIME ZONE zone, 'YYYY-MM-DD"T"HH24:MI:SS')
		|| CASE WHEN s < 0 THEN '-' ELSE '+' END
		|| to_char(abs(s) / 3600, 'FM00') || ':'
		|| to_char(abs(s) % 3600 / 60, 'FM00')
	FROM (SELECT extract(epoch FROM zone_offset(ts, zone))::integer AS s) AS o;
$$;

-- Returns the instant at which the wall clock in zone shows local, or NULL
-- when it never does (the hour skipped when clocks go forward). A wall time
-- that occurs twice (the hour repeated when clocks go back) resolves to the
-- first occurrence, the earlier instant, still in summer time.
-- PostgreSQL itself maps a skipped time past the gap and a repeated time to
-- the later instant, so both cases are corrected here.
CREATE FUNCTION local_to_instant(local timestamp, zone text) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
	v_later timestamptz := local AT TIME ZONE zone;
	v_shift interval;
	v_earlier timestamptz;
BEGIN
	IF (v_later AT TIME ZONE zone) <> local THEN
		RETURN NULL;
	END IF;

	-- No zone changes its offset twice within six hours, so a larger
	-- offset six hours earlier means the clock has just gone back.
	v_shift := zone_offset(v_later - interval '6 hours', zone) - zone_offset(v_later, zone);
	IF v_shift > interval '0' THEN
		v_earlier := v_later - v_shift;
		IF (v_earlier AT TIME ZONE zone) = local THEN
			RETURN v_earlier;
		END IF;
	END IF;
	RETURN v_later;
END;
$$;

-- Returns the opening intervals that open on local date p_date, as local
-- wall times: the exception's intervals when the date has one (none when
-- closed), else the weekly hours. An interval that closes at or before it
-- opens closes on the next day.
CREATE FUNCTION opening_intervals(p_date date)
RETURNS TABLE (opens_local timestamp, closes_local timestamp)
LANGUAGE sql STABLE AS $$
	WITH source AS (
		SELECT i.opens, i.closes
		FROM opening_exception_intervals i
		JOIN opening_exceptions e ON e.date = i.date
		WHERE i.date = p_date AND NOT e.closed
		UNION ALL
		SELECT h.opens, h.closes
		FROM opening_hours h
		WHERE h.weekday = extract(isodow FROM p_date)
		  AND NOT EXISTS (SELECT 1 FROM opening_exceptions e WHERE e.date = p_date)
	)
	SELECT p_date + opens,
	       p_date + closes + CASE WHEN closes <= opens THEN interval '1 day'
	                              ELSE interval '0' END
	FROM source
	ORDER BY 1;
$$;

-- Returns the slot start instants of local date p_date: every
-- slot_step_minutes of wall-clock time from each interval's opening until
-- last_seating_minutes_before_close before it closes. Slots belong to the
-- date on which their interval opens, even after midnight. A wall time that
-- does not exist that day is skipped, and one that occurs twice is offered
-- once, at its first occurrence (local_to_instant).
CREATE FUNCTION booking_slots(p_date date)
RETURNS TABLE (starts_at timestamptz)
LANGUAGE sql STABLE AS $$
	SELECT DISTINCT t.instant
	FROM restaurant r
	CROSS JOIN opening_intervals(p_date) i
	CROSS JOIN generate_series(
		i.opens_local,
		i.closes_local - make_interval(mins => r.last_seating_minutes_before_close),
		make_interval(mins => r.slot_step_minutes)) AS g(local)
	CROSS JOIN LATERAL (SELECT local_to_instant(g.local, r.timezone) AS instant) t
	WHERE t.instant IS NOT NULL
	ORDER BY 1;
$$;

-- Returns true when a table seating at least p_party has no confirmed
-- reservation overlapping [p_starts, p_ends).
CREATE FUNCTION free_table_exists(p_starts timestamptz, p_ends timestamptz, p_party integer)
RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT EXISTS (
		SELECT 1 FROM dining_tables t
		WHERE t.seats >= p_party
		  AND NOT EXISTS (
			SELECT 1 FROM reservations x
			WHERE x.table_id = t.id AND x.status = 'confirmed'
			  AND tstzrange(x.starts_at, x.ends_at) && tstzrange(p_starts, p_ends)));
$$;

-- Returns the slots of local date p_date for a party of p_party, each
-- available when it starts at least min_notice_minutes after p_now and a
-- table fits the party for the whole seating.
CREATE FUNCTION booking_day(p_date date, p_party integer, p_now timestamptz)
RETURNS TABLE (starts_at timestamptz, available boolean)
LANGUAGE sql STABLE AS $$
	SELECT s.starts_at,
	       s.starts_at >= p_now + make_interval(mins => r.min_notice_minutes)
	       AND free_table_exists(s.starts_at,
	                             s.starts_at + make_interval(mins => r.seating_minutes),
	                             p_party)
	FROM restaurant r
	CROSS JOIN booking_slots(p_date) s
	ORDER BY 1;
$$;

-- Returns the facts that decide whether a booking may start at p_starts
-- under the restaurant's rules at p_now. The caller words the reason.
--   slot_date: the date whose opening interval offers p_starts as a slot,
--              else its local date;
--   on_slot:   p_starts is one of the slots of booking_slots;
--   in_hours:  p_starts falls in an interval between opening and last seating;
--   closed:    the local date is closed all day and no interval of the
--              evening before reaches it;
--   notice_ok: p_starts is at least min_notice_minutes after p_now.
CREATE FUNCTION booking_rule_check(p_starts timestamptz, p_now timestamptz)
RETURNS TABLE (slot_date date, local_time text, today date, last_date date,
               on_slot boolean, in_hours boolean, closed boolean,
               closed_reason text, notice_ok boolean)
LANGUAGE sql STABLE AS $$
	WITH r AS (SELECT * FROM restaurant),
	l AS (
		SELECT (p_starts AT TIME ZONE r.timezone) AS local,
		       (p_starts AT TIME ZONE r.timezone)::date AS date
		FROM r
	),
	slot AS (
		SELECT d.date
		FROM l CROSS JOIN LATERAL (VALUES (l.date), (l.date - 1)) AS d(date)
		WHERE p_starts IN (SELECT s.starts_at FROM booking_slots(d.date) s)
		ORDER BY d.date DESC
		LIMIT 1
	),
	hours AS (
		SELECT EXISTS (
			SELECT 1
			FROM l CROSS JOIN r
			CROSS JOIN LATERAL (VALUES (l.date), (l.date - 1)) AS d(date)
			CROSS JOIN LATERAL opening_intervals(d.date) i
			WHERE l.local >= i.opens_local
			  AND l.local <= i.closes_local
			               - make_interval(mins => r.last_seating_minutes_before_close)
		) AS in_hours
	)
	SELECT coalesce((SELECT date FROM slot), l.date),
	       to_char(l.local, 'HH24:MI'),
	       (p_now AT TIME ZONE r.timezone)::date,
	       (p_now AT TIME ZONE r.timezone)::date + r.max_days_ahead,
	       EXISTS (SELECT 1 FROM slot),
	       hours.in_hours,
	       NOT hours.in_hours AND NOT EXISTS (SELECT 1 FROM opening_intervals(l.date)),
	       coalesce((SELECT e.reason FROM opening_exceptions e WHERE e.date = l.date), ''),
	       p_starts >= p_now + make_interval(mins => r.min_notice_minutes)
	FROM r CROSS JOIN l CROSS JOIN hours;
$$;

-- Returns the hash that distinguishes a replay of a booking request (same
-- key, same fields) from a different request sent with the same idempotency key.
CREATE FUNCTION reservation_request_hash(p_name text, p_phone text, p_party integer,
                                         p_starts timestamptz, p_notes text)
RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT encode(sha256(convert_to(json_build_array(
		p_name, p_phone, p_party, extract(epoch FROM p_starts), p_notes)::text,
		'UTF8')), 'hex');
$$;

-- Returns the reservation as the tools show it: local times with offsets,
-- and only the last four digits of the phone number.
CREATE FUNCTION reservation_json(v reservations) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object(
		'code', v.code,
		'name', v.name,
		'party_size', v.party_size,
		'date', to_char(v.starts_at AT TIME ZONE r.timezone, 'YYYY-MM-DD'),
		'time', to_char(v.starts_at AT TIME ZONE r.timezone, 'HH24:MI'),
		'starts_at', iso_local(v.starts_at, r.timezone),
		'ends_at', iso_local(v.ends_at, r.timezone),
		'status', v.status,
		'notes', v.notes,
		'created_at', iso_local(v.created_at, r.timezone),
		'cancelled_at', CASE WHEN v.cancelled_at IS NULL THEN NULL
		                     ELSE iso_local(v.cancelled_at, r.timezone) END,
		'phone_last4', right(v.phone, 4))
	FROM restaurant r;
$$;

-- Books the smallest free table that seats p_party from p_starts for
-- seating_minutes. The booking rules (slot, notice, party size) are the
-- caller's to check first. outcome is one of:
--   created:    reservation is the new booking;
--   replay:     p_idempotency_key was used before for the same request, and
--               reservation is that first booking;
--   key_reused: p_idempotency_key was used before for a different request;
--   code_taken: p_code belongs to another reservation, so retry with a new code;
--   slot_full:  no table fits.
-- Race-safe across processes and servers: the exclusion constraint
-- reservations_no_overlap makes the database refuse a second booking of a
-- table, and the loop then tries the next table. Requests that share an
-- idempotency key queue on an advisory lock, so only the first books.
CREATE FUNCTION reservation_book(p_code text, p_name text, p_phone text,
                                 p_party integer, p_starts timestamptz,
                                 p_notes text, p_idempotency_key text,
                                 p_now timestamptz)
RETURNS TABLE (outcome text, reservation json)
LANGUAGE plpgsql AS $$
DECLARE
	v_hash text := reservation_request_hash(p_name, p_phone, p_party, p_starts, p_notes);
	v_ends timestamptz;
	v_row reservations;
	v_table integer;
	v_constraint text;
BEGIN
	IF p_idempotency_key IS NOT NULL THEN
		PERFORM pg_advisory_xact_lock(
			hashtextextended('maitred.idempotency_key:' || p_idempotency_key, 0));
		SELECT * INTO v_row FROM reservations WHERE idempotency_key = p_idempotency_key;
		IF FOUND THEN
			RETURN QUERY SELECT CASE WHEN v_row.request_hash = v_hash
			                         THEN 'replay' ELSE 'key_reused' END,
			                    reservation_json(v_row);
			RETURN;
		END IF;
	END IF;

	SELECT p_starts + make_interval(mins => r.seating_minutes) INTO v_ends
	FROM restaurant r;

	FOR v_table IN
		SELECT t.id FROM dining_tables t
		WHERE t.seats >= p_party
		ORDER BY t.seats, t.id
	LOOP
		CONTINUE WHEN EXISTS (
			SELECT 1 FROM reservations x
			WHERE x.table_id = v_table AND x.status = 'confirmed'
			  AND tstzrange(x.starts_at, x.ends_at) && tstzrange(p_starts, v_ends));
		BEGIN
			INSERT INTO reservations (code, table_id, name, phone, party_size,
				starts_at, ends_at, notes, created_at, idempotency_key,
				request_hash)
			VALUES (p_code, v_table, p_name, p_phone, p_party, p_starts, v_ends,
				p_notes, p_now, p_idempotency_key, v_hash)
			RETURNING * INTO v_row;
			RETURN QUERY SELECT 'created'::text, reservation_json(v_row);
			RETURN;
		EXCEPTION
			WHEN exclusion_violation THEN
				-- A concurrent booking of this table committed first.
				NULL;
			WHEN unique_violation THEN
				GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
				IF v_constraint = 'reservations_code_key' THEN
					RETURN QUERY SELECT 'code_taken'::text, NULL::json;
					RETURN;
				END IF;
				RAISE;
		END;
	END LOOP;

	RETURN QUERY SELECT 'slot_full'::text, NULL::json;
END;
$$;

-- Cancels the confirmed reservation with p_code and p_phone. outcome is
-- cancelled, not_found (no such code, or another phone), already_cancelled,
-- or already_started (it starts at or before p_now).
CREATE FUNCTION reservation_cancel(p_code text, p_phone text, p_now timestamptz)
RETURNS TABLE (outcome text, reservation json)
LANGUAGE plpgsql AS $$
DECLARE
	v_row reservations;
BEGIN
	UPDATE reservations SET status = 'cancelled', cancelled_at = p_now
	WHERE code = p_code AND phone = p_phone AND status = 'confirmed'
	  AND starts_at > p_now
	RETURNING * INTO v_row;
	IF FOUND THEN
		RETURN QUERY SELECT 'cancelled'::text, reservation_json(v_row);
		RETURN;
	END IF;

	SELECT * INTO v_row FROM reservations WHERE code = p_code AND phone = p_phone;
	IF NOT FOUND THEN
		RETURN QUERY SELECT 'not_found'::text, NULL::json;
	ELSIF v_row.status = 'cancelled' THEN
		RETURN QUERY SELECT 'already_cancelled'::text, reservation_json(v_row);
	ELSE
		RETURN QUERY SELECT 'already_started'::text, reservation_json(v_row);
	END IF;
END;
$$;
