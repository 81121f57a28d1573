/* tls.h -- OpenSSL client setup for the upstream: verified peers, SNI, host-name checks. */
#ifndef RELAY_TLS_H
#define RELAY_TLS_H

#include <openssl/ssl.h>

/*
 * A client context that verifies the server's certificate against the system
 * store (SSL_CERT_FILE / SSL_CERT_DIR honoured). TLS 1.2 at least. NULL with
 * *reterr (malloc'd) on failure. There is deliberately no way to skip checks.
 * No CA certificate is decoded here: a background thread indexes the bundle
 * from now on (calookup_prefetch) and only the issuers a handshake asks for are
 * decoded (calookup.h).
 */
SSL_CTX	*tls_client_ctx_new(char **reterr);

/*
 * The same context, made when its owner says (OpenSSL's setup and SSL_CTX_new
 * take about a MiB and a few milliseconds, which stay off the start-up path).
 * tls_client_new makes no OpenSSL call; NULL only when out of memory.
 * tls_client_prepare makes the context if there is none yet: 1 when it made
 * it, 0 when there was one, -1 with *reterr (malloc'd) on failure (tried again
 * by the next call).
 * tls_client_open returns a connection object as tls_client_ssl_new makes it,
 * preparing the context first if needed; NULL with *reterr (malloc'd) when the
 * context or the connection object cannot be made (tried again next time).
 * Each new connection resumes the latest session the remote gave (a TLS 1.3
 * ticket or a TLS 1.2 session), when it has one.
 * Used from one thread at a time. tls_client_free(NULL) does nothing.
 */
struct tls_client;
struct tls_client	*tls_client_new(void);
int			 tls_client_prepare(struct tls_client *tc, char **reterr);
SSL			*tls_client_open(struct tls_client *tc, const char *host, char **reterr);
void			 tls_client_free(struct tls_client *tc);
/*
 * A connection object that sends SNI for `host` (not for IP literals) and checks
 * the name or IP.
 */
SSL	*tls_client_ssl_new(SSL_CTX *ctx, const char *host);
/* A short description of the last TLS failure on `ssl` (verification result or error queue). */
void	tls_describe_error(SSL *ssl, unsigned long err, char *buf, size_t size);

#endif
