#ifndef MAITRED_TOOL_SCHEMA_H
#define MAITRED_TOOL_SCHEMA_H

/*
 * Checks tool arguments against the JSON Schema of the tool's OpenAI
 * definition, so a model's malformed call gets a precise error before any
 * tool code runs. Only the keywords the tool definitions use are supported:
 * type (a name or a list of names), properties, required,
 * additionalProperties (false), enum, minLength and maxLength (in
 * characters), minimum and maximum, items, minItems and maxItems.
 */
#include <stddef.h>

#include <jansson.h>

enum tool_schema_result {
	TOOL_SCHEMA_OK = 0,
	TOOL_SCHEMA_INVALID = -1,   /* wrong type, missing or unknown property */
	TOOL_SCHEMA_NOT_IN_ENUM = -2 /* well-formed, but not an allowed value */
};

/* Checks args against the object schema. A null value for a property that
 * is not required counts as absent, because models often send one. Returns
 * TOOL_SCHEMA_OK, or another result with a message in err that names the
 * property (and for an enum, the value and the allowed values). */
enum tool_schema_result tool_schema_check(const json_t *schema, const json_t *args,
					  char *err, size_t errlen);

#endif
