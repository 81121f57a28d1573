/* fuzz.h -- what every libFuzzer target shares: input splitting and property checks. */
#ifndef TESTS_FUZZ_H
#define TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The libFuzzer entry point each target defines. */
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A property that must hold: when it does not, say which and where, then
 * abort() so that libFuzzer keeps the input as a crash.
 */
#define FUZZ_CHECK(cond) do {							\
	if (!(cond)) {								\
		fprintf(stderr, "fuzz property failed at %s:%d: %s\n",		\
		    __FILE__, __LINE__, #cond);					\
		abort();							\
	}									\
} while (0)

/* Room for the strings fuzz_split() cuts an input into. */
#define FUZZ_MAX_STRINGS	32

/*
 * An input as C strings: every NUL byte ends one (a C string cannot hold
 * one anyway). The strings live in one malloc'd copy of the input.
 */
struct fuzz_strings {
	char	*buf;				/* owned */
	size_t	 n;
	char	*s[FUZZ_MAX_STRINGS];		/* into buf; at least `want` of them, "" when missing */
};

/*
 * Cut data[0..size) at each NUL into at most FUZZ_MAX_STRINGS strings (what
 * follows the last one's NUL is ignored); fills up to `want` with empty
 * strings. Returns 0, or -1 when out of memory (skip the input).
 */
static inline int
fuzz_split(const uint8_t *data, size_t size, size_t want, struct fuzz_strings *ret)
{
	size_t i, start = 0;

	memset(ret, 0, sizeof(*ret));
	if (want > FUZZ_MAX_STRINGS)
		want = FUZZ_MAX_STRINGS;
	ret->buf = malloc(size + 1);
	if (ret->buf == NULL)
		return -1;
	if (size > 0)
		memcpy(ret->buf, data, size);
	ret->buf[size] = '\0';
	for (i = 0; i <= size && ret->n < FUZZ_MAX_STRINGS; i++) {
		if (i < size && ret->buf[i] != '\0')
			continue;
		ret->s[ret->n++] = ret->buf + start;
		start = i + 1;
	}
	while (ret->n < want)
		ret->s[ret->n++] = ret->buf + size;	/* the final NUL: "" */
	return 0;
}

static inline void
fuzz_strings_free(struct fuzz_strings *fs)
{
	free(fs->buf);
	memset(fs, 0, sizeof(*fs));
}

/* The input up to its first NUL as a malloc'd C string; NULL when out of memory. */
static inline char *
fuzz_cstring(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t len = nul != NULL ? (size_t)(nul - data) : size;
	char *s = malloc(len + 1);

	if (s == NULL)
		return NULL;
	if (len > 0)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

/* Does the string s hold the substring `needle` (NULL-safe: NULL holds nothing)? */
static inline int
fuzz_contains(const char *s, const char *needle)
{
	return s != NULL && needle != NULL && strstr(s, needle) != NULL;
}

#endif
