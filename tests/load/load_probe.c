#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/load/load_probe.h"

struct load_probe {
	struct load_transfer transfer;
	struct load_prober *prober;
	double start_ms;
	struct load_probe *prev;
	struct load_probe *next;
};

void load_prober_init(struct load_prober *prober, struct load_loop *loop,
		      struct load_healthz_result *result, const char *url, unsigned rate,
		      unsigned timeout_ms, double start_ms)
{
	prober->loop = loop;
	prober->result = result;
	prober->url = url;
	prober->timeout_ms = (long)timeout_ms;
	prober->interval_ms = rate ? 1000.0 / rate : 1000.0;
	prober->next_ms = start_ms;
	prober->in_flight = NULL;
}

double load_prober_next_ms(const struct load_prober *prober)
{
	return prober->url ? prober->next_ms : INFINITY;
}

static size_t discard_body(char *bytes, size_t size, size_t count, void *user)
{
	(void)bytes;
	(void)user;
	return size * count;
}

static void unlink_probe(struct load_probe *probe)
{
	struct load_prober *prober = probe->prober;

	if (probe->prev)
		probe->prev->next = probe->next;
	else
		prober->in_flight = probe->next;
	if (probe->next)
		probe->next->prev = probe->prev;
}

static void free_probe(struct load_probe *probe)
{
	unlink_probe(probe);
	curl_easy_cleanup(probe->transfer.easy);
	free(probe);
}

static const char *error_kind(CURLcode code, long status, char *buf, size_t size)
{
	if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST)
		return "connect";
	if (code == CURLE_OPERATION_TIMEDOUT)
		return "timeout";
	if (code != CURLE_OK)
		return "failed";
	snprintf(buf, size, "http_%ld", status);
	return buf;
}

static void on_probe_done(struct load_transfer *transfer, CURLcode code, double now_ms)
{
	struct load_probe *probe = transfer->owner;
	struct load_healthz_result *result = probe->prober->result;
	long status = 0;
	char kind[32];

	curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &status);
	result->probes++;
	if (code == CURLE_OK && status == 200) {
		result->ok++;
		load_samples_add(&result->latency, now_ms - probe->start_ms);
	} else {
		load_counts_add(&result->errors, error_kind(code, status, kind, sizeof(kind)), 1);
	}
	free_probe(probe);
}

static int start_probe(struct load_prober *prober, double now_ms)
{
	struct load_probe *probe = calloc(1, sizeof(*probe));

	if (!probe)
		return -1;
	probe->transfer.easy = curl_easy_init();
	if (!probe->transfer.easy) {
		free(probe);
		return -1;
	}
	probe->transfer.on_done = on_probe_done;
	probe->transfer.owner = probe;
	probe->prober = prober;
	probe->start_ms = now_ms;
	probe->next = prober->in_flight;
	if (probe->next)
		probe->next->prev = probe;
	prober->in_flight = probe;

	CURL *easy = probe->transfer.easy;

	curl_easy_setopt(easy, CURLOPT_URL, prober->url);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, prober->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard_body);
	if (load_loop_add(prober->loop, &probe->transfer) != 0) {
		free_probe(probe);
		return -1;
	}
	return 0;
}

int load_prober_start_due(struct load_prober *prober, double now_ms)
{
	if (!prober->url)
		return 0;
	if (now_ms - prober->next_ms > prober->interval_ms)
		prober->next_ms = now_ms;
	while (prober->next_ms <= now_ms) {
		if (start_probe(prober, now_ms) != 0)
			return -1;
		prober->next_ms += prober->interval_ms;
	}
	return 0;
}

void load_prober_stop(struct load_prober *prober)
{
	while (prober->in_flight) {
		struct load_probe *probe = prober->in_flight;

		load_loop_remove(prober->loop, &probe->transfer);
		free_probe(probe);
	}
}
