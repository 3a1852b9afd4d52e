#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "workers/tool_parse.h"
#include "workers/tool_result.h"
#include "workers/tool_schema.h"

static enum tool_schema_result check_value(const json_t *schema, const json_t *value,
					   const char *path, char *err, size_t errlen);

/* Returns the JSON type name of value as JSON Schema spells it. */
static const char *type_name(const json_t *value)
{
	switch (json_typeof(value)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

static bool type_matches(const char *type, const json_t *value)
{
	const char *actual = type_name(value);

	if (strcmp(type, "number") == 0)
		return json_is_number(value);
	return strcmp(type, actual) == 0;
}

/* Writes "a, b, c" from an array of strings into buf. */
static void join_strings(const json_t *array, char *buf, size_t len)
{
	size_t i, used = 0;
	json_t *item;

	buf[0] = '\0';
	json_array_foreach(array, i, item) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
				 json_is_string(item) ? json_string_value(item) : "?");
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

static enum tool_schema_result check_type(const json_t *schema, const json_t *value,
					  const char *path, char *err, size_t errlen)
{
	const json_t *type = json_object_get(schema, "type");
	char names[128];
	size_t i;
	json_t *item;

	if (!type)
		return TOOL_SCHEMA_OK;
	if (json_is_string(type)) {
		if (type_matches(json_string_value(type), value))
			return TOOL_SCHEMA_OK;
		snprintf(err, errlen, "%s must be of type %s, not %s", path,
			 json_string_value(type), type_name(value));
		return TOOL_SCHEMA_INVALID;
	}
	json_array_foreach(type, i, item)
		if (json_is_string(item) && type_matches(json_string_value(item), value))
			return TOOL_SCHEMA_OK;
	join_strings(type, names, sizeof(names));
	snprintf(err, errlen, "%s must be one of the types %s, not %s", path, names,
		 type_name(value));
	return TOOL_SCHEMA_INVALID;
}

static enum tool_schema_result check_enum(const json_t *schema, const json_t *value,
					  const char *path, char *err, size_t errlen)
{
	const json_t *allowed = json_object_get(schema, "enum");
	char names[256], quoted[64];
	size_t i;
	json_t *item;

	if (!allowed)
		return TOOL_SCHEMA_OK;
	json_array_foreach(allowed, i, item)
		if (json_equal(item, value))
			return TOOL_SCHEMA_OK;
	join_strings(allowed, names, sizeof(names));
	if (json_is_string(value))
		snprintf(err, errlen, "%s \"%s\" is not allowed. Use one of: %s", path,
			 tool_quote(json_string_value(value), quoted, sizeof(quoted)), names);
	else
		snprintf(err, errlen, "%s must be one of: %s", path, names);
	return TOOL_SCHEMA_NOT_IN_ENUM;
}

static enum tool_schema_result check_string(const json_t *schema, const json_t *value,
					    const char *path, char *err, size_t errlen)
{
	const json_t *min = json_object_get(schema, "minLength");
	const json_t *max = json_object_get(schema, "maxLength");
	size_t n;

	if (!json_is_string(value))
		return TOOL_SCHEMA_OK;
	n = tool_utf8_length(json_string_value(value));
	if (json_is_integer(min) && (json_int_t)n < json_integer_value(min)) {
		if (json_integer_value(min) == 1)
			snprintf(err, errlen, "%s must not be empty", path);
		else
			snprintf(err, errlen, "%s must be at least %lld characters long", path,
				 (long long)json_integer_value(min));
		return TOOL_SCHEMA_INVALID;
	}
	if (json_is_integer(max) && (json_int_t)n > json_integer_value(max)) {
		snprintf(err, errlen, "%s must be at most %lld characters long", path,
			 (long long)json_integer_value(max));
		return TOOL_SCHEMA_INVALID;
	}
	return TOOL_SCHEMA_OK;
}

static enum tool_schema_result check_number(const json_t *schema, const json_t *value,
					    const char *path, char *err, size_t errlen)
{
	const json_t *min = json_object_get(schema, "minimum");
	const json_t *max = json_object_get(schema, "maximum");
	double v;

	if (!json_is_number(value))
		return TOOL_SCHEMA_OK;
	v = json_number_value(value);
	if (json_is_number(min) && v < json_number_value(min)) {
		snprintf(err, errlen, "%s must be at least %g", path, json_number_value(min));
		return TOOL_SCHEMA_INVALID;
	}
	if (json_is_number(max) && v > json_number_value(max)) {
		snprintf(err, errlen, "%s must be at most %g", path, json_number_value(max));
		return TOOL_SCHEMA_INVALID;
	}
	return TOOL_SCHEMA_OK;
}

static enum tool_schema_result check_array(const json_t *schema, const json_t *value,
					   const char *path, char *err, size_t errlen)
{
	const json_t *items = json_object_get(schema, "items");
	const json_t *min = json_object_get(schema, "minItems");
	const json_t *max = json_object_get(schema, "maxItems");
	char item_path[128];
	size_t i;
	json_t *item;

	if (!json_is_array(value))
		return TOOL_SCHEMA_OK;
	if (json_is_integer(min) && (json_int_t)json_array_size(value) < json_integer_value(min)) {
		snprintf(err, errlen, "%s must have at least %lld items", path,
			 (long long)json_integer_value(min));
		return TOOL_SCHEMA_INVALID;
	}
	if (json_is_integer(max) && (json_int_t)json_array_size(value) > json_integer_value(max)) {
		snprintf(err, errlen, "%s must have at most %lld items", path,
			 (long long)json_integer_value(max));
		return TOOL_SCHEMA_INVALID;
	}
	if (!items)
		return TOOL_SCHEMA_OK;
	json_array_foreach(value, i, item) {
		enum tool_schema_result rc;

		snprintf(item_path, sizeof(item_path), "%s[%zu]", path, i);
		rc = check_value(items, item, item_path, err, errlen);
		if (rc != TOOL_SCHEMA_OK)
			return rc;
	}
	return TOOL_SCHEMA_OK;
}

static bool is_required(const json_t *schema, const char *key)
{
	size_t i;
	json_t *name;

	json_array_foreach(json_object_get(schema, "required"), i, name)
		if (json_is_string(name) && strcmp(json_string_value(name), key) == 0)
			return true;
	return false;
}

/* Writes the names of the schema's properties as "a, b, c" into buf. */
static void join_keys(const json_t *properties, char *buf, size_t len)
{
	size_t used = 0;
	const char *key;
	json_t *sub;

	buf[0] = '\0';
	json_object_foreach((json_t *)properties, key, sub) {
		int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", key);

		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
	if (used == 0)
		snprintf(buf, len, "none");
}

static enum tool_schema_result check_unknown(const json_t *schema, const json_t *value,
					     const char *path, char *err, size_t errlen)
{
	const json_t *properties = json_object_get(schema, "properties");
	char names[256], quoted[64];
	const char *key;
	json_t *sub;

	if (!json_is_false(json_object_get(schema, "additionalProperties")))
		return TOOL_SCHEMA_OK;
	json_object_foreach((json_t *)value, key, sub) {
		if (json_object_get(properties, key))
			continue;
		join_keys(properties, names, sizeof(names));
		snprintf(err, errlen, "%s%sunknown property \"%s\". Allowed properties: %s",
			 path, *path ? ": " : "", tool_quote(key, quoted, sizeof(quoted)), names);
		return TOOL_SCHEMA_INVALID;
	}
	return TOOL_SCHEMA_OK;
}

static enum tool_schema_result check_object(const json_t *schema, const json_t *value,
					    const char *path, char *err, size_t errlen)
{
	const json_t *properties = json_object_get(schema, "properties");
	char sub_path[128];
	const char *key;
	json_t *sub;
	enum tool_schema_result rc;

	if (!json_is_object(value))
		return TOOL_SCHEMA_OK;
	rc = check_unknown(schema, value, path, err, errlen);
	if (rc != TOOL_SCHEMA_OK)
		return rc;

	json_object_foreach((json_t *)properties, key, sub) {
		const json_t *v = json_object_get(value, key);
		bool required = is_required(schema, key);

		snprintf(sub_path, sizeof(sub_path), "%s%s%s", path, *path ? "." : "", key);
		if ((!v || json_is_null(v)) && !required)
			continue;
		if (!v) {
			snprintf(err, errlen, "%s is required", sub_path);
			return TOOL_SCHEMA_INVALID;
		}
		rc = check_value(sub, v, sub_path, err, errlen);
		if (rc != TOOL_SCHEMA_OK)
			return rc;
	}
	return TOOL_SCHEMA_OK;
}

static enum tool_schema_result check_value(const json_t *schema, const json_t *value,
					   const char *path, char *err, size_t errlen)
{
	enum tool_schema_result rc = check_type(schema, value, path, err, errlen);

	if (rc == TOOL_SCHEMA_OK)
		rc = check_string(schema, value, path, err, errlen);
	if (rc == TOOL_SCHEMA_OK)
		rc = check_number(schema, value, path, err, errlen);
	if (rc == TOOL_SCHEMA_OK)
		rc = check_array(schema, value, path, err, errlen);
	if (rc == TOOL_SCHEMA_OK)
		rc = check_object(schema, value, path, err, errlen);
	if (rc == TOOL_SCHEMA_OK)
		rc = check_enum(schema, value, path, err, errlen);
	return rc;
}

enum tool_schema_result tool_schema_check(const json_t *schema, const json_t *args,
					  char *err, size_t errlen)
{
	if (!json_is_object(args)) {
		snprintf(err, errlen, "arguments must be a JSON object, not %s",
			 args ? type_name(args) : "missing");
		return TOOL_SCHEMA_INVALID;
	}
	return check_value(schema, args, "", err, errlen);
}
