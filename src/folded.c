/* folded.c -- stacks counted by their frames, written as Pyroscope's folded text ("a;b;c 3"). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "folded.h"

#define MIN_SLOTS	64	/* hash slots: a power of two, at least twice the stacks */
#define COUNT_DIGITS	22	/* " " + the longest count + "\n" */

/* One distinct stack: its text "a;b;c" (not NUL-terminated) in the text buffer. */
struct stack {
	size_t		 off;
	size_t		 len;
	uint64_t	 count;
	uint64_t	 hash;
};

struct folded {
	size_t		 max_bytes;
	size_t		 used_bytes;	/* what folded_write would write */
	uint64_t	 samples;
	char		*text;		/* every stack's text, one after another */
	size_t		 text_len;
	size_t		 text_cap;
	struct stack	*stacks;	/* in the order first seen */
	size_t		 nstacks;
	size_t		 stacks_cap;
	uint32_t	*slots;		/* hash index: stack number + 1, 0 = empty */
	size_t		 nslots;
	char		*key;		/* scratch: the stack being counted */
	size_t		 key_cap;
};

static uint64_t
fnv1a(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static int
reserve(char **buf, size_t *cap, size_t need)
{
	size_t n = *cap > 0 ? *cap : 256;
	char *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if ((p = realloc(*buf, n)) == NULL)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

/* The stack's text into f->key; its length, or -ENOMEM. */
static int
build_key(struct folded *f, const char *const *frames, size_t n, size_t *ret_len)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		const char *name = frames[i] != NULL && frames[i][0] != '\0' ? frames[i] : "_";
		size_t m = strlen(name);

		if (reserve(&f->key, &f->key_cap, len + m + 1) < 0)
			return -ENOMEM;
		if (i > 0)
			f->key[len++] = ';';
		for (size_t k = 0; k < m; k++) {
			unsigned char c = (unsigned char)name[k];

			f->key[len++] = (c <= 0x20 || c == ';' || c == 0x7f) ? '_' : (char)c;
		}
	}
	*ret_len = len;
	return 0;
}

static struct stack *
find(const struct folded *f, const char *key, size_t len, uint64_t hash, size_t *ret_slot)
{
	size_t mask = f->nslots - 1, i = (size_t)hash & mask;

	for (; f->slots[i] != 0; i = (i + 1) & mask) {
		struct stack *s = &f->stacks[f->slots[i] - 1];

		if (s->hash == hash && s->len == len && memcmp(f->text + s->off, key, len) == 0)
			return s;
	}
	*ret_slot = i;
	return NULL;
}

static int
grow_index(struct folded *f)
{
	size_t n = f->nslots > 0 ? f->nslots * 2 : MIN_SLOTS;
	uint32_t *slots = calloc(n, sizeof(*slots));

	if (slots == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < f->nstacks; i++) {
		size_t k = (size_t)f->stacks[i].hash & (n - 1);

		while (slots[k] != 0)
			k = (k + 1) & (n - 1);
		slots[k] = (uint32_t)(i + 1);
	}
	free(f->slots);
	f->slots = slots;
	f->nslots = n;
	return 0;
}

/* A new stack for f->key[0..len); NULL on OOM. */
static struct stack *
insert(struct folded *f, size_t len, uint64_t hash)
{
	struct stack *s;
	size_t slot;

	if ((f->nstacks + 1) * 2 > f->nslots && grow_index(f) < 0)
		return NULL;
	if (f->nstacks == f->stacks_cap) {
		size_t n = f->stacks_cap > 0 ? f->stacks_cap * 2 : 32;
		struct stack *p = realloc(f->stacks, n * sizeof(*p));

		if (p == NULL)
			return NULL;
		f->stacks = p;
		f->stacks_cap = n;
	}
	if (reserve(&f->text, &f->text_cap, f->text_len + len) < 0)
		return NULL;
	(void)find(f, f->key, len, hash, &slot);
	memcpy(f->text + f->text_len, f->key, len);
	s = &f->stacks[f->nstacks];
	*s = (struct stack){ .off = f->text_len, .len = len, .hash = hash };
	f->text_len += len;
	f->slots[slot] = (uint32_t)++f->nstacks;
	f->used_bytes += len + COUNT_DIGITS;
	return s;
}

struct folded *
folded_new(size_t max_bytes)
{
	struct folded *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->max_bytes = max_bytes;
	if (grow_index(f) < 0) {
		free(f);
		return NULL;
	}
	return f;
}

int
folded_add(struct folded *f, const char *const *frames, size_t n, uint64_t count)
{
	static const char *const overflow[] = { FOLDED_OVERFLOW };
	struct stack *s;
	size_t len, slot;
	uint64_t hash;

	if (n == 0)
		return -EINVAL;
	if (build_key(f, frames, n, &len) < 0)
		return -ENOMEM;
	hash = fnv1a(f->key, len);
	s = find(f, f->key, len, hash, &slot);
	if (s == NULL && f->used_bytes + len + COUNT_DIGITS > f->max_bytes) {
		if (build_key(f, overflow, 1, &len) < 0)
			return -ENOMEM;
		hash = fnv1a(f->key, len);
		s = find(f, f->key, len, hash, &slot);	/* the overflow stack may go past the budget, once */
	}
	if (s == NULL && (s = insert(f, len, hash)) == NULL)
		return -ENOMEM;
	s->count += count;
	f->samples += count;
	return 0;
}

uint64_t
folded_samples(const struct folded *f)
{
	return f->samples;
}

size_t
folded_stacks(const struct folded *f)
{
	return f->nstacks;
}

int
folded_write(const struct folded *f, struct evbuffer *out)
{
	for (size_t i = 0; i < f->nstacks; i++) {
		const struct stack *s = &f->stacks[i];

		if (s->count == 0)
			continue;
		if (evbuffer_add(out, f->text + s->off, s->len) < 0 ||
		    evbuffer_add_printf(out, " %" PRIu64 "\n", s->count) < 0)
			return -ENOMEM;
	}
	return 0;
}

void
folded_reset(struct folded *f)
{
	if (f->nslots > 0)
		memset(f->slots, 0, f->nslots * sizeof(*f->slots));
	f->nstacks = 0;
	f->text_len = 0;
	f->used_bytes = 0;
	f->samples = 0;
}

void
folded_free(struct folded *f)
{
	if (f == NULL)
		return;
	free(f->text);
	free(f->stacks);
	free(f->slots);
	free(f->key);
	free(f);
}
