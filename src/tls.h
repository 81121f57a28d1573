/* tls.h -- OpenSSL client setup for the upstream: verified peers, SNI, host-name checks. */
#ifndef RELAY_TLS_H
#define RELAY_TLS_H

#include <openssl/ssl.h>

/*
 * A client context that verifies the server's certificate against the system
 * store (SSL_CERT_FILE / SSL_CERT_DIR honoured). TLS 1.2 at least. NULL with
 * *reterr (malloc'd) on failure. There is deliberately no way to skip checks.
 */
SSL_CTX	*tls_client_ctx_new(char **reterr);
/* A connection object that sends SNI for `host` (not for IP literals) and checks the name or IP. */
SSL	*tls_client_ssl_new(SSL_CTX *ctx, const char *host);
/* A short description of the last TLS failure on `ssl` (verification result or error queue). */
void	tls_describe_error(SSL *ssl, unsigned long err, char *buf, size_t size);

#endif
