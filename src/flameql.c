/* flameql.c -- the `name` label-set grammars (the original extension's and current Pyroscope's) and label injection. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "flameql.h"

#define NAME_KEY	"__name__"
#define SESSION_KEY	"__session_id__"
#define MAX_VALUE_LEN	2048	/* current Pyroscope's default label value length limit */

/* A piece of the parsed name; borrowed from it (or from a literal). */
struct span {
	const char	*p;
	size_t		 len;
};

struct label {
	struct span	 key;
	struct span	 value;
	size_t		 seq;		/* order of appearance: the last one of a key wins */
};

/* The result of ParseKey: the app name plus labels (unique keys after unique_labels()). */
struct key {
	struct span	 app;
	struct label	*labels;	/* owned; room for every '=' plus one */
	size_t		 n;
};

enum state {
	ST_NAME,	/* up to the first '{' */
	ST_KEY,		/* a label key, up to '=' ('}' ends the parse) */
	ST_VALUE,	/* a label value, up to ',' or '}' */
	ST_DONE
};

/* Go's strings.TrimSpace, ASCII part: \t \n \v \f \r and space. */
static bool
is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static struct span
trim(struct span s)
{
	while (s.len > 0 && is_space(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_space(s.p[s.len - 1]))
		s.len--;
	return s;
}

static bool
span_is(struct span s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

/* Byte order, a prefix first: Go's string comparison. */
static int
span_cmp(struct span a, struct span b)
{
	int c = memcmp(a.p, b.p, a.len < b.len ? a.len : b.len);

	if (c != 0)
		return c;
	return (a.len > b.len) - (a.len < b.len);
}

static int
label_cmp(const void *a, const void *b)
{
	return span_cmp(((const struct label *)a)->key, ((const struct label *)b)->key);
}

static int
label_seq_cmp(const void *a, const void *b)
{
	const struct label *x = a, *y = b;
	int c = label_cmp(x, y);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* flameql tag keys: [A-Za-z0-9_]+. */
static bool
key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '_';
}

/* flameql app names: [A-Za-z0-9_.-]+. */
static bool
app_char(char c)
{
	return key_char(c) || c == '.' || c == '-';
}

/* labelset label names: [A-Za-z0-9_.]+. */
static bool
labelset_key_char(char c)
{
	return key_char(c) || c == '.';
}

/* labelset service names: [A-Za-z0-9_./-]+. */
static bool
labelset_app_char(char c)
{
	return labelset_key_char(c) || c == '-' || c == '/';
}

/* The two grammars share the state machine; they differ in the characters they allow. */
struct charset {
	bool	(*key)(char);
	bool	(*app)(char);
};

static const struct charset charsets[] = {
	[FLAMEQL_ORIGINAL] = { .key = key_char, .app = app_char },
	[FLAMEQL_LABELSET] = { .key = labelset_key_char, .app = labelset_app_char },
};

static bool
all_chars(struct span s, bool (*allowed)(char))
{
	size_t i;

	if (s.len == 0)
		return false;
	for (i = 0; i < s.len; i++)
		if (!allowed(s.p[i]))
			return false;
	return true;
}

/* labels[key] = value, Go map style: "__name__" is the app name; unique_labels() keeps the last value. */
static void
set_label(struct key *k, struct span key, struct span value)
{
	if (span_is(key, NAME_KEY)) {
		k->app = value;
		return;
	}
	k->labels[k->n].key = key;
	k->labels[k->n].value = value;
	k->labels[k->n].seq = k->n;
	k->n++;
}

/* Sorted by key, one label per key (its last value): n log n, whatever a client sends. */
static void
unique_labels(struct key *k)
{
	size_t i, w = 0;

	qsort(k->labels, k->n, sizeof(k->labels[0]), label_seq_cmp);
	for (i = 0; i < k->n; i++) {
		if (i + 1 < k->n && label_cmp(&k->labels[i], &k->labels[i + 1]) == 0)
			continue;	/* a later value of the same key follows */
		k->labels[w++] = k->labels[i];
	}
	k->n = w;
}

/*
 * The original's ParseKey, a state machine over name + "{". As in the
 * original, a ',' or '}' after a value returns to the key state; only a '}'
 * in the key state ends the parse. Fills k (spans into s); -EINVAL when the
 * name does not parse.
 */
static int
parse_key(const char *s, const struct charset *cs, struct key *k)
{
	size_t len = strlen(s), i, start = 0;
	struct span key = { s, 0 };
	enum state st = ST_NAME;

	for (i = 0; i <= len && st != ST_DONE; i++) {
		char c = i < len ? s[i] : '{';

		switch (st) {
		case ST_NAME:
			if (c != '{')
				break;
			k->app = trim((struct span){ s, i });
			if (!all_chars(k->app, cs->app))
				return -EINVAL;
			st = ST_KEY;
			start = i + 1;
			break;
		case ST_KEY:
			if (c == '}') {
				st = ST_DONE;
			} else if (c == '=') {
				key = (struct span){ s + start, i - start };
				st = ST_VALUE;
				start = i + 1;
			}
			break;
		case ST_VALUE:
			if (c != ',' && c != '}')
				break;
			key = trim(key);
			if (!span_is(key, NAME_KEY) && !all_chars(key, cs->key))
				return -EINVAL;
			set_label(k, key, trim((struct span){ s + start, i - start }));
			st = ST_KEY;
			start = i + 1;
			break;
		case ST_DONE:
			break;
		}
	}
	return 0;
}

/* Normalized(): app "{" k=v,... sorted by key "}". malloc'd, NULL on OOM. */
static char *
normalized(struct key *k)
{
	size_t i, size = k->app.len + 3, w = 0;
	char *out;

	for (i = 0; i < k->n; i++)
		size += k->labels[i].key.len + k->labels[i].value.len + 2;
	out = malloc(size);
	if (out == NULL)
		return NULL;
	qsort(k->labels, k->n, sizeof(k->labels[0]), label_cmp);
	memcpy(out, k->app.p, k->app.len);
	w = k->app.len;
	out[w++] = '{';
	for (i = 0; i < k->n; i++) {
		const struct label *l = &k->labels[i];

		if (i > 0)
			out[w++] = ',';
		memcpy(out + w, l->key.p, l->key.len);
		w += l->key.len;
		out[w++] = '=';
		memcpy(out + w, l->value.p, l->value.len);
		w += l->value.len;
	}
	out[w++] = '}';
	out[w] = '\0';
	return out;
}

/* Whether the parsed (unique) labels hold `key`. */
static bool
has_key(const struct key *k, struct span key)
{
	for (size_t i = 0; i < k->n; i++)
		if (span_cmp(k->labels[i].key, key) == 0)
			return true;
	return false;
}

bool
flameql_value_valid(const char *value)
{
	size_t i;

	if (value == NULL || value[0] == '\0')
		return false;
	for (i = 0; value[i] != '\0'; i++) {
		unsigned char c = (unsigned char)value[i];

		if (i == MAX_VALUE_LEN || c <= ' ' || c >= 0x7f || strchr("{},=", c) != NULL)
			return false;
	}
	return true;
}

int
flameql_add_labels(const char *name, enum flameql_grammar grammar, const struct flameql_label *add,
    size_t nadd, char **ret_name)
{
	struct key k = { { NULL, 0 }, NULL, 0 };
	size_t i, n_eq = 0, added = 0;
	char *norm;
	int rc = 0;

	if ((grammar != FLAMEQL_ORIGINAL && grammar != FLAMEQL_LABELSET) || ret_name == NULL ||
	    (add == NULL && nadd > 0))
		return -EINVAL;
	for (i = 0; i < nadd; i++) {
		struct span key = { add[i].key, add[i].key ? strlen(add[i].key) : 0 };

		if (add[i].key == NULL || span_is(key, NAME_KEY) || !all_chars(key, charsets[grammar].key) ||
		    !flameql_value_valid(add[i].value))
			return -EINVAL;
	}
	if (name == NULL)
		return 0;		/* like an absent query parameter: "" */
	for (i = 0; name[i] != '\0'; i++)
		if (name[i] == '=')
			n_eq++;
	k.labels = calloc(n_eq + nadd + 1, sizeof(*k.labels));
	if (k.labels == NULL)
		return -ENOMEM;
	if (parse_key(name, &charsets[grammar], &k) < 0)
		goto out;
	unique_labels(&k);
	for (i = 0; i < nadd; i++) {
		struct span key = { add[i].key, strlen(add[i].key) };

		if (has_key(&k, key))
			continue;	/* what the client set (or an earlier entry of `add`) wins */
		set_label(&k, key, (struct span){ add[i].value, strlen(add[i].value) });
		added++;
	}
	if (added == 0)
		goto out;
	norm = normalized(&k);
	if (norm == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	*ret_name = norm;
	rc = 1;
out:
	free(k.labels);
	return rc;
}

int
flameql_inject_session(const char *name, const char *session_id, char **ret_name)
{
	const struct flameql_label session = { .key = SESSION_KEY, .value = session_id };

	if (session_id == NULL || *session_id == '\0' || ret_name == NULL)
		return -EINVAL;
	return flameql_add_labels(name, FLAMEQL_ORIGINAL, &session, 1, ret_name);
}
