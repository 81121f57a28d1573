/* tls.c -- OpenSSL client setup for the upstream: verified peers, SNI, host-name checks. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "cabundle.h"
#include "strutil.h"
#include "tls.h"

static char *
openssl_reason(const char *what)
{
	char buf[256];
	char *out = NULL;

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	if (asprintf(&out, "%s: %s", what, buf) < 0)
		return NULL;
	return out;
}

/*
 * A static OpenSSL only knows the CA locations of the machine it was built
 * on: also load the bundle and directory found at the usual places of Amazon
 * Linux, Debian, RHEL, Alpine and SUSE (none when SSL_CERT_FILE/SSL_CERT_DIR
 * say where to look). Two calls: one with both stops at a bad file.
 */
static void
add_probed_store(SSL_CTX *ctx)
{
	const char *file = cabundle_probe();
	const char *dir = cabundle_probe_dir();

	if (file != NULL && SSL_CTX_load_verify_locations(ctx, file, NULL) != 1)
		ERR_clear_error();
	if (dir != NULL && SSL_CTX_load_verify_locations(ctx, NULL, dir) != 1)
		ERR_clear_error();
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
	/* The default paths follow SSL_CERT_FILE and SSL_CERT_DIR when they are set. */
	if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		*reterr = openssl_reason("cannot load the system CA certificates");
		SSL_CTX_free(ctx);
		return NULL;
	}
	add_probed_store(ctx);
	return ctx;
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

		ERR_error_string_n(err, reason, sizeof(reason));
		snprintf(buf, size, "TLS error: %s", reason);
		return;
	}
	snprintf(buf, size, "TLS connection failed");
}
