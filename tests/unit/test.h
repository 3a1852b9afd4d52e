#ifndef MAITRED_TEST_H
#define MAITRED_TEST_H

/*
 * A small unit-test harness. TEST(name) defines and registers a test; the
 * runner (tests/unit/main.c) runs them all, or those whose name contains
 * argv[1], and ends with the line "N passed, N failed".
 * A failed CHECK prints file, line and the expression, marks the test failed
 * and goes on, so one run shows every broken case.
 */
#include <stdio.h>
#include <string.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define TEST(name)                                                         \
	static void test_##name(void);                                         \
	__attribute__((constructor)) static void test_register_##name(void)   \
	{                                                                      \
		test_register(#name, test_##name);                             \
	}                                                                      \
	static void test_##name(void)

#define CHECK(expr)                                                        \
	do {                                                                   \
		if (!(expr))                                                   \
			test_fail(__FILE__, __LINE__, "CHECK(%s)", #expr);     \
	} while (0)

#define CHECK_INT(actual, expected)                                        \
	do {                                                                   \
		long long a_ = (long long)(actual), e_ = (long long)(expected); \
		if (a_ != e_)                                                  \
			test_fail(__FILE__, __LINE__, "%s is %lld, expected %lld", \
				  #actual, a_, e_);                             \
	} while (0)

#define CHECK_STR(actual, expected)                                        \
	do {                                                                   \
		const char *a_ = (actual), *e_ = (expected);                   \
		if (!a_ || !e_ || strcmp(a_, e_) != 0)                         \
			test_fail(__FILE__, __LINE__, "%s is \"%s\", expected \"%s\"", \
				  #actual, a_ ? a_ : "(null)", e_ ? e_ : "(null)"); \
	} while (0)

#endif
