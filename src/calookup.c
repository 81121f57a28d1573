/* calookup.c -- trust anchors from PEM bundle files, decoded only when a verification asks for them. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "calookup.h"

/* A bundle larger than this is not a CA bundle: it is not read. */
#define BUNDLE_MAX	(64L * 1024 * 1024)
/* Base64 characters decoded at a time while looking for a certificate's subject. */
#define DECODE_STEP	128

/* OpenSSL 3 passes the names as const; 1.1.1 does not. */
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
typedef const X509_NAME	lookup_name;
#else
typedef X509_NAME	lookup_name;
#endif

struct caent {
	uint64_t	 hash;		/* of the subject name's DER bytes */
	uint32_t	 off;		/* the PEM block: offset and length in the file */
	uint32_t	 len;
};

struct cafile {
	char		*path;
	int		 indexed;	/* ents describes the file identified below */
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
	struct caent	*ents;
	size_t		 nents;
};

struct calookup {
	pthread_mutex_t	 lock;		/* the files and their indexes */
	struct cafile	*files;
	size_t		 nfiles;
	pthread_t	 prefetch;	/* calookup_prefetch's thread */
	enum { PREFETCH_NONE, PREFETCH_RUNNING, PREFETCH_DONE, PREFETCH_JOINED } prefetch_state;
};

/* The PEM labels of a certificate, each with the line that ends its block. */
static const struct {
	const char	*label;
	const char	*end;
} cert_labels[] = {
	{ "CERTIFICATE", "-----END CERTIFICATE-----" },
	{ "X509 CERTIFICATE", "-----END X509 CERTIFICATE-----" },
	{ "TRUSTED CERTIFICATE", "-----END TRUSTED CERTIFICATE-----" },
};

/* ---- the index ------------------------------------------------------------------ */

/* FNV-1a, 64 bits. */
static uint64_t
hash_bytes(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n-- > 0)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/*
 * The first `marker` (which starts with '-') in [p, end) that starts a line, or
 * NULL. Base64 has no '-', so a search for that byte skips a body at once.
 */
static const char *
find_marker(const char *start, const char *p, const char *end, const char *marker)
{
	size_t n = strlen(marker);

	while (p < end && (p = memchr(p, '-', (size_t)(end - p))) != NULL) {
		if ((p == start || p[-1] == '\n') && (size_t)(end - p) >= n && memcmp(p, marker, n) == 0)
			return p;
		p++;
	}
	return NULL;
}

/*
 * One DER header (identifier and length octets) at p, of which n bytes are
 * known: its length with *tag and *len set, 0 when more bytes are needed, -1
 * when it is not one a certificate's outer structure has (high tag numbers,
 * indefinite or over-long lengths).
 */
static int
der_header(const unsigned char *p, size_t n, unsigned char *tag, size_t *len)
{
	size_t nb, l = 0;

	if (n < 2)
		return 0;
	if ((p[0] & 0x1f) == 0x1f)
		return -1;
	*tag = p[0];
	if (p[1] < 0x80) {
		*len = p[1];
		return 2;
	}
	nb = p[1] & 0x7f;
	if (nb == 0 || nb > 4)
		return -1;
	if (n < 2 + nb)
		return 0;
	for (size_t i = 0; i < nb; i++)
		l = l << 8 | p[2 + i];
	*len = l;
	return (int)(2 + nb);
}

/*
 * Where the subject Name is in a DER certificate of which the first n bytes are
 * known: Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version
 * OPTIONAL, serialNumber, signature, issuer, validity, subject, ... }, ... }.
 * 1 with *off and *len (the whole encoding, header included), 0 when more
 * bytes are needed, -1 when the bytes are not a certificate.
 */
static int
der_subject(const unsigned char *der, size_t n, size_t *off, size_t *len)
{
	static const unsigned char want[] = { 0x30, 0x30, 0xa0, 0x02, 0x30, 0x30, 0x30, 0x30 };
	size_t p = 0, l;
	unsigned char tag;
	int h;

	for (size_t i = 0; i < sizeof(want); i++) {
		if ((h = der_header(der + p, n - p, &tag, &l)) <= 0)
			return h;
		if (i == 2 && tag != want[i])
			continue;	/* no version: a v1 certificate */
		if (tag != want[i])
			return -1;
		if (i < 2) {		/* enter Certificate and tbsCertificate */
			p += (size_t)h;
			continue;
		}
		if (i == sizeof(want) - 1) {
			*off = p;
			*len = (size_t)h + l;
			return p + *len <= n ? 1 : 0;
		}
		p += (size_t)h + l;	/* skip this field */
		if (p > n)
			return 0;
	}
	return -1;
}

#define B64_SKIP	64	/* a line break or a blank */
#define B64_END		65	/* '=': padding, the end of the data */
#define B64_BAD		66

/* Base64 being decoded: each character's value, and the bits not yet making a byte. */
struct b64 {
	unsigned char	 value[256];
	uint32_t	 acc;
	int		 bits;
	bool		 done;		/* padding seen: the rest is not data */
};

static void
b64_init(struct b64 *st)
{
	static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	memset(st->value, B64_BAD, sizeof(st->value));
	for (int i = 0; i < 64; i++)
		st->value[(unsigned char)digits[i]] = (unsigned char)i;
	st->value['\n'] = st->value['\r'] = st->value[' '] = st->value['\t'] = B64_SKIP;
	st->value['='] = B64_END;
}

/* Start a new body. */
static void
b64_reset(struct b64 *st)
{
	st->acc = 0;
	st->bits = 0;
	st->done = false;
}

/*
 * Decode in[0..n) (line breaks and blanks skipped, decoding ends at '=')
 * into out, which holds n * 3 / 4 + 1 bytes. The bytes written, or -1 on a
 * character that is not base64.
 */
static ssize_t
b64_decode(struct b64 *st, const char *in, size_t n, unsigned char *out)
{
	const unsigned char *v = st->value;
	size_t o = 0, i = 0;

	while (i < n && !st->done) {
		unsigned c = v[(unsigned char)in[i]];

		/* Four data characters on a byte boundary (most of a line) make three bytes. */
		if (st->bits == 0 && n - i >= 4) {
			uint32_t c1 = v[(unsigned char)in[i + 1]], c2 = v[(unsigned char)in[i + 2]],
			    c3 = v[(unsigned char)in[i + 3]];

			if ((c | c1 | c2 | c3) < B64_SKIP) {
				uint32_t w = c << 18 | c1 << 12 | c2 << 6 | c3;

				out[o++] = (unsigned char)(w >> 16);
				out[o++] = (unsigned char)(w >> 8);
				out[o++] = (unsigned char)w;
				i += 4;
				continue;
			}
		}
		i++;
		if (c >= B64_SKIP) {
			if (c == B64_BAD)
				return -1;
			st->done = c == B64_END;
			continue;
		}
		st->acc = st->acc << 6 | (uint32_t)c;
		st->bits += 6;
		if (st->bits >= 8) {
			st->bits -= 8;
			out[o++] = (unsigned char)(st->acc >> st->bits);
		}
	}
	return (ssize_t)o;
}

/*
 * The hash of the subject of the certificate whose base64 body is [b64, b64 + n),
 * decoding no more of it than needed (the subject comes within the first few
 * hundred bytes). der holds at least n * 3 / 4 + 3 bytes. 0, or -1 when the
 * body does not decode to a certificate.
 */
static int
subject_hash(struct b64 *st, unsigned char *der, const char *b64, size_t n, uint64_t *hash)
{
	size_t used = 0, got = 0, off, len;
	int r = 0;

	b64_reset(st);
	while (used < n && r == 0) {
		size_t step = n - used < DECODE_STEP ? n - used : DECODE_STEP;
		ssize_t outl = b64_decode(st, b64 + used, step, der + got);

		if (outl < 0)
			return -1;
		used += step;
		got += (size_t)outl;
		r = der_subject(der, got, &off, &len);
	}
	if (r != 1)
		return -1;
	*hash = hash_bytes(der + off, len);
	return 0;
}

static int
add_entry(struct cafile *f, size_t *cap, uint64_t hash, size_t off, size_t len)
{
	if (f->nents == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct caent *n = realloc(f->ents, ncap * sizeof(*n));

		if (n == NULL)
			return -ENOMEM;
		f->ents = n;
		*cap = ncap;
	}
	f->ents[f->nents++] = (struct caent){ .hash = hash, .off = (uint32_t)off, .len = (uint32_t)len };
	return 0;
}

/* Index the certificates of the bundle held in buf[0..size). */
static int
index_bytes(struct cafile *f, const char *buf, size_t size)
{
	const char *end = buf + size, *p = buf, *label, *lend, *body, *stop, *bend;
	unsigned char *der = NULL;
	struct b64 st;
	size_t dercap = 0, cap = 0;
	int rc = 0;

	b64_init(&st);
	while ((p = find_marker(buf, p, end, "-----BEGIN ")) != NULL) {
		size_t l, nl = sizeof(cert_labels) / sizeof(cert_labels[0]);
		uint64_t hash;

		label = p + 11;
		lend = label;
		while (lend < end && *lend != '-' && *lend != '\n')
			lend++;
		for (l = 0; l < nl; l++)
			if ((size_t)(lend - label) == strlen(cert_labels[l].label) &&
			    memcmp(label, cert_labels[l].label, (size_t)(lend - label)) == 0)
				break;
		body = memchr(p, '\n', (size_t)(end - p));
		if (l == nl || body == NULL) {
			p = body != NULL ? body + 1 : end;
			continue;
		}
		body++;
		if ((stop = find_marker(buf, body, end, cert_labels[l].end)) == NULL)
			break;
		bend = stop + strlen(cert_labels[l].end);
		if ((size_t)(stop - body) + 3 > dercap) {
			unsigned char *d = realloc(der, (size_t)(stop - body) + 3);

			if (d == NULL) {
				rc = -ENOMEM;
				break;
			}
			der = d;
			dercap = (size_t)(stop - body) + 3;
		}
		/* A block that does not decode is skipped, as OpenSSL would refuse it. */
		if (subject_hash(&st, der, body, (size_t)(stop - body), &hash) == 0 &&
		    (rc = add_entry(f, &cap, hash, (size_t)(p - buf), (size_t)(bend - p))) != 0)
			break;
		p = bend;
	}
	free(der);
	return rc;
}

static int
same_file(const struct cafile *f, const struct stat *st)
{
	return f->dev == st->st_dev && f->ino == st->st_ino && f->size == st->st_size &&
	    f->mtime.tv_sec == st->st_mtim.tv_sec && f->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void
drop_index(struct cafile *f)
{
	free(f->ents);
	f->ents = NULL;
	f->nents = 0;
	f->indexed = 0;
}

/* Bring f's index in line with the file; a file that cannot be read holds nothing. */
static int
refresh(struct cafile *f)
{
	struct stat st;
	char *buf;
	ssize_t got = 0;
	int fd, rc;

	if (stat(f->path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > BUNDLE_MAX) {
		drop_index(f);
		return 0;
	}
	if (f->indexed && same_file(f, &st))
		return 0;
	drop_index(f);
	if ((fd = open(f->path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (got < st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)(st.st_size - got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	close(fd);
	rc = index_bytes(f, buf, (size_t)got);
	free(buf);
	if (rc != 0) {
		drop_index(f);
		return rc;
	}
	f->indexed = 1;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = st.st_size;
	f->mtime = st.st_mtim;
	return 0;
}

/* Decode the certificate of entry e, or NULL (the file changed, or no memory). */
static X509 *
read_cert(const struct cafile *f, const struct caent *e)
{
	char *buf = malloc(e->len);
	X509 *x = NULL;
	BIO *bio;
	int fd;

	if (buf == NULL)
		return NULL;
	if ((fd = open(f->path, O_RDONLY | O_CLOEXEC)) >= 0) {
		if (pread(fd, buf, e->len, (off_t)e->off) == (ssize_t)e->len &&
		    (bio = BIO_new_mem_buf(buf, (int)e->len)) != NULL) {
			x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
			BIO_free(bio);
		}
		close(fd);
	}
	free(buf);
	return x;
}

/* ---- the X509_LOOKUP method ---------------------------------------------------- */

static int
lookup_new(X509_LOOKUP *lu)
{
	struct calookup *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return 0;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return 0;
	}
	X509_LOOKUP_set_method_data(lu, (void *)c);
	return 1;
}

static void
lookup_free(X509_LOOKUP *lu)
{
	struct calookup *c = X509_LOOKUP_get_method_data(lu);
	int joinable;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	joinable = c->prefetch_state == PREFETCH_RUNNING || c->prefetch_state == PREFETCH_DONE;
	pthread_mutex_unlock(&c->lock);
	if (joinable)
		pthread_join(c->prefetch, NULL);
	for (size_t i = 0; i < c->nfiles; i++) {
		free(c->files[i].path);
		free(c->files[i].ents);
	}
	free(c->files);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/*
 * Every certificate of the bundles whose subject has the DER bytes of `name`
 * goes into the store; *ret then refers to the store's first certificate of
 * that name. As with OpenSSL's own lookups, *ret borrows the store's reference
 * (the store keeps its certificates until it is freed):
 * X509_STORE_CTX_get_by_subject takes its own.
 */
static int
lookup_by_subject(X509_LOOKUP *lu, X509_LOOKUP_TYPE type, lookup_name *name, X509_OBJECT *ret)
{
	struct calookup *c = X509_LOOKUP_get_method_data(lu);
	X509_STORE *store = X509_LOOKUP_get_store(lu);
	const unsigned char *want, *der;
	size_t wantlen, derlen;
	X509_OBJECT *obj;
	X509 *x = NULL;
	uint64_t hash;
	int added = 0;

	if (type != X509_LU_X509 || name == NULL || c == NULL || store == NULL ||
	    X509_NAME_get0_der((X509_NAME *)name, &want, &wantlen) != 1)
		return 0;
	hash = hash_bytes(want, wantlen);
	pthread_mutex_lock(&c->lock);
	if (c->prefetch_state == PREFETCH_DONE) {
		/* It has let go of the lock and is returning: release its stack. */
		pthread_join(c->prefetch, NULL);
		c->prefetch_state = PREFETCH_JOINED;
	}
	for (size_t i = 0; i < c->nfiles; i++) {
		struct cafile *f = &c->files[i];

		if (refresh(f) != 0)
			continue;
		for (size_t j = 0; j < f->nents; j++) {
			if (f->ents[j].hash != hash || (x = read_cert(f, &f->ents[j])) == NULL)
				continue;
			if (X509_NAME_get0_der(X509_get_subject_name(x), &der, &derlen) == 1 &&
			    derlen == wantlen && memcmp(der, want, wantlen) == 0 &&
			    X509_STORE_add_cert(store, x) == 1)
				added++;
			X509_free(x);
		}
	}
	pthread_mutex_unlock(&c->lock);
	ERR_clear_error();
	if (added == 0 || X509_STORE_lock(store) != 1)
		return 0;
	obj = X509_OBJECT_retrieve_by_subject(X509_STORE_get0_objects(store), X509_LU_X509,
	    (X509_NAME *)name);
	x = obj != NULL ? X509_OBJECT_get0_X509(obj) : NULL;
	if (x != NULL && X509_OBJECT_set1_X509(ret, x) == 1)
		X509_free(x);	/* *ret borrows the store's reference, see above */
	else
		x = NULL;
	X509_STORE_unlock(store);
	return x != NULL;
}

static X509_LOOKUP_METHOD *method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

static void
method_init(void)
{
	X509_LOOKUP_METHOD *m = X509_LOOKUP_meth_new("PEM bundle, decoded on demand");

	if (m == NULL)
		return;
	if (X509_LOOKUP_meth_set_new_item(m, lookup_new) != 1 ||
	    X509_LOOKUP_meth_set_free(m, lookup_free) != 1 ||
	    X509_LOOKUP_meth_set_get_by_subject(m, lookup_by_subject) != 1) {
		X509_LOOKUP_meth_free(m);
		return;
	}
	method = m;
}

/* The store's lookup of this method (added the first time), or NULL. */
static struct calookup *
store_lookup(X509_STORE *store)
{
	X509_LOOKUP *lu;

	if (pthread_once(&method_once, method_init) != 0 || method == NULL ||
	    (lu = X509_STORE_add_lookup(store, method)) == NULL)
		return NULL;
	return X509_LOOKUP_get_method_data(lu);
}

static void *
prefetch_main(void *arg)
{
	struct calookup *c = arg;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nfiles; i++)
		(void)refresh(&c->files[i]);	/* on failure the next lookup tries again */
	c->prefetch_state = PREFETCH_DONE;
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int
calookup_prefetch(X509_STORE *store)
{
	struct calookup *c = store_lookup(store);
	int rc = 0;

	if (c == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	if (c->prefetch_state == PREFETCH_NONE && c->nfiles > 0) {
		if ((rc = pthread_create(&c->prefetch, NULL, prefetch_main, c)) == 0)
			c->prefetch_state = PREFETCH_RUNNING;
		else
			rc = -rc;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int
calookup_add_file(X509_STORE *store, const char *path)
{
	struct calookup *c = store_lookup(store);
	struct cafile *files;
	struct stat st, st2;
	int have_st, rc = 0;

	if (c == NULL)
		return -ENOMEM;
	have_st = stat(path, &st) == 0;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->nfiles; i++) {
		if (strcmp(c->files[i].path, path) == 0 ||
		    (have_st && stat(c->files[i].path, &st2) == 0 &&
		     st.st_dev == st2.st_dev && st.st_ino == st2.st_ino))
			goto out;
	}
	files = realloc(c->files, (c->nfiles + 1) * sizeof(*files));
	if (files == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	c->files = files;
	files[c->nfiles] = (struct cafile){ .path = strdup(path) };
	if (files[c->nfiles].path == NULL)
		rc = -ENOMEM;
	else
		c->nfiles++;
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}
