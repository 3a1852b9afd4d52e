-- The JSON shapes that the tools (workers/tool_*.c) return for dishes,
-- opening hours and the restaurant, built where the data and the time zone
-- arithmetic are.

-- Returns a dish as the menu tools show it. price is text with two decimals.
CREATE FUNCTION dish_json(d dishes, currency text) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object(
		'id', d.id,
		'name', d.name,
		'description', d.description,
		'category', d.category,
		'price', d.price::text,
		'currency', currency,
		'tags', to_json(d.tags),
		'allergens', to_json(d.allergens),
		'allergens_verified', d.allergens_verified);
$$;

CREATE FUNCTION weekday_name(isodow integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT (ARRAY['monday', 'tuesday', 'wednesday', 'thursday', 'friday',
	              'saturday', 'sunday'])[isodow];
$$;

-- Returns {"opens", "closes", "last_seating"} in HH:MM local time, plus
-- "closes_next_day": true for an interval that runs past midnight.
-- last_seating is the latest slot start, which is wall-clock arithmetic as
-- in booking_slots.
CREATE FUNCTION opening_interval_json(opens time, closes time) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN closes <= opens THEN
		json_build_object('opens', to_char(opens, 'HH24:MI'),
		                  'closes', to_char(closes, 'HH24:MI'),
		                  'last_seating', to_char(last_seating, 'HH24:MI'),
		                  'closes_next_day', true)
	ELSE
		json_build_object('opens', to_char(opens, 'HH24:MI'),
		                  'closes', to_char(closes, 'HH24:MI'),
		                  'last_seating', to_char(last_seating, 'HH24:MI'))
	END
	FROM (SELECT closes - make_interval(mins => r.last_seating_minutes_before_close)
	             AS last_seating
	      FROM restaurant r) AS l;
$$;

-- Returns the weekly hours, Monday first: [{"weekday", "closed",
-- "intervals": [..]}].
CREATE FUNCTION weekly_hours_json() RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_agg(json_build_object(
		'weekday', weekday_name(d),
		'closed', NOT EXISTS (SELECT 1 FROM opening_hours h WHERE h.weekday = d),
		'intervals', coalesce((
			SELECT json_agg(opening_interval_json(h.opens, h.closes) ORDER BY h.opens)
			FROM opening_hours h WHERE h.weekday = d), '[]'::json))
		ORDER BY d)
	FROM generate_series(1, 7) AS d;
$$;

-- Returns the exceptions dated from p_from to a year later: [{"date",
-- "closed", "reason", "intervals": [..]}].
CREATE FUNCTION upcoming_exceptions_json(p_from date) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT coalesce(json_agg(json_build_object(
		'date', e.date,
		'closed', e.closed,
		'reason', e.reason,
		'intervals', coalesce((
			SELECT json_agg(opening_interval_json(i.opens, i.closes) ORDER BY i.opens)
			FROM opening_exception_intervals i
			WHERE i.date = e.date AND NOT e.closed), '[]'::json))
		ORDER BY e.date), '[]'::json)
	FROM opening_exceptions e
	WHERE e.date BETWEEN p_from AND p_from + 366;
$$;

-- Returns the hours of one local date: {"date", "weekday", "closed",
-- "reason", "intervals": [..]}, where reason explains an exception and is
-- empty on an ordinary day.
CREATE FUNCTION day_hours_json(p_date date) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object(
		'date', p_date,
		'weekday', weekday_name(extract(isodow FROM p_date)::integer),
		'closed', NOT EXISTS (SELECT 1 FROM opening_intervals(p_date)),
		'reason', coalesce((SELECT e.reason FROM opening_exceptions e
		                    WHERE e.date = p_date), ''),
		'intervals', coalesce((
			SELECT json_agg(opening_interval_json(i.opens_local::time,
			                                      i.closes_local::time)
			                ORDER BY i.opens_local)
			FROM opening_intervals(p_date) i), '[]'::json));
$$;

-- Returns the restaurant's public details and booking rules. "today" is the
-- local date at p_now.
CREATE FUNCTION restaurant_json(p_now timestamptz) RETURNS json
LANGUAGE sql STABLE AS $$
	SELECT json_build_object(
		'name', r.name,
		'timezone', r.timezone,
		'currency', r.currency,
		'phone', r.phone,
		'today', (p_now AT TIME ZONE r.timezone)::date,
		'brand', json_build_object('name', r.brand_name,
		                           'primary_colour', r.brand_primary_colour),
		'rules', json_build_object(
			'min_party', r.min_party,
			'max_party', r.max_party,
			'seating_minutes', r.seating_minutes,
			'slot_step_minutes', r.slot_step_minutes,
			'max_days_ahead', r.max_days_ahead,
			'min_notice_minutes', r.min_notice_minutes,
			'last_seating_minutes_before_close', r.last_seating_minutes_before_close))
	FROM restaurant r;
$$;
