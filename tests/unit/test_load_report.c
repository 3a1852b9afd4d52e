#include <jansson.h>
#include <stdlib.h>

#include "tests/load/load_report.h"
#include "tests/unit/test.h"

/* Fills a result like that of a short run with two ok turns and one 429. */
static void fill_result(struct load_options *options, struct load_result *result)
{
	load_options_default(options);
	options->chat_url = strdup("http://127.0.0.1:8000/v1/chat");
	options->users = 3;
	options->turns = 1;
	load_result_init(result);
	result->elapsed_s = 2;
	result->planned = 3;
	result->started = 3;
	result->ok = 2;
	result->failed = 1;
	result->bytes = 1234;
	result->events.delta = 7;
	result->events.comments = 2;
	load_samples_add(&result->first_delta, 30);
	load_samples_add(&result->first_delta, 10);
	load_samples_add(&result->whole_turn, 100);
	load_samples_add(&result->whole_turn, 50.04);
	load_counts_add(&result->errors, "http_429", 1);
	load_counts_add(&result->statuses, "200", 2);
	load_counts_add(&result->statuses, "429", 1);
}

/* Writes the JSON report to memory and parses it back. */
static json_t *report_as_json(struct load_options *options, struct load_result *result)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	CHECK(out != NULL);
	CHECK_INT(load_report_json(out, options, result), 0);
	fclose(out);
	CHECK(len > 0);
	CHECK(text[len - 1] == '\n');
	CHECK(strchr(text, '\n') == text + len - 1);

	json_t *json = json_loads(text, 0, NULL);

	free(text);
	return json;
}

static double number_at(json_t *json, const char *object, const char *name)
{
	return json_number_value(json_object_get(json_object_get(json, object), name));
}

TEST(load_report_json_fields)
{
	struct load_options options;
	struct load_result result;

	fill_result(&options, &result);
	json_t *json = report_as_json(&options, &result);

	CHECK(json_is_object(json));
	CHECK_STR(json_string_value(json_object_get(json, "tool")), "maitred-load");
	CHECK_STR(json_string_value(json_object_get(json, "stopped_by")), "completed");
	CHECK(json_is_null(json_object_get(json, "label")));
	CHECK(json_is_null(json_object_get(json, "healthz")));
	CHECK(json_number_value(json_object_get(json, "turns_per_s")) == 1.0);
	CHECK_INT(number_at(json, "turns", "ok"), 2);
	CHECK_INT(number_at(json, "turns", "failed"), 1);
	CHECK_INT(number_at(json, "first_delta_ms", "n"), 2);
	CHECK_INT(number_at(json, "first_delta_ms", "p50"), 10);
	CHECK_INT(number_at(json, "first_delta_ms", "max"), 30);
	CHECK(number_at(json, "whole_turn_ms", "p50") == 50.0);
	CHECK_INT(number_at(json, "events", "delta"), 7);
	CHECK_INT(number_at(json, "events", "keep_alive"), 2);
	CHECK_INT(number_at(json, "errors", "http_429"), 1);
	CHECK_INT(number_at(json, "errors", "cut"), 0);
	CHECK(json_is_integer(json_object_get(json_object_get(json, "errors"), "deadline")));
	CHECK_INT(number_at(json, "status", "429"), 1);
	CHECK_INT(json_integer_value(json_object_get(json, "bytes")), 1234);

	json_decref(json);
	load_result_free(&result);
	load_options_free(&options);
}

TEST(load_report_json_empty_samples)
{
	struct load_options options;
	struct load_result result;

	load_options_default(&options);
	options.chat_url = strdup("http://127.0.0.1:8000/v1/chat");
	options.healthz_url = "http://127.0.0.1:8000/healthz";
	load_result_init(&result);
	json_t *json = report_as_json(&options, &result);
	json_t *first_delta = json_object_get(json, "first_delta_ms");
	json_t *healthz = json_object_get(json, "healthz");

	CHECK_INT(json_integer_value(json_object_get(first_delta, "n")), 0);
	CHECK(json_is_null(json_object_get(first_delta, "p99")));
	CHECK(json_is_object(healthz));
	CHECK_INT(json_integer_value(json_object_get(healthz, "probes")), 0);
	CHECK(json_is_null(json_object_get(json_object_get(healthz, "latency_ms"), "p50")));
	CHECK(json_number_value(json_object_get(json, "turns_per_s")) == 0);

	json_decref(json);
	load_result_free(&result);
	load_options_free(&options);
}

TEST(load_report_table_lines)
{
	struct load_options options;
	struct load_result result;
	char *text = NULL;
	size_t len = 0;

	fill_result(&options, &result);
	result.deadline_reached = true;
	FILE *out = open_memstream(&text, &len);

	CHECK_INT(load_report_table(out, &options, &result), 0);
	fclose(out);
	CHECK(strstr(text, "3 guests x 1 turns against http://127.0.0.1:8000/v1/chat, 2.00 s, "
			   "stopped at --duration\n") != NULL);
	CHECK(strstr(text, "turns: planned 3, started 3, ok 2, failed 1, not started 0\n") != NULL);
	CHECK(strstr(text, "rate: 1.00 ok turns/s\n") != NULL);
	CHECK(strstr(text, "  first delta               2      10.0      30.0      30.0      30.0\n")
	      != NULL);
	CHECK(strstr(text, "keep-alive comments 2\n") != NULL);
	CHECK(strstr(text, "errors: http_429 1\n") != NULL);
	CHECK(strstr(text, "http status: 200 2, 429 1\n") != NULL);
	CHECK(strstr(text, "healthz") == NULL);

	free(text);
	load_result_free(&result);
	load_options_free(&options);
}
