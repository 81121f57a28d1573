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

/* Copy s into buf for a TAP description: printable ASCII as is, other bytes as \xNN. */
static inline const char *
tap_escaped(const char *s, char *buf, size_t size)
{
	size_t w = 0;

	for (; *s != '\0' && w + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f)
			buf[w++] = (char)c;
		else
			w += (size_t)snprintf(buf + w, size - w, "\\x%02x", c);
	}
	buf[w] = '\0';
	return buf;
}

/* Print the plan and return the process exit status. */
static int
done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif
