/* tls.c -- OpenSSL client setup for the upstream: verified peers, SNI, host-name checks. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cabundle.h"
#include "calookup.h"
#include "strutil.h"
#include "tls.h"

/*
 * OpenSSL's text for err. The strings are loaded here, the first time: an
 * OpenSSL built not to load them at start (the Lambda layer's) has them for the
 * log all the same; elsewhere they are loaded already and this does nothing.
 */
static void
error_text(unsigned long err, char *buf, size_t size)
{
	(void)OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
	ERR_error_string_n(err, buf, size);
}

static char *
openssl_reason(const char *what)
{
	unsigned long err = ERR_get_error();
	char buf[256];
	char *out = NULL;

	if (err == 0)
		return strdup(what);
	error_text(err, buf, sizeof(buf));
	if (asprintf(&out, "%s: %s", what, buf) < 0)
		return NULL;
	return out;
}

static const char *
env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * The system store, as SSL_CTX_set_default_verify_paths would set it up, but
 * with no bundle read here: the CA bundle file (SSL_CERT_FILE, else OpenSSL's
 * default file) and the hashed directories (SSL_CERT_DIR, else OpenSSL's
 * default directory) are looked up when a verification asks for an issuer. A
 * static OpenSSL only knows the CA locations of the machine it was built on:
 * the bundle and directory found at the usual places of Amazon Linux, Debian,
 * RHEL, Alpine and SUSE come after them (none when SSL_CERT_FILE/SSL_CERT_DIR
 * say where to look). A missing file or directory holds no certificate.
 */
static int
add_system_store(X509_STORE *store)
{
	const char *file = env_nonempty(X509_get_default_cert_file_env());
	const char *probed = cabundle_probe();
	const char *probed_dir = cabundle_probe_dir();
	X509_LOOKUP *dirs;

	if (file == NULL)
		file = X509_get_default_cert_file();
	if (calookup_add_file(store, file) != 0 ||
	    (probed != NULL && calookup_add_file(store, probed) != 0))
		return -1;
	/*
	 * By-directory lookups are lazy in OpenSSL already: a file per subject hash.
	 * As in SSL_CTX_set_default_verify_paths, a directory that cannot be added
	 * (SSL_CERT_DIR set but empty) is no error.
	 */
	if ((dirs = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir())) == NULL)
		return -1;
	(void)X509_LOOKUP_add_dir(dirs, NULL, X509_FILETYPE_DEFAULT);
	if (probed_dir != NULL)
		(void)X509_LOOKUP_add_dir(dirs, probed_dir, X509_FILETYPE_PEM);
	ERR_clear_error();
	return 0;
}

SSL_CTX *
tls_client_ctx_new(char **reterr)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		*reterr = openssl_reason("cannot create the TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (add_system_store(SSL_CTX_get_cert_store(ctx)) != 0) {
		*reterr = openssl_reason("cannot set up the system CA store");
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* Index the CA bundle in the background from now: the first verification finds it done. */
	(void)calookup_prefetch(SSL_CTX_get_cert_store(ctx));
	return ctx;
}

struct tls_client {
	SSL_CTX		*ctx;		/* made by the first tls_client_open */
	SSL_SESSION	*session;	/* the latest resumable session (ticket) the remote gave */
};

/* A new session (TLS 1.3: a ticket, after the handshake): keep the latest for the next connection. */
static int
on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_client *tc = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	SSL_SESSION *copy;

	/*
	 * A copy: OpenSSL marks the connection's own session not resumable when
	 * the connection ends without a close_notify, as a remote's idle close does.
	 */
	if (tc == NULL || !SSL_SESSION_is_resumable(sess) || (copy = SSL_SESSION_dup(sess)) == NULL)
		return 0;
	SSL_SESSION_free(tc->session);
	tc->session = copy;
	return 0;
}

struct tls_client *
tls_client_new(void)
{
	return calloc(1, sizeof(struct tls_client));
}

int
tls_client_prepare(struct tls_client *tc, char **reterr)
{
	if (tc->ctx != NULL)
		return 0;
	if ((tc->ctx = tls_client_ctx_new(reterr)) == NULL)
		return -1;
	/* Reconnects resume the last session: one round trip and no certificate work saved each. */
	SSL_CTX_set_app_data(tc->ctx, tc);
	SSL_CTX_set_session_cache_mode(tc->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(tc->ctx, on_new_session);
	return 1;
}

SSL *
tls_client_open(struct tls_client *tc, const char *host, char **reterr)
{
	SSL *ssl;

	if (tls_client_prepare(tc, reterr) < 0)
		return NULL;
	if ((ssl = tls_client_ssl_new(tc->ctx, host)) == NULL) {
		*reterr = openssl_reason("cannot create a TLS connection");
		return NULL;
	}
	if (tc->session != NULL)
		(void)SSL_set_session(ssl, tc->session);
	return ssl;
}

void
tls_client_free(struct tls_client *tc)
{
	if (tc == NULL)
		return;
	SSL_SESSION_free(tc->session);
	SSL_CTX_free(tc->ctx);
	free(tc);
}

SSL *
tls_client_ssl_new(SSL_CTX *ctx, const char *host)
{
	SSL *ssl = SSL_new(ctx);
	int ok;

	if (ssl == NULL)
		return NULL;
	if (ip_literal_family(host, strlen(host)) != 0) {
		ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1;
	} else {
		ok = SSL_set_tlsext_host_name(ssl, host) == 1 && SSL_set1_host(ssl, host) == 1;
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	}
	if (!ok) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

void
tls_describe_error(SSL *ssl, unsigned long err, char *buf, size_t size)
{
	long verify = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (verify != X509_V_OK) {
		snprintf(buf, size, "TLS certificate verification failed: %s",
		    X509_verify_cert_error_string(verify));
		return;
	}
	if (err != 0) {
		char reason[200];

		error_text(err, reason, sizeof(reason));
		snprintf(buf, size, "TLS error: %s", reason);
		return;
	}
	snprintf(buf, size, "TLS connection failed");
}
