#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/config.h"

enum setting_type { SET_INT, SET_STR, SET_BOOL };

struct setting {
	const char *name;       /* environment name; the flag is its lower-case, dashed form */
	enum setting_type type;
	size_t offset;
	size_t size;            /* SET_STR: buffer size */
	const char *fallback;   /* default, as text */
	long min, max;          /* SET_INT range */
	const char *help;
};

#define INT_SETTING(n, field, def, lo, hi, h) \
	{ n, SET_INT, offsetof(struct config, field), 0, def, lo, hi, h }
#define STR_SETTING(n, field, def, h) \
	{ n, SET_STR, offsetof(struct config, field), sizeof(((struct config *)0)->field), def, 0, 0, h }
#define BOOL_SETTING(n, field, def, h) \
	{ n, SET_BOOL, offsetof(struct config, field), 0, def, 0, 0, h }

static const struct setting settings[] = {
	STR_SETTING("HOST", host, "0.0.0.0", "address of the public listener"),
	INT_SETTING("PORT", port, "8000", 1, 65535, "port of the public listener"),
	STR_SETTING("ADMIN_LISTEN", admin_listen, "127.0.0.1:9000", "address:port of the admin listener, or off"),
	INT_SETTING("WORKERS", workers, "4", 1, 64, "worker processes"),
	INT_SETTING("THREADS_PER_WORKER", threads_per_worker, "2", 1, 64, "HTTP threads per worker"),
	INT_SETTING("MAX_CONCURRENT_CREWS", max_concurrent_crews, "20", 1, 10000, "agent runs at once per instance"),
	INT_SETTING("MAX_QUEUE", max_queue, "500", 0, 100000, "turns waiting for an agent slot per instance"),
	INT_SETTING("QUEUE_TIMEOUT", queue_timeout, "60", 1, 3600, "seconds a turn may wait for an agent slot"),
	INT_SETTING("LIMIT_CONCURRENCY", limit_concurrency, "10000", 16, 1000000, "open connections per worker"),
	INT_SETTING("TIMEOUT_KEEP_ALIVE", timeout_keep_alive, "75", 1, 3600, "seconds an idle keep-alive connection is kept (above a load balancer's 60 s)"),
	INT_SETTING("HEADER_TIMEOUT", header_timeout, "10", 1, 3600, "seconds a client has to send a request's headers and body"),
	INT_SETTING("DRAIN_TIMEOUT", drain_timeout, "25", 0, 3600, "seconds streams may finish after SIGTERM"),
	INT_SETTING("DRAIN_DELAY", drain_delay, "0", 0, 60, "seconds to keep serving after SIGTERM while /readyz answers 503, so a load balancer stops sending first"),
	INT_SETTING("WORKER_TIMEOUT", worker_timeout, "30", 2, 3600, "seconds without a heartbeat before a worker is replaced"),
	INT_SETTING("HEARTBEAT_INTERVAL", heartbeat_interval, "15", 1, 300, "seconds between SSE keep-alive comments"),
	INT_SETTING("STATUS_AFTER", status_after, "4", 1, 300, "seconds without a token before a status event"),
	INT_SETTING("BODY_LIMIT", body_limit, "16384", 256, 1048576, "largest request body in bytes"),
	INT_SETTING("CHAT_RATE_LIMIT", chat_rate_limit, "30", 0, 1000000, "chat turns per client per minute, 0 for no limit"),
	INT_SETTING("LOOKUP_RATE_LIMIT", lookup_rate_limit, "20", 0, 1000000, "reservation lookups per client per minute, 0 for no limit"),
	INT_SETTING("SESSION_TTL", session_ttl, "3600", 1800, 2592000, "seconds a conversation is kept after its last turn"),
	STR_SETTING("DATABASE_URL", database_url, "postgresql://postgres@127.0.0.1:5432/maitred", "PostgreSQL connection URL"),
	STR_SETTING("REDIS_URL", redis_url, "redis://127.0.0.1:6379/0", "Redis URL (redis://[:password@]host:port/db)"),
	STR_SETTING("OPENAI_API_KEY", openai_api_key, "", "model API key; empty runs the offline agent"),
	STR_SETTING("OPENAI_BASE_URL", openai_base_url, "https://api.openai.com/v1", "OpenAI-compatible API base URL"),
	STR_SETTING("OPENAI_MODEL", openai_model, "gpt-4o-mini", "model name"),
	INT_SETTING("OPENAI_CONNECT_TIMEOUT", openai_connect_timeout, "3000", 100, 600000, "ms to connect to the model server"),
	INT_SETTING("OPENAI_FIRST_TOKEN_TIMEOUT", openai_first_token_timeout, "15000", 100, 600000, "ms until the first token (text or tool call) of a model call"),
	INT_SETTING("OPENAI_IDLE_TIMEOUT", openai_idle_timeout, "10000", 100, 600000, "ms allowed between two chunks"),
	INT_SETTING("OPENAI_TIMEOUT", openai_timeout, "60000", 100, 3600000, "ms for one whole model call"),
	INT_SETTING("TURN_TIMEOUT", turn_timeout, "90000", 1000, 3600000, "ms for a whole turn, retries and tools included"),
	INT_SETTING("OPENAI_MAX_RETRIES", openai_max_retries, "3", 0, 20, "retries of a model call on 429, 5xx or a connection failure"),
	INT_SETTING("OPENAI_RPM", openai_rpm, "0", 0, 100000000, "model requests per minute across all instances, 0 for no limit"),
	INT_SETTING("OPENAI_TPM", openai_tpm, "0", 0, 2000000000, "model tokens per minute across all instances, 0 for no limit"),
	INT_SETTING("MAX_TOOL_ROUNDS", max_tool_rounds, "6", 1, 50, "model calls with tool results per turn"),
	INT_SETTING("CIRCUIT_FAILURES", circuit_failures, "5", 1, 1000, "consecutive model failures that switch to the offline agent"),
	INT_SETTING("CIRCUIT_COOLDOWN", circuit_cooldown, "30", 1, 3600, "seconds the offline agent answers after the circuit opens"),
	STR_SETTING("OPENAI_PRICE", price_table, "0.15:0.60", "USD per million input:output tokens, for the cost estimate"),
	STR_SETTING("ADMIN_TOKEN", admin_token, "", "bearer token the admin listener requires; empty: none"),
	STR_SETTING("LOG_FORMAT", log_format, "text", "text or json"),
	STR_SETTING("LOG_LEVEL", log_level, "info", "debug, info, warn or error"),
	STR_SETTING("LOG_FILE", log_file, "", "log to this file instead of stderr (reopened on SIGUSR1)"),
	BOOL_SETTING("ACCESS_LOG", access_log, "1", "one log line per request"),
	BOOL_SETTING("METRICS_EMF", metrics_emf, "0", "also log CloudWatch Embedded Metric Format lines"),
	INT_SETTING("EMF_INTERVAL", emf_interval, "60", 1, 3600, "seconds between two CloudWatch EMF lines of a worker"),
	STR_SETTING("EMF_SERVICE", emf_service, "maitred", "value of the Service dimension of the CloudWatch EMF metrics"),
	STR_SETTING("TRUSTED_PROXIES", trusted_proxies, "", "peers whose X-Forwarded-For is believed (addresses or CIDR, comma-separated)"),
	STR_SETTING("PROMPTS_DIR", prompts_dir, "", "folder with prompt files that replace the built-in ones"),
	STR_SETTING("SHM_NAME", shm_name, "", "shared-memory region name; empty: /maitred-PORT"),
	STR_SETTING("RESTAURANT_NAME", restaurant_name, "Le Petit Maitre", "restaurant name on the chat page and in the agents' prompts"),
	STR_SETTING("BRAND_COLOR", brand_color, "#7a2e2e", "main colour of the chat page, #rrggbb"),
	STR_SETTING("CONFIG_FILE", config_file, "", "file of KEY=VALUE lines, re-read on SIGHUP"),
};

/* CloudWatch takes any printable ASCII in a dimension value; this narrower
 * set also fits alarm names and shell commands without quoting. */
#define EMF_SERVICE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/"

#define SETTING_COUNT (sizeof(settings) / sizeof(settings[0]))

static const struct setting *setting_find(const char *name)
{
	for (size_t i = 0; i < SETTING_COUNT; i++)
		if (strcasecmp(settings[i].name, name) == 0)
			return &settings[i];
	return NULL;
}

/* Converts a flag name ("max-concurrent-crews") to its setting name. */
static const struct setting *setting_find_flag(const char *flag, size_t len)
{
	char name[64];

	if (len >= sizeof(name))
		return NULL;
	for (size_t i = 0; i < len; i++)
		name[i] = flag[i] == '-' ? '_' : (char)toupper((unsigned char)flag[i]);
	name[len] = '\0';
	return setting_find(name);
}

static int parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int setting_apply(struct config *cfg, const struct setting *s, const char *value,
			 const char *source, char *err, size_t errlen)
{
	char *field = (char *)cfg + s->offset;

	if (s->type == SET_STR) {
		if (strlen(value) >= s->size) {
			snprintf(err, errlen, "invalid %s from %s: longer than %zu bytes; shorten it",
				 s->name, source, s->size - 1);
			return -1;
		}
		memcpy(field, value, strlen(value) + 1);
		return 0;
	}
	if (s->type == SET_BOOL) {
		if (parse_bool(value, (bool *)field) < 0) {
			snprintf(err, errlen, "invalid %s=%.64s from %s: expected 1, 0, true or false",
				 s->name, value, source);
			return -1;
		}
		return 0;
	}

	char *end;
	errno = 0;
	long n = strtol(value, &end, 10);
	if (errno || end == value || *end || n < s->min || n > s->max) {
		snprintf(err, errlen, "invalid %s=%.64s from %s: expected an integer from %ld to %ld",
			 s->name, value, source, s->min, s->max);
		return -1;
	}
	*(int *)field = (int)n;
	return 0;
}

static void trim(char *text)
{
	size_t len = strlen(text);
	while (len && isspace((unsigned char)text[len - 1]))
		text[--len] = '\0';
	size_t start = strspn(text, " \t");
	memmove(text, text + start, len - start + 1);
}

/* Reads KEY=VALUE lines; blank lines and lines starting with # are skipped,
 * and a value may be wrapped in double quotes. */
static int config_read_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open CONFIG_FILE %s: %s", path, strerror(errno));
		return -1;
	}

	char line[1024], source[600];
	int lineno = 0, rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		trim(line);
		if (!line[0] || line[0] == '#')
			continue;
		char *eq = strchr(line, '=');
		snprintf(source, sizeof(source), "%s line %d", path, lineno);
		if (!eq) {
			snprintf(err, errlen, "%s: expected KEY=VALUE", source);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *key = line, *value = eq + 1;
		trim(key);
		trim(value);
		size_t vlen = strlen(value);
		if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
			value[vlen - 1] = '\0';
			value++;
		}
		const struct setting *s = setting_find(key);
		if (!s || strcmp(s->name, "CONFIG_FILE") == 0) {
			snprintf(err, errlen, "%s: unknown setting %s (see maitred --help)", source, key);
			rc = -1;
		} else {
			rc = setting_apply(cfg, s, value, source, err, errlen);
		}
	}
	fclose(f);
	return rc;
}

static int config_apply_flags(struct config *cfg, int argc, char **argv, int *first_arg,
			      bool config_file_only, char *err, size_t errlen)
{
	int i;
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strncmp(arg, "--", 2) != 0)
			break;
		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct setting *s = setting_find_flag(name, len);
		if (!s) {
			snprintf(err, errlen, "unknown option %.64s (see maitred --help)", arg);
			return -1;
		}
		const char *value = eq ? eq + 1 : NULL;
		if (!value) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "option %s needs a value", arg);
				return -1;
			}
			value = argv[++i];
		}
		bool is_file = strcmp(s->name, "CONFIG_FILE") == 0;
		if (is_file == config_file_only &&
		    setting_apply(cfg, s, value, "the command line", err, errlen) < 0)
			return -1;
	}
	if (first_arg)
		*first_arg = i;
	return 0;
}

static int config_check(const struct config *cfg, char *err, size_t errlen)
{
	if (strcmp(cfg->log_format, "text") != 0 && strcmp(cfg->log_format, "json") != 0) {
		snprintf(err, errlen, "invalid LOG_FORMAT=%s: expected text or json", cfg->log_format);
		return -1;
	}
	if (strcmp(cfg->log_level, "debug") && strcmp(cfg->log_level, "info") &&
	    strcmp(cfg->log_level, "warn") && strcmp(cfg->log_level, "error")) {
		snprintf(err, errlen, "invalid LOG_LEVEL=%s: expected debug, info, warn or error",
			 cfg->log_level);
		return -1;
	}
	if (strncmp(cfg->openai_base_url, "http://", 7) && strncmp(cfg->openai_base_url, "https://", 8)) {
		snprintf(err, errlen, "invalid OPENAI_BASE_URL=%.100s: expected an http:// or https:// URL",
			 cfg->openai_base_url);
		return -1;
	}
	if (strncmp(cfg->redis_url, "redis://", 8) != 0) {
		snprintf(err, errlen, "invalid REDIS_URL: expected redis://[:password@]host:port[/db]");
		return -1;
	}
	if (cfg->shm_name[0] && (cfg->shm_name[0] != '/' || strchr(cfg->shm_name + 1, '/'))) {
		snprintf(err, errlen, "invalid SHM_NAME=%s: expected one leading / and no other",
			 cfg->shm_name);
		return -1;
	}
	if (strlen(cfg->brand_color) != 7 || cfg->brand_color[0] != '#' ||
	    strspn(cfg->brand_color + 1, "0123456789abcdefABCDEF") != 6) {
		snprintf(err, errlen, "invalid BRAND_COLOR=%s: expected #rrggbb", cfg->brand_color);
		return -1;
	}
	if (!cfg->emf_service[0] || strspn(cfg->emf_service, EMF_SERVICE_CHARS) != strlen(cfg->emf_service)) {
		snprintf(err, errlen, "invalid EMF_SERVICE=%s: expected 1 to 63 letters, digits, '.', '_', '-' or '/'",
			 cfg->emf_service);
		return -1;
	}
	double price_in, price_out;
	char tail;
	if (sscanf(cfg->price_table, "%lf:%lf%c", &price_in, &price_out, &tail) != 2 || price_in < 0 ||
	    price_out < 0) {
		snprintf(err, errlen, "invalid OPENAI_PRICE=%s: expected USD per million tokens as in:out, e.g. 0.15:0.60",
			 cfg->price_table);
		return -1;
	}
	if (cfg->openai_first_token_timeout > cfg->openai_timeout) {
		snprintf(err, errlen, "OPENAI_FIRST_TOKEN_TIMEOUT (%d ms) exceeds OPENAI_TIMEOUT (%d ms); lower it",
			 cfg->openai_first_token_timeout, cfg->openai_timeout);
		return -1;
	}
	return 0;
}

int config_load(struct config *cfg, int argc, char **argv, int *first_arg, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < SETTING_COUNT; i++)
		if (setting_apply(cfg, &settings[i], settings[i].fallback, "the defaults", err, errlen) < 0)
			return -1;

	/* CONFIG_FILE itself comes from the environment or a flag. */
	const char *file_env = getenv("CONFIG_FILE");
	if (file_env && setting_apply(cfg, setting_find("CONFIG_FILE"), file_env, "the environment", err, errlen) < 0)
		return -1;
	if (config_apply_flags(cfg, argc, argv, NULL, true, err, errlen) < 0)
		return -1;
	if (cfg->config_file[0] && config_read_file(cfg, cfg->config_file, err, errlen) < 0)
		return -1;

	for (size_t i = 0; i < SETTING_COUNT; i++) {
		const char *value = getenv(settings[i].name);
		if (value && setting_apply(cfg, &settings[i], value, "the environment", err, errlen) < 0)
			return -1;
	}
	if (config_apply_flags(cfg, argc, argv, first_arg, false, err, errlen) < 0)
		return -1;
	if (!cfg->shm_name[0])
		snprintf(cfg->shm_name, sizeof(cfg->shm_name), "/maitred-%d", cfg->port);
	return config_check(cfg, err, errlen);
}

void config_print_help(void)
{
	printf("Settings (flag, environment variable, default):\n");
	for (size_t i = 0; i < SETTING_COUNT; i++) {
		char flag[64];
		size_t n = strlen(settings[i].name);
		for (size_t j = 0; j <= n; j++)
			flag[j] = settings[i].name[j] == '_' ? '-' : (char)tolower((unsigned char)settings[i].name[j]);
		printf("  --%-28s %-28s %s\n      %s\n", flag, settings[i].name,
		       settings[i].fallback[0] ? settings[i].fallback : "(empty)", settings[i].help);
	}
}

bool config_online(const struct config *cfg)
{
	return cfg->openai_api_key[0] != '\0';
}
