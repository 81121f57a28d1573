/* redact.c -- secrets taken out of text that came from the remote, before it is logged. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <event2/keyvalq_struct.h>

#include "hdr.h"
#include "redact.h"

#define WORD_MIN	6	/* a word of a secret header's value this long is a secret of its own */

struct needles {
	const char	*p[SETTINGS_MAX_HEADERS + 64];
	size_t		 len[SETTINGS_MAX_HEADERS + 64];
	size_t		 n;
};

static void
add(struct needles *nd, const char *p, size_t len)
{
	if (p != NULL && len > 0 && nd->n < sizeof(nd->p) / sizeof(nd->p[0])) {
		nd->p[nd->n] = p;
		nd->len[nd->n++] = len;
	}
}

static void
add_str(struct needles *nd, const char *s)
{
	if (s != NULL)
		add(nd, s, strlen(s));
}

/* A secret header's value, and each long enough word of it ("Bearer <token>": the token). */
static void
add_words(struct needles *nd, const char *v)
{
	const char *p = v;

	add_str(nd, v);
	while (*p != '\0') {
		size_t n;

		p += strspn(p, " \t");
		n = strcspn(p, " \t");
		if (n >= WORD_MIN && n < strlen(v))
			add(nd, p, n);
		p += n;
	}
}

/* The longest secret starting at in[i], or 0. */
static size_t
match(const struct needles *nd, const char *in, size_t len, size_t i)
{
	size_t best = 0;

	for (size_t k = 0; k < nd->n; k++)
		if (nd->len[k] > best && nd->len[k] <= len - i && memcmp(in + i, nd->p[k], nd->len[k]) == 0)
			best = nd->len[k];
	return best;
}

void
redact(const struct relay_settings *cfg, const struct relay_req *rr, const char *in, size_t len,
    char *out, size_t size)
{
	struct needles nd = { .n = 0 };
	const struct evkeyval *h;
	size_t i = 0, o = 0;

	if (size == 0)
		return;
	add_str(&nd, cfg->auth_token);
	add_str(&nd, cfg->basic_auth_password);
	add_str(&nd, cfg->remote.password);
	add_str(&nd, cfg->proxy.password);
	if (cfg->proxy.authorization != NULL)
		add_words(&nd, cfg->proxy.authorization);
	for (size_t k = 0; k < cfg->nheaders; k++)
		add_str(&nd, cfg->headers[k].value);
	TAILQ_FOREACH(h, &rr->headers, next)
		if (hdr_is_secret(h->key))
			add_words(&nd, h->value);
	while (i < len && o + 1 < size) {
		size_t m = match(&nd, in, len, i);

		if (m > 0) {
			size_t n = sizeof(REDACTED) - 1 < size - 1 - o ? sizeof(REDACTED) - 1 : size - 1 - o;

			memcpy(out + o, REDACTED, n);
			o += n;
			i += m;
			continue;
		}
		out[o++] = (unsigned char)in[i] < 0x20 && in[i] != '\t' ? '.' : in[i];
		i++;
	}
	out[o] = '\0';
}
