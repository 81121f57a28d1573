/* test_folded.c -- the self-profiler's aggregation: stacks counted once each, folded text lines, the byte budget. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "folded.h"
#include "tap.h"

/* What folded_write() writes, as a malloc'd string. */
static char *
text_of(const struct folded *f)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	if (b == NULL || folded_write(f, b) < 0)
		return NULL;
	n = evbuffer_get_length(b);
	if ((s = malloc(n + 1)) != NULL) {
		evbuffer_remove(b, s, n);
		s[n] = '\0';
	}
	evbuffer_free(b);
	return s;
}

static void
test_counts(void)
{
	const char *a[] = { "main", "run", "on_request" };
	const char *b[] = { "main", "run", "upstream_submit" };
	const char *c[] = { "main", "run" };
	struct folded *f = folded_new(1 << 20);
	char *s;

	ok(f != NULL, "a new profile");
	is_int(folded_samples(f), 0, "empty: no samples");
	is_int(folded_add(f, a, 3, 1), 0, "count a stack");
	is_int(folded_add(f, b, 3, 2), 0, "count another stack, twice");
	is_int(folded_add(f, a, 3, 1), 0, "count the first stack again");
	is_int(folded_add(f, c, 2, 1), 0, "a prefix of a stack is a stack of its own");
	is_int(folded_add(f, a, 0, 1), -EINVAL, "an empty stack is refused");
	is_int(folded_samples(f), 5, "5 samples counted");
	is_int(folded_stacks(f), 3, "3 distinct stacks");
	s = text_of(f);
	is_str(s, "main;run;on_request 2\nmain;run;upstream_submit 2\nmain;run 1\n",
	    "folded text: root first, one line per stack, in the order first seen, with its count");
	free(s);
	folded_reset(f);
	is_int(folded_samples(f), 0, "reset: no samples");
	s = text_of(f);
	is_str(s, "", "reset: nothing written");
	free(s);
	is_int(folded_add(f, b, 3, 1), 0, "count after a reset");
	s = text_of(f);
	is_str(s, "main;run;upstream_submit 1\n", "after a reset only the new stack is written");
	free(s);
	folded_free(f);
}

static void
test_names(void)
{
	const char *odd[] = { "a b", "c;d", "", "e\nf", NULL, "[libc.so.6]" };
	struct folded *f = folded_new(1 << 20);
	char *s;

	is_int(folded_add(f, odd, 6, 7), 0, "names with separators, empty and NULL names");
	s = text_of(f);
	is_str(s, "a_b;c_d;_;e_f;_;[libc.so.6] 7\n", "separators and controls become '_', empty names '_'");
	free(s);
	folded_free(f);
}

/* Many distinct stacks: the index grows, every stack keeps its own count. */
static void
test_many(void)
{
	struct folded *f = folded_new(64 << 20);
	char name[32], *s, *line;
	const char *frames[2] = { "root", name };
	int bad = 0, lines = 0;

	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 5000; i++) {
			snprintf(name, sizeof(name), "fn%d", i);
			if (folded_add(f, frames, 2, (uint64_t)(i % 7 + 1)) < 0)
				bad++;
		}
	is_int(bad, 0, "10000 counts of 5000 stacks");
	is_int(folded_stacks(f), 5000, "5000 distinct stacks");
	s = text_of(f);
	for (line = strtok(s, "\n"); line != NULL; line = strtok(NULL, "\n"), lines++) {
		int i = -1;
		unsigned long long count = 0;

		if (sscanf(line, "root;fn%d %llu", &i, &count) != 2 || i != lines || count != (unsigned long long)(2 * (i % 7 + 1)))
			bad++;
	}
	is_int(lines, 5000, "5000 lines");
	is_int(bad, 0, "each line has its stack's summed count, in the order first seen");
	free(s);
	folded_free(f);
}

/* The byte budget: stacks that do not fit are counted under one overflow stack. */
static void
test_budget(void)
{
	const char *a[] = { "aaaa", "bbbb" };		/* 9 bytes of text + count */
	const char *b[] = { "cccc", "dddd" };
	const char *c[] = { "eeee", "ffff" };
	struct folded *f = folded_new(40);
	char *s;

	folded_add(f, a, 2, 1);
	folded_add(f, b, 2, 1);		/* over the budget: counted under the overflow stack */
	folded_add(f, c, 2, 3);
	folded_add(f, a, 2, 1);		/* a stack already there is still counted as itself */
	is_int(folded_samples(f), 6, "every sample is counted, over the budget too");
	s = text_of(f);
	is_str(s, "aaaa;bbbb 2\n" FOLDED_OVERFLOW " 4\n", "new stacks past the budget go to " FOLDED_OVERFLOW);
	free(s);
	folded_free(f);
}

int
main(void)
{
	test_counts();
	test_names();
	test_many();
	test_budget();
	return done_testing();
}
