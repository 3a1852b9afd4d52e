#ifndef MAITRED_LOAD_REPORT_H
#define MAITRED_LOAD_REPORT_H

#include <stdio.h>

#include "tests/load/load_options.h"
#include "tests/load/load_run.h"

/* Writes the end-of-run table for people. Sorts the samples in place.
 * Returns 0, or -1 when writing fails. */
int load_report_table(FILE *out, const struct load_options *options,
		      struct load_result *result);

/* Writes the same figures as one JSON object on one line, for machines;
 * docs/load-tool.md lists the fields. Sorts the samples in place.
 * Returns 0, or -1 when memory or writing fails. */
int load_report_json(FILE *out, const struct load_options *options,
		     struct load_result *result);

#endif
