-- The restaurant, its opening hours, menu, tables and reservations.
-- Migrations run inside a transaction (server/migrate.c), so this file contains
-- no BEGIN or COMMIT.

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Returns true when name is a time zone that PostgreSQL recognises.
CREATE FUNCTION time_zone_is_valid(name text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
	PERFORM now() AT TIME ZONE name;
	RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
	RETURN false;
END;
$$;

-- One row: the restaurant and its booking rules.
CREATE TABLE restaurant (
	id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	timezone text NOT NULL CHECK (time_zone_is_valid(timezone)),
	currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	phone text NOT NULL,
	brand_name text NOT NULL,
	brand_primary_colour text NOT NULL CHECK (brand_primary_colour ~ '^#[0-9a-fA-F]{6}$'),
	min_party integer NOT NULL CHECK (min_party >= 1),
	max_party integer NOT NULL,
	seating_minutes integer NOT NULL CHECK (seating_minutes BETWEEN 15 AND 600),
	slot_step_minutes integer NOT NULL CHECK (slot_step_minutes BETWEEN 5 AND 240),
	max_days_ahead integer NOT NULL CHECK (max_days_ahead BETWEEN 0 AND 730),
	min_notice_minutes integer NOT NULL CHECK (min_notice_minutes >= 0),
	last_seating_minutes_before_close integer NOT NULL
		CHECK (last_seating_minutes_before_close >= 0),
	CHECK (max_party >= min_party)
);

-- Weekly hours. weekday is ISO (1 = Monday .. 7 = Sunday). An interval whose
-- closes is not after opens runs past midnight into the next day.
CREATE TABLE opening_hours (
	id serial PRIMARY KEY,
	weekday smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
	opens time NOT NULL,
	closes time NOT NULL,
	CHECK (opens <> closes)
);

-- A date whose hours differ from the weekly ones: closed, or open only for
-- the intervals listed in opening_exception_intervals.
CREATE TABLE opening_exceptions (
	date date PRIMARY KEY,
	closed boolean NOT NULL,
	reason text NOT NULL DEFAULT ''
);

CREATE TABLE opening_exception_intervals (
	id serial PRIMARY KEY,
	date date NOT NULL REFERENCES opening_exceptions (date) ON DELETE CASCADE,
	opens time NOT NULL,
	closes time NOT NULL,
	CHECK (opens <> closes)
);

CREATE TABLE dishes (
	id serial PRIMARY KEY,
	name text NOT NULL UNIQUE,
	description text NOT NULL,
	ingredients text NOT NULL,
	category text NOT NULL
		CHECK (category IN ('starter', 'main', 'side', 'dessert', 'drink')),
	price numeric(8, 2) NOT NULL CHECK (price >= 0),
	tags text[] NOT NULL DEFAULT '{}' CHECK (tags <@ ARRAY[
		'vegan', 'vegetarian', 'gluten_free', 'dairy_free', 'nut_free',
		'spicy']),
	-- The 14 allergens that EU Regulation 1169/2011 (Annex II) requires a
	-- menu to declare.
	allergens text[] NOT NULL DEFAULT '{}' CHECK (allergens <@ ARRAY[
		'gluten', 'crustaceans', 'eggs', 'fish', 'peanuts', 'soybeans',
		'milk', 'nuts', 'celery', 'mustard', 'sesame', 'sulphites', 'lupin',
		'molluscs']),
	-- false while the kitchen has not confirmed the allergen list, so an
	-- agent must tell the guest to ask the staff.
	allergens_verified boolean NOT NULL,
	search tsvector GENERATED ALWAYS AS (
		to_tsvector('english'::regconfig,
			name || ' ' || description || ' ' || ingredients)) STORED,

	-- Dietary tags must not contradict the allergens.
	CONSTRAINT dishes_vegan_is_vegetarian
		CHECK (NOT 'vegan' = ANY (tags) OR 'vegetarian' = ANY (tags)),
	CONSTRAINT dishes_vegan_has_no_animal_allergen
		CHECK (NOT 'vegan' = ANY (tags) OR NOT allergens && ARRAY['milk', 'eggs']),
	CONSTRAINT dishes_vegetarian_has_no_seafood
		CHECK (NOT 'vegetarian' = ANY (tags)
		       OR NOT allergens && ARRAY['fish', 'crustaceans', 'molluscs']),
	CONSTRAINT dishes_gluten_free_has_no_gluten
		CHECK (NOT 'gluten_free' = ANY (tags) OR NOT 'gluten' = ANY (allergens)),
	CONSTRAINT dishes_dairy_free_has_no_milk
		CHECK (NOT 'dairy_free' = ANY (tags) OR NOT 'milk' = ANY (allergens)),
	CONSTRAINT dishes_nut_free_has_no_nuts
		CHECK (NOT 'nut_free' = ANY (tags) OR NOT allergens && ARRAY['nuts', 'peanuts'])
);

CREATE INDEX dishes_search_idx ON dishes USING gin (search);
CREATE INDEX dishes_tags_idx ON dishes USING gin (tags);

CREATE TABLE dining_tables (
	id serial PRIMARY KEY,
	label text NOT NULL UNIQUE,
	seats integer NOT NULL CHECK (seats BETWEEN 1 AND 30)
);

CREATE TABLE reservations (
	id bigserial PRIMARY KEY,
	-- 9 characters from an alphabet without 0, O, 1, I and L.
	code text NOT NULL UNIQUE CHECK (code ~ '^[2-9A-HJKMNP-Z]{9}$'),
	table_id integer NOT NULL REFERENCES dining_tables (id),
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	phone text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{7,14}$'),
	party_size integer NOT NULL CHECK (party_size >= 1),
	starts_at timestamptz NOT NULL,
	ends_at timestamptz NOT NULL,
	status text NOT NULL DEFAULT 'confirmed'
		CHECK (status IN ('confirmed', 'cancelled')),
	notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 500),
	created_at timestamptz NOT NULL,
	cancelled_at timestamptz,
	idempotency_key text,
	request_hash text NOT NULL,
	CHECK (ends_at > starts_at),
	CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),

	-- The database, not the application, keeps two confirmed bookings of
	-- one table from overlapping, whichever process or server made them.
	CONSTRAINT reservations_no_overlap EXCLUDE USING gist (
		table_id WITH =,
		tstzrange(starts_at, ends_at) WITH &&
	) WHERE (status = 'confirmed')
);

CREATE UNIQUE INDEX reservations_idempotency_key_idx
	ON reservations (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX reservations_starts_at_idx ON reservations (starts_at);
