#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/load/load_loop.h"
#include "tests/load/load_run.h"

/* The maximum message size in bytes after "{guest}" expansion: room for
 * 2000 four-byte characters and the guest number. */
#define MESSAGE_BUFFER_BYTES (LOAD_MESSAGE_MAX_CHARS * 4 + 256)

struct engine;

struct guest {
	struct load_transfer transfer;
	struct engine *engine;
	size_t number;
	unsigned turn;            /* turns finished so far */
	bool in_flight;
	char session_id[LOAD_SESSION_ID_MAX + 1];
	char *body;               /* request body of the turn in flight */
	struct load_turn record;
	double wake_ms;           /* when the next turn starts, while waiting */
	struct guest *next_waiting;
};

struct engine {
	const struct load_options *options;
	const struct load_scenario *scenario;
	struct load_result *result;
	struct load_loop loop;
	struct load_prober prober;
	struct curl_slist *headers;
	struct guest *guests;
	char *message;
	double start_ms;
	double deadline_ms;
	size_t next_to_start;     /* guests start in order, spread over --ramp-ms */
	size_t guests_finished;
	size_t turns_in_flight;
	/* Guests thinking between turns, in wake order: the think time is the
	 * same for all, so wake times grow in the order turns end. */
	struct guest *waiting_head;
	struct guest *waiting_tail;
	bool failed;              /* libcurl or memory failed: stop the run */
	char *err;
	size_t err_size;

	FILE *progress;
	bool progress_inline;
	double next_progress_ms;
	double last_progress_ms;
	uint64_t finished_at_last_progress;
};

static const char *const usual_errors[] = {
	"http_429", "http_503", "http_other", "cut", "timeout", "connect",
	"reply_mismatch", "bad_event", "bad_stream", "not_sse", "deadline",
};

void load_result_init(struct load_result *result)
{
	memset(result, 0, sizeof(*result));
	for (size_t i = 0; i < sizeof(usual_errors) / sizeof(usual_errors[0]); i++)
		load_counts_add(&result->errors, usual_errors[i], 0);
}

void load_result_free(struct load_result *result)
{
	load_samples_free(&result->first_delta);
	load_samples_free(&result->whole_turn);
	load_samples_free(&result->healthz.latency);
}

static void fail_run(struct engine *engine, const char *reason)
{
	if (!engine->failed)
		snprintf(engine->err, engine->err_size, "%s", reason);
	engine->failed = true;
}

static double guest_start_ms(const struct engine *engine, size_t number)
{
	const struct load_options *options = engine->options;

	return engine->start_ms + (double)options->ramp_ms * (double)number / options->users;
}

static enum load_transport transport_of(CURLcode code)
{
	switch (code) {
	case CURLE_OK:
		return LOAD_TRANSPORT_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
		return LOAD_TRANSPORT_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return LOAD_TRANSPORT_TIMEOUT;
	default:
		return LOAD_TRANSPORT_FAILED;
	}
}

/* Reads the status and Content-Type into the turn record, once. */
static void note_response(struct guest *guest)
{
	long status = 0;
	char *content_type = NULL;

	if (guest->record.response_seen)
		return;
	curl_easy_getinfo(guest->transfer.easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(guest->transfer.easy, CURLINFO_CONTENT_TYPE, &content_type);
	load_turn_set_response(&guest->record, status, content_type);
}

static size_t on_body(char *bytes, size_t size, size_t count, void *user)
{
	struct guest *guest = user;

	note_response(guest);
	if (load_turn_feed(&guest->record, bytes, size * count, load_now_ms()) != 0)
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	return size * count;
}

/* Adds one finished turn to the run's figures. */
static void record_turn(struct engine *engine, struct guest *guest, bool ok)
{
	struct load_result *result = engine->result;
	const struct load_turn *record = &guest->record;
	char status[24] = "none";
	long connects = 0;

	curl_easy_getinfo(guest->transfer.easy, CURLINFO_NUM_CONNECTS, &connects);
	result->connections += (uint64_t)connects;

	if (record->status)
		snprintf(status, sizeof(status), "%ld", record->status);
	load_counts_add(&result->statuses, status, 1);
	load_events_add(&result->events, &record->events);
	result->bytes += record->bytes;

	if (!ok) {
		result->failed++;
		load_counts_add(&result->errors, record->error, 1);
		return;
	}
	result->ok++;
	if (record->first_delta_ms >= 0 &&
	    load_samples_add(&result->first_delta, record->first_delta_ms) != 0)
		fail_run(engine, "out of memory for latency samples");
	if (load_samples_add(&result->whole_turn, record->total_ms) != 0)
		fail_run(engine, "out of memory for latency samples");
}

static int prepare_guest(struct engine *engine, struct guest *guest)
{
	CURL *easy = curl_easy_init();

	if (!easy)
		return -1;
	guest->transfer.easy = easy;
	curl_easy_setopt(easy, CURLOPT_URL, engine->options->chat_url);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, engine->headers);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, guest);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)engine->options->timeout_ms);
	return 0;
}

/* Builds the JSON request body of the guest's next turn. */
static char *build_body(struct engine *engine, struct guest *guest)
{
	if (load_scenario_message(engine->scenario, engine->options->seed, guest->number,
				  guest->turn, engine->message, MESSAGE_BUFFER_BYTES) < 0)
		return NULL;

	json_t *request = json_pack("{s:s}", "message", engine->message);

	if (request && guest->session_id[0])
		json_object_set_new(request, "session_id", json_string(guest->session_id));

	char *body = request ? json_dumps(request, JSON_COMPACT) : NULL;

	json_decref(request);
	return body;
}

static void start_turn(struct engine *engine, struct guest *guest, double now_ms)
{
	if (!guest->transfer.easy && prepare_guest(engine, guest) != 0) {
		fail_run(engine, "curl_easy_init() failed");
		return;
	}

	free(guest->body);
	guest->body = build_body(engine, guest);
	if (!guest->body) {
		fail_run(engine, "cannot build a request body: out of memory or a message too long");
		return;
	}
	curl_easy_setopt(guest->transfer.easy, CURLOPT_POSTFIELDS, guest->body);
	curl_easy_setopt(guest->transfer.easy, CURLOPT_POSTFIELDSIZE, (long)strlen(guest->body));

	load_turn_begin(&guest->record, now_ms);
	if (load_loop_add(&engine->loop, &guest->transfer) != 0) {
		fail_run(engine, "curl_multi_add_handle() failed");
		return;
	}
	guest->in_flight = true;
	engine->turns_in_flight++;
	engine->result->started++;
}

static void finish_guest(struct engine *engine, struct guest *guest)
{
	curl_easy_cleanup(guest->transfer.easy);
	guest->transfer.easy = NULL;
	free(guest->body);
	guest->body = NULL;
	load_turn_free(&guest->record);
	engine->guests_finished++;
}

static void wait_to_think(struct engine *engine, struct guest *guest, double now_ms)
{
	guest->wake_ms = now_ms + engine->options->think_ms;
	guest->next_waiting = NULL;
	if (engine->waiting_tail)
		engine->waiting_tail->next_waiting = guest;
	else
		engine->waiting_head = guest;
	engine->waiting_tail = guest;
}

/* A turn ended: count it, carry the session on and start or plan the next. */
static void on_turn_done(struct load_transfer *transfer, CURLcode code, double now_ms)
{
	struct guest *guest = transfer->owner;
	struct engine *engine = guest->engine;

	guest->in_flight = false;
	engine->turns_in_flight--;
	note_response(guest);
	record_turn(engine, guest, load_turn_finish(&guest->record, transport_of(code), now_ms));
	if (guest->record.session_id[0])
		memcpy(guest->session_id, guest->record.session_id, sizeof(guest->session_id));

	guest->turn++;
	if (guest->turn >= engine->options->turns)
		finish_guest(engine, guest);
	else if (engine->options->think_ms > 0)
		wait_to_think(engine, guest, now_ms);
	else
		start_turn(engine, guest, now_ms);
}

static void start_due_guests(struct engine *engine, double now_ms)
{
	while (engine->next_to_start < engine->options->users &&
	       guest_start_ms(engine, engine->next_to_start) <= now_ms && !engine->failed)
		start_turn(engine, &engine->guests[engine->next_to_start++], now_ms);

	while (engine->waiting_head && engine->waiting_head->wake_ms <= now_ms &&
	       !engine->failed) {
		struct guest *guest = engine->waiting_head;

		engine->waiting_head = guest->next_waiting;
		if (!engine->waiting_head)
			engine->waiting_tail = NULL;
		start_turn(engine, guest, now_ms);
	}
}

static void print_progress(struct engine *engine, double now_ms, bool last)
{
	const struct load_result *result = engine->result;
	uint64_t finished = result->ok + result->failed;
	double window_s = (now_ms - engine->last_progress_ms) / 1000.0;
	double rate = 0;

	if (window_s > 0)
		rate = (double)(finished - engine->finished_at_last_progress) / window_s;

	/* On a terminal the line is rewritten in place: carriage return first,
	 * then erase to the end of the line, and a newline only at the end. */
	const char *start = engine->progress_inline ? "\r" : "";
	const char *end = "\n";

	if (engine->progress_inline)
		end = last ? "\033[K\n" : "\033[K";
	fprintf(engine->progress,
		"%s[%6.1f s] turns done %llu, in flight %zu, errors %llu, %.1f turns/s%s", start,
		(now_ms - engine->start_ms) / 1000.0, (unsigned long long)finished,
		engine->turns_in_flight, (unsigned long long)result->failed, rate, end);
	fflush(engine->progress);
	engine->last_progress_ms = now_ms;
	engine->finished_at_last_progress = finished;
}

/* Returns how long the loop may sleep before something of ours is due. */
static int wait_ms(const struct engine *engine, double now_ms)
{
	double next = engine->deadline_ms;

	if (engine->next_to_start < engine->options->users)
		next = fmin(next, guest_start_ms(engine, engine->next_to_start));
	if (engine->waiting_head)
		next = fmin(next, engine->waiting_head->wake_ms);
	next = fmin(next, load_prober_next_ms(&engine->prober));
	if (engine->progress)
		next = fmin(next, engine->next_progress_ms);
	return next <= now_ms ? 0 : (int)ceil(next - now_ms);
}

/* Ends the turns still in flight as "deadline" and counts the rest as not
 * started. */
static void stop_guests(struct engine *engine, double now_ms)
{
	for (size_t i = 0; i < engine->next_to_start; i++) {
		struct guest *guest = &engine->guests[i];

		if (guest->in_flight) {
			load_loop_remove(&engine->loop, &guest->transfer);
			guest->in_flight = false;
			engine->turns_in_flight--;
			note_response(guest);
			record_turn(engine, guest,
				    load_turn_finish(&guest->record, LOAD_TRANSPORT_DEADLINE, now_ms));
		}
		if (guest->transfer.easy)
			finish_guest(engine, guest);
	}
	engine->result->not_started = engine->result->planned - engine->result->started;
}

static void run_loop(struct engine *engine, volatile sig_atomic_t *stop)
{
	while (!engine->failed) {
		double now = load_now_ms();

		if (stop && *stop) {
			engine->result->interrupted = true;
			break;
		}
		if (now >= engine->deadline_ms) {
			engine->result->deadline_reached = true;
			break;
		}
		start_due_guests(engine, now);
		if (load_prober_start_due(&engine->prober, now) != 0)
			fail_run(engine, "cannot start a health probe: libcurl or memory failed");
		if (engine->progress && now >= engine->next_progress_ms) {
			print_progress(engine, now, false);
			engine->next_progress_ms += 1000;
		}
		if (engine->guests_finished == engine->options->users)
			break;
		if (load_loop_step(&engine->loop, wait_ms(engine, now), engine->err,
				   engine->err_size) != 0)
			engine->failed = true;
	}
}

static int open_engine(struct engine *engine)
{
	const struct load_options *options = engine->options;

	if (load_loop_open(&engine->loop, engine->err, engine->err_size) != 0)
		return -1;
	engine->guests = calloc(options->users, sizeof(*engine->guests));
	engine->message = malloc(MESSAGE_BUFFER_BYTES);
	engine->headers = curl_slist_append(NULL, "Content-Type: application/json");
	engine->headers = curl_slist_append(engine->headers, "Accept: text/event-stream");
	/* A body over 1 KiB would otherwise wait for "100 Continue". */
	engine->headers = curl_slist_append(engine->headers, "Expect:");
	if (!engine->guests || !engine->message || !engine->headers) {
		snprintf(engine->err, engine->err_size, "out of memory for %u guests", options->users);
		return -1;
	}

	for (size_t i = 0; i < options->users; i++) {
		struct guest *guest = &engine->guests[i];

		guest->engine = engine;
		guest->number = i;
		guest->transfer.on_done = on_turn_done;
		guest->transfer.owner = guest;
		load_turn_init(&guest->record);
	}
	return 0;
}

static void close_engine(struct engine *engine)
{
	load_prober_stop(&engine->prober);
	for (size_t i = 0; engine->guests && i < engine->options->users; i++) {
		struct guest *guest = &engine->guests[i];

		if (guest->in_flight)
			load_loop_remove(&engine->loop, &guest->transfer);
		curl_easy_cleanup(guest->transfer.easy);
		free(guest->body);
		load_turn_free(&guest->record);
	}
	load_loop_close(&engine->loop);
	free(engine->guests);
	free(engine->message);
	curl_slist_free_all(engine->headers);
}

int load_run(const struct load_options *options, const struct load_scenario *scenario,
	     volatile sig_atomic_t *stop, FILE *progress, bool progress_inline,
	     struct load_result *result, char *err, size_t err_size)
{
	struct engine engine = {
		.options = options,
		.scenario = scenario,
		.result = result,
		.err = err,
		.err_size = err_size,
		.progress = progress,
		.progress_inline = progress_inline,
	};

	engine.loop.epoll_fd = -1;
	result->planned = (uint64_t)options->users * options->turns;
	if (open_engine(&engine) != 0) {
		close_engine(&engine);
		return -1;
	}

	engine.start_ms = load_now_ms();
	engine.deadline_ms = engine.start_ms + options->duration_s * 1000.0;
	engine.last_progress_ms = engine.start_ms;
	engine.next_progress_ms = engine.start_ms + 1000;
	load_prober_init(&engine.prober, &engine.loop, &result->healthz, options->healthz_url,
			 options->healthz_rate, options->healthz_timeout_ms, engine.start_ms);

	run_loop(&engine, stop);

	double end = load_now_ms();

	stop_guests(&engine, end);
	result->elapsed_s = (end - engine.start_ms) / 1000.0;
	if (progress)
		print_progress(&engine, end, true);
	close_engine(&engine);
	return engine.failed ? -1 : 0;
}
