#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test.h"

#define TEST_MAX 2048

struct test_entry {
	const char *name;
	test_fn fn;
};

static struct test_entry tests[TEST_MAX];
static int test_count;
static int current_failures;

void test_register(const char *name, test_fn fn)
{
	if (test_count == TEST_MAX) {
		fprintf(stderr, "too many tests: raise TEST_MAX in %s\n", __FILE__);
		exit(2);
	}
	tests[test_count].name = name;
	tests[test_count].fn = fn;
	test_count++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	current_failures++;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(((const struct test_entry *)a)->name, ((const struct test_entry *)b)->name);
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	int passed = 0, failed = 0;

	qsort(tests, (size_t)test_count, sizeof(tests[0]), compare_names);
	for (int i = 0; i < test_count; i++) {
		if (filter && !strstr(tests[i].name, filter))
			continue;
		current_failures = 0;
		tests[i].fn();
		if (current_failures) {
			printf("FAIL %s\n", tests[i].name);
			failed++;
		} else {
			passed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
