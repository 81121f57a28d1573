/* tap.h -- a minimal TAP producer for the C unit tests (one header, no library). */
#ifndef TESTS_TAP_H
#define TESTS_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed;

/* Record one test point; returns the condition so callers may chain. */
static int
tap_ok(int cond, const char *file, int line, const char *desc)
{
	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_count, desc);
	if (!cond)
		printf("#   failed at %s:%d\n", file, line);
	return cond;
}

#define ok(cond, desc) tap_ok(!!(cond), __FILE__, __LINE__, (desc))

/* String equality that prints both sides on failure. */
#define is_str(got, want, desc) do {						\
	const char *g_ = (got), *w_ = (want);					\
	int c_ = (g_ == NULL && w_ == NULL) ||					\
	    (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0);			\
	if (!tap_ok(c_, __FILE__, __LINE__, (desc)))				\
		printf("#   got:  '%s'\n#   want: '%s'\n",			\
		    g_ ? g_ : "(null)", w_ ? w_ : "(null)");			\
} while (0)

#define is_int(got, want, desc) do {						\
	long long g_ = (long long)(got), w_ = (long long)(want);		\
	if (!tap_ok(g_ == w_, __FILE__, __LINE__, (desc)))			\
		printf("#   got:  %lld\n#   want: %lld\n", g_, w_);		\
} while (0)

/* Print the plan and return the process exit status. */
static int
done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
