#ifndef MAITRED_CONFIG_H
#define MAITRED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Settings come, lowest precedence first, from built-in defaults, the file
 * named by CONFIG_FILE (KEY=VALUE lines), the environment, and command-line
 * flags (--port 8000, --port=8000, or --PORT=8000). SIGHUP re-reads the file
 * and the prompts; the environment and flags of a running process do not
 * change. docs/operations.md lists every setting.
 */
struct config {
	char host[64];
	int port;
	char admin_listen[96];      /* "127.0.0.1:9000"; "off" disables it */
	int workers;
	int threads_per_worker;
	int max_concurrent_crews;   /* agent slots per instance */
	int max_queue;              /* turns waiting for a slot per instance */
	int queue_timeout;          /* seconds a turn may wait for a slot */
	int limit_concurrency;      /* connections per worker */
	int timeout_keep_alive;     /* seconds an idle keep-alive connection stays */
	int header_timeout;         /* seconds to receive a request's headers and body */
	int drain_timeout;          /* seconds streams may finish after SIGTERM */
	int drain_delay;            /* seconds to keep accepting after SIGTERM while /readyz says 503 */
	int worker_timeout;         /* seconds without a heartbeat before a worker is killed */
	int heartbeat_interval;     /* seconds between SSE keep-alive comments */
	int status_after;           /* seconds without a token before a "status" event */
	int body_limit;             /* bytes */
	int chat_rate_limit;        /* chat turns per client per minute; 0 disables */
	int lookup_rate_limit;      /* reservation lookups per client per minute */
	int session_ttl;            /* seconds a conversation is kept after its last turn */
	char database_url[512];
	char redis_url[512];
	char openai_api_key[256];
	char openai_base_url[512];
	char openai_model[128];
	int openai_connect_timeout;     /* ms */
	int openai_first_token_timeout; /* ms */
	int openai_idle_timeout;        /* ms between chunks */
	int openai_timeout;             /* ms for one whole model call */
	int turn_timeout;               /* ms for a whole turn, retries included */
	int openai_max_retries;
	int openai_rpm;                 /* requests per minute across instances; 0: no limit */
	int openai_tpm;                 /* tokens per minute across instances; 0: no limit */
	int max_tool_rounds;
	int circuit_failures;           /* consecutive failures that open the circuit */
	int circuit_cooldown;           /* seconds the offline agent answers then */
	char price_table[256];          /* "in_per_million:out_per_million", USD */
	char admin_token[256];
	char log_format[8];         /* "text" or "json" */
	char log_level[8];
	char log_file[512];
	bool access_log;
	bool metrics_emf;
	int emf_interval;           /* seconds between a worker's EMF lines */
	char emf_service[64];       /* Service dimension of the EMF metrics */
	char trusted_proxies[512];  /* comma-separated addresses or CIDR blocks */
	char prompts_dir[512];      /* "" uses the built-in prompts */
	char shm_name[64];          /* "" derives "/maitred-<port>" */
	char restaurant_name[128];  /* shown on the chat page and told to the model */
	char brand_color[16];       /* the chat page's main colour, #rrggbb */
	char config_file[512];
};

/* Fills cfg from defaults, CONFIG_FILE, the environment and argv (argv[0]
 * is skipped; arguments that are not flags are left for the caller through
 * *first_arg, the index of the first one, or argc). Returns 0, or -1 with a
 * message naming the setting, the value and the fix in err. */
int config_load(struct config *cfg, int argc, char **argv, int *first_arg, char *err, size_t errlen);

/* Writes "--flag  ENV  default  meaning" lines for --help. */
void config_print_help(void);

/* Returns true when the configuration has an API key, so turns go to the model. */
bool config_online(const struct config *cfg);

#endif
