#include <jansson.h>
#include <math.h>

#include "tests/load/load_report.h"

static double turns_per_second(const struct load_result *result)
{
	return result->elapsed_s > 0 ? (double)result->ok / result->elapsed_s : 0;
}

static void print_summary_row(FILE *out, const char *name, struct load_samples *samples)
{
	struct load_summary summary;

	load_samples_summarize(samples, &summary);
	if (summary.count == 0) {
		fprintf(out, "  %-18s %8s %9s %9s %9s %9s\n", name, "0", "-", "-", "-", "-");
		return;
	}
	fprintf(out, "  %-18s %8zu %9.1f %9.1f %9.1f %9.1f\n", name, summary.count, summary.p50,
		summary.p95, summary.p99, summary.max);
}

static void print_counts(FILE *out, const char *title, const struct load_counts *counts,
			 bool skip_zero)
{
	size_t printed = 0;

	fprintf(out, "%s:", title);
	for (size_t i = 0; i < counts->count; i++) {
		if (skip_zero && counts->items[i].value == 0)
			continue;
		fprintf(out, "%s %s %llu", printed ? "," : "", counts->items[i].name,
			(unsigned long long)counts->items[i].value);
		printed++;
	}
	fprintf(out, "%s\n", printed ? "" : " none");
}

static void print_events(FILE *out, const struct load_events *events)
{
	fprintf(out,
		"events: meta %llu, queued %llu, status %llu, tool %llu, delta %llu, done %llu, "
		"error %llu, other %llu, keep-alive comments %llu\n",
		(unsigned long long)events->meta, (unsigned long long)events->queued,
		(unsigned long long)events->status, (unsigned long long)events->tool,
		(unsigned long long)events->delta, (unsigned long long)events->done,
		(unsigned long long)events->error, (unsigned long long)events->other,
		(unsigned long long)events->comments);
}

static const char *stop_reason(const struct load_result *result)
{
	if (result->interrupted)
		return "stopped by a signal";
	if (result->deadline_reached)
		return "stopped at --duration";
	return "all turns sent";
}

/* The stop reason as a JSON keyword. */
static const char *stop_keyword(const struct load_result *result)
{
	if (result->interrupted)
		return "signal";
	if (result->deadline_reached)
		return "duration";
	return "completed";
}

int load_report_table(FILE *out, const struct load_options *options,
		      struct load_result *result)
{
	fprintf(out, "maitred-load%s%s: %u guests x %u turns against %s, %.2f s, %s\n",
		options->label ? " " : "", options->label ? options->label : "", options->users,
		options->turns, options->chat_url, result->elapsed_s, stop_reason(result));
	fprintf(out, "turns: planned %llu, started %llu, ok %llu, failed %llu, not started %llu\n",
		(unsigned long long)result->planned, (unsigned long long)result->started,
		(unsigned long long)result->ok, (unsigned long long)result->failed,
		(unsigned long long)result->not_started);
	fprintf(out, "rate: %.2f ok turns/s\n", turns_per_second(result));
	fprintf(out, "bytes received: %llu in %llu connections\n",
		(unsigned long long)result->bytes, (unsigned long long)result->connections);
	fprintf(out, "\n  %-18s %8s %9s %9s %9s %9s\n", "latency (ms)", "n", "p50", "p95", "p99",
		"max");
	print_summary_row(out, "first delta", &result->first_delta);
	print_summary_row(out, "whole turn", &result->whole_turn);
	if (options->healthz_url)
		print_summary_row(out, "healthz", &result->healthz.latency);
	fputc('\n', out);

	print_events(out, &result->events);
	print_counts(out, "errors", &result->errors, true);
	print_counts(out, "http status", &result->statuses, false);
	if (options->healthz_url) {
		fprintf(out, "healthz: %llu probes, %llu ok; ",
			(unsigned long long)result->healthz.probes,
			(unsigned long long)result->healthz.ok);
		print_counts(out, "errors", &result->healthz.errors, false);
	}
	fflush(out);
	return ferror(out) ? -1 : 0;
}

/* Milliseconds rounded to 0.1 ms, the precision of the table. */
static json_t *json_ms(double value)
{
	return json_real(round(value * 10.0) / 10.0);
}

static json_t *json_summary(struct load_samples *samples)
{
	struct load_summary summary;

	load_samples_summarize(samples, &summary);
	if (summary.count == 0)
		return json_pack("{s:i, s:n, s:n, s:n, s:n, s:n}", "n", 0, "p50", "p95", "p99",
				 "max", "mean");
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o}", "n", (json_int_t)summary.count,
			 "p50", json_ms(summary.p50), "p95", json_ms(summary.p95), "p99",
			 json_ms(summary.p99), "max", json_ms(summary.max), "mean",
			 json_ms(summary.mean));
}

static json_t *json_counts(const struct load_counts *counts)
{
	json_t *object = json_object();

	for (size_t i = 0; object && i < counts->count; i++)
		json_object_set_new(object, counts->items[i].name,
				    json_integer((json_int_t)counts->items[i].value));
	return object;
}

static json_t *json_events(const struct load_events *events)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "meta", (json_int_t)events->meta, "queued", (json_int_t)events->queued,
			 "status", (json_int_t)events->status, "tool", (json_int_t)events->tool,
			 "delta", (json_int_t)events->delta, "done", (json_int_t)events->done,
			 "error", (json_int_t)events->error, "other", (json_int_t)events->other,
			 "keep_alive", (json_int_t)events->comments);
}

static json_t *json_healthz(const struct load_options *options, struct load_result *result)
{
	if (!options->healthz_url)
		return json_null();
	return json_pack("{s:s, s:I, s:I, s:I, s:o, s:o}", "url", options->healthz_url,
			 "rate_per_s", (json_int_t)options->healthz_rate,
			 "probes", (json_int_t)result->healthz.probes,
			 "ok", (json_int_t)result->healthz.ok,
			 "latency_ms", json_summary(&result->healthz.latency),
			 "errors", json_counts(&result->healthz.errors));
}

static json_t *json_turns(const struct load_result *result)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "planned", (json_int_t)result->planned,
			 "started", (json_int_t)result->started, "ok", (json_int_t)result->ok,
			 "failed", (json_int_t)result->failed,
			 "not_started", (json_int_t)result->not_started);
}

int load_report_json(FILE *out, const struct load_options *options,
		     struct load_result *result)
{
	json_t *report = json_pack(
		"{s:s, s:s?, s:s, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:f, s:s,"
		" s:o, s:f, s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:o}",
		"tool", "maitred-load", "label", options->label, "url", options->chat_url,
		"users", (json_int_t)options->users, "turns_per_guest", (json_int_t)options->turns,
		"seed", (json_int_t)options->seed, "duration_limit_s", options->duration_s,
		"ramp_ms", (json_int_t)options->ramp_ms, "think_ms", (json_int_t)options->think_ms,
		"timeout_ms", (json_int_t)options->timeout_ms,
		"elapsed_s", round(result->elapsed_s * 1000.0) / 1000.0, "stopped_by",
		stop_keyword(result), "turns", json_turns(result),
		"turns_per_s", round(turns_per_second(result) * 100.0) / 100.0,
		"first_delta_ms", json_summary(&result->first_delta),
		"whole_turn_ms", json_summary(&result->whole_turn),
		"bytes", (json_int_t)result->bytes, "connections", (json_int_t)result->connections,
		"events", json_events(&result->events), "errors", json_counts(&result->errors),
		"status", json_counts(&result->statuses), "healthz", json_healthz(options, result));

	if (!report)
		return -1;

	int rc = json_dumpf(report, out, JSON_COMPACT);

	json_decref(report);
	fputc('\n', out);
	fflush(out);
	return rc != 0 || ferror(out) ? -1 : 0;
}
