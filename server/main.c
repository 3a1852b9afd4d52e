#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"
#include "server/log.h"
#include "server/master.h"
#include "shm/render.h"

static void usage(void)
{
	printf("usage: maitred [SETTINGS] [serve]   run the server (the default)\n"
	       "       maitred [SETTINGS] migrate   apply database migrations and exit\n"
	       "       maitred [SETTINGS] stats [--json] [--interval SECONDS] [--count N]\n"
	       "                                    print the running instance's state from shared memory\n"
	       "       maitred --help | --version\n\n");
	config_print_help();
}

/* Parses the options after "stats". Returns 0 or -1 with a message printed. */
static int parse_stats_args(int argc, char **argv, bool *json, int *interval, int *count)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			*json = true;
		} else if ((strcmp(argv[i], "--interval") == 0 || strcmp(argv[i], "--count") == 0) && i + 1 < argc) {
			char *end;
			long n = strtol(argv[i + 1], &end, 10);
			if (end == argv[i + 1] || *end || n < 1 || n > 86400) {
				fprintf(stderr, "maitred stats: %s takes a whole number from 1 to 86400, got %s\n",
					argv[i], argv[i + 1]);
				return -1;
			}
			*(argv[i][2] == 'i' ? interval : count) = (int)n;
			i++;
		} else {
			fprintf(stderr, "maitred stats: unknown option %s (try --json, --interval N, --count N)\n", argv[i]);
			return -1;
		}
	}
	return 0;
}

static int run_stats(const struct config *cfg, int argc, char **argv)
{
	bool json = false;
	int interval = 0, count = 0;
	if (parse_stats_args(argc, argv, &json, &interval, &count) < 0)
		return 2;
	if (interval && !count)
		count = -1;   /* until interrupted */
	if (!interval)
		count = 1;

	struct shm_region region;
	char err[512];
	if (shm_region_open(&region, cfg->shm_name, err, sizeof(err)) < 0) {
		fprintf(stderr, "maitred stats: %s\n", err);
		return 1;
	}
	for (int i = 0; count < 0 || i < count; i++) {
		if (i)
			sleep((unsigned)interval);
		if (json) {
			json_t *stats = render_stats(&region);
			char *text = json_dumps(stats, JSON_COMPACT);
			printf("%s\n", text ? text : "{}");
			free(text);
			json_decref(stats);
		} else {
			render_stats_table(&region, stdout);
			if (interval)
				printf("\n");
		}
		fflush(stdout);
	}
	shm_region_close(&region);
	return 0;
}

int main(int argc, char **argv)
{
	struct config cfg;
	char err[600];
	int first = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage();
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("maitred %s\n", MAITRED_VERSION);
			return 0;
		}
	}
	if (config_load(&cfg, argc, argv, &first, err, sizeof(err)) < 0) {
		fprintf(stderr, "maitred: %s\n", err);
		return 2;
	}
	log_setup("master", strcmp(cfg.log_format, "json") == 0, (enum log_level)log_level_parse(cfg.log_level));
	if (log_open(cfg.log_file) < 0) {
		fprintf(stderr, "maitred: cannot open LOG_FILE %s\n", cfg.log_file);
		return 2;
	}

	const char *command = first < argc ? argv[first] : "serve";
	if (strcmp(command, "serve") == 0 && first + 1 >= argc)
		return master_main(&cfg, first, argv);
	if (strcmp(command, "migrate") == 0 && first + 1 >= argc)
		return master_prepare_database(&cfg, NULL, 0) == 0 ? 0 : 1;
	if (strcmp(command, "stats") == 0) {
		log_setup("stats", false, LOG_WARN);
		return run_stats(&cfg, argc - first - 1, argv + first + 1);
	}
	fprintf(stderr, "maitred: unknown command %s (commands: serve, migrate, stats; see --help)\n", command);
	return 2;
}
