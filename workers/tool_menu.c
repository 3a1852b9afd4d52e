#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/tool_handlers.h"
#include "workers/tool_parse.h"
#include "workers/tool_result.h"

/* $1 free text: matches the full-text index (English stemming, so
 * "chickpeas" finds "chickpea"), a part of the name (for words the stemmer
 * mangles), or a dietary tag spelled "gluten free" or "gluten-free".
 * $2 tags (all required), $3 category, $4 maximum price. */
static const char search_sql[] =
	"SELECT dish_json(d, r.currency) FROM dishes d CROSS JOIN restaurant r"
	" WHERE ($1::text IS NULL"
	"        OR d.search @@ websearch_to_tsquery('english', $1)"
	"        OR d.name ILIKE '%' || replace(replace(replace($1, '\\', '\\\\'),"
	"                                  '%', '\\%'), '_', '\\_') || '%'"
	"        OR lower(regexp_replace($1, '[\\s-]+', '_', 'g')) = ANY (d.tags))"
	"   AND ($2::text[] IS NULL OR d.tags @> $2::text[])"
	"   AND ($3::text IS NULL OR d.category = $3)"
	"   AND ($4::numeric IS NULL OR d.price <= $4::numeric)"
	" ORDER BY array_position(ARRAY['starter', 'main', 'side', 'dessert', 'drink'],"
	"                         d.category), d.name";

/* Writes the tags as a PostgreSQL array literal, or returns NULL for none.
 * The schema has already limited them to known tag names. */
static const char *tags_literal(const json_t *tags, char *buf, size_t len)
{
	size_t i, used = 0;
	json_t *tag;

	if (json_array_size(tags) == 0)
		return NULL;
	used += (size_t)snprintf(buf, len, "{");
	json_array_foreach(tags, i, tag) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? "," : "",
				 json_string_value(tag));
		if (n < 0 || (size_t)n >= len - used)
			return NULL;
		used += (size_t)n;
	}
	snprintf(buf + used, len - used, "}");
	return buf;
}

static json_t *rows_to_items(const PGresult *res, int *status)
{
	json_t *items = json_array();

	for (int i = 0; i < PQntuples(res); i++) {
		json_t *dish = tool_json_cell(res, i, 0, "search_menu");

		if (!dish) {
			json_decref(items);
			return tool_db_error(status, "search_menu");
		}
		json_array_append_new(items, dish);
	}
	*status = 200;
	return json_pack("{s:o}", "items", items);
}

json_t *tool_search_menu(struct tool_ctx *ctx, json_t *args, int *status)
{
	const json_t *q = json_object_get(args, "q");
	const json_t *category = json_object_get(args, "category");
	const json_t *max_price = json_object_get(args, "max_price");
	char tags[128], price[32], quoted[64];
	const char *params[4] = {NULL, NULL, NULL, NULL};
	char *text = NULL;
	PGresult *res;
	json_t *result;

	if (json_is_string(q)) {
		text = tool_trim(json_string_value(q));
		if (text && *text)
			params[0] = text;
	}
	params[1] = tags_literal(json_object_get(args, "tags"), tags, sizeof(tags));
	if (json_is_string(category))
		params[2] = json_string_value(category);
	if (max_price && !json_is_null(max_price)) {
		if (tool_parse_amount(max_price, price, sizeof(price)) < 0) {
			free(text);
			return tool_error(status, 400, "invalid_request",
					  "max_price \"%s\" is not a non-negative decimal. Give "
					  "an amount such as 15 or 12.50",
					  json_is_string(max_price)
					  ? tool_quote(json_string_value(max_price), quoted, sizeof(quoted))
					  : "(number)");
		}
		params[3] = price;
	}

	res = tool_query(ctx->pg, "search_menu", search_sql, 4, params);
	free(text);
	if (!res)
		return tool_db_error(status, "search_menu");
	result = rows_to_items(res, status);
	PQclear(res);
	return result;
}

json_t *tool_get_dish(struct tool_ctx *ctx, json_t *args, int *status)
{
	json_int_t id = json_integer_value(json_object_get(args, "id"));
	char id_text[24];
	const char *params[1] = {id_text};
	PGresult *res;
	json_t *dish;

	if (id < 1 || id > INT_MAX)
		return tool_error(status, 404, "not_found", "no dish has id %lld", (long long)id);
	snprintf(id_text, sizeof(id_text), "%lld", (long long)id);

	res = tool_query(ctx->pg, "get_dish",
			 "SELECT dish_json(d, r.currency) FROM dishes d CROSS JOIN restaurant r"
			 " WHERE d.id = $1::integer", 1, params);
	if (!res)
		return tool_db_error(status, "get_dish");
	if (PQntuples(res) == 0) {
		PQclear(res);
		return tool_error(status, 404, "not_found",
				  "no dish has id %lld. Use search_menu to find dish ids",
				  (long long)id);
	}
	dish = tool_json_cell(res, 0, 0, "get_dish");
	PQclear(res);
	if (!dish)
		return tool_db_error(status, "get_dish");
	*status = 200;
	return dish;
}
