/* test_calookup.c -- CA bundles decoded on demand: real certificates from the openssl CLI, real TLS handshakes. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "calookup.h"
#include "tls.h"
#include "tap.h"

#define FILLERS		30	/* CAs in the bundle that sign nothing here */
#define WAIT_MS		20000	/* the longest wait for a server to start or answer */

static char dir[256];

/* path NAME: DIR/NAME in one of a few rotating buffers. */
static const char *
path(const char *name)
{
	static char bufs[8][512];
	static int next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

/*
 * The certificates, made with the openssl CLI:
 *   root.pem         "Relay Test Root" (RSA 2048), signs inter.pem
 *   decoy.pem        another CA with the same subject as the root, another key
 *   inter.pem        "Relay Test Intermediate" (ECDSA P-384), signs the leaves
 *   leaf-ec256, leaf-rsa, leaf-ec384 (.pem/.key): localhost and 127.0.0.1
 *   other.pem/.key   other.example only
 *   fN.pem           FILLERS self-signed CAs (ECDSA P-256)
 * and the bundles made of them:
 *   good.pem         fillers, the decoy, more fillers, the root, one broken block
 *                    and one block of another kind
 *   wrong.pem        fillers and the decoy: nothing that signs the intermediate
 *   trusted.pem      fillers and the root as TRUSTED CERTIFICATE, CRLF line ends
 *   fillers.pem      the fillers only
 *   inter-root.pem   the intermediate and the root
 *   hashdir/         the root under its subject hash (openssl rehash)
 *   fillerdir/       the fillers under their hashes
 *   empty.pem        nothing
 *   *-chain.pem      each leaf followed by the intermediate, for the servers
 */
static const char make_certs[] =
	"set -e; cd \"$1\"; n=$2\n"
	"ext() { printf 'basicConstraints=critical,CA:%s\\nsubjectKeyIdentifier=hash\\n"
	"authorityKeyIdentifier=keyid:always\\n%s\\n' \"$1\" \"$2\"; }\n"
	"ca() { openssl req -x509 -newkey \"$1\" $2 -nodes -keyout \"$3.key\" -out \"$3.pem\" "
	"-days 3 -subj \"$4\" 2>/dev/null; }\n"
	"sign() { openssl req -new -newkey \"$1\" $2 -nodes -keyout \"$3.key\" -out \"$3.csr\" "
	"-subj \"$4\" 2>/dev/null; ext \"$6\" \"$7\" >\"$3.ext\";"
	" openssl x509 -req -in \"$3.csr\" -CA \"$5.pem\" -CAkey \"$5.key\" -CAcreateserial "
	"-days 2 -extfile \"$3.ext\" -out \"$3.pem\" 2>/dev/null; }\n"
	"ca rsa:2048 '' root '/O=Relay Test/CN=Relay Test Root'\n"
	"ca ec '-pkeyopt ec_paramgen_curve:P-256' decoy '/O=Relay Test/CN=Relay Test Root'\n"
	"sign ec '-pkeyopt ec_paramgen_curve:P-384' inter '/O=Relay Test/CN=Relay Test Intermediate' root TRUE "
	"'keyUsage=critical,keyCertSign,cRLSign'\n"
	"san='subjectAltName=DNS:localhost,IP:127.0.0.1'\n"
	"sign ec '-pkeyopt ec_paramgen_curve:P-256' leaf-ec256 /CN=localhost inter FALSE \"$san\"\n"
	"sign ec '-pkeyopt ec_paramgen_curve:P-384' leaf-ec384 /CN=localhost inter FALSE \"$san\"\n"
	"sign rsa:2048 '' leaf-rsa /CN=localhost inter FALSE \"$san\"\n"
	"sign ec '-pkeyopt ec_paramgen_curve:P-256' other /CN=other.example inter FALSE "
	"subjectAltName=DNS:other.example\n"
	"for l in leaf-ec256 leaf-ec384 leaf-rsa other; do cat $l.pem inter.pem >$l-chain.pem; done\n"
	"i=0; while [ $i -lt $n ]; do ca ec '-pkeyopt ec_paramgen_curve:P-256' f$i "
	"\"/O=Filler $i/CN=Filler CA $i\"; i=$((i + 1)); done\n"
	"half=$((n / 2)); : >fillers.pem; : >wrong.pem; : >good.pem\n"
	"i=0; while [ $i -lt $n ]; do cat f$i.pem >>fillers.pem; i=$((i + 1)); done\n"
	"i=0; while [ $i -lt $half ]; do cat f$i.pem >>good.pem; i=$((i + 1)); done\n"
	"cat decoy.pem >>good.pem\n"
	"printf -- '-----BEGIN CERTIFICATE-----\\nnot base64 at all!\\n-----END CERTIFICATE-----\\n' >>good.pem\n"
	"printf -- '-----BEGIN X509 CRL-----\\nAAAA\\n-----END X509 CRL-----\\n' >>good.pem\n"
	"while [ $i -lt $n ]; do cat f$i.pem >>good.pem; i=$((i + 1)); done\n"
	"cat root.pem >>good.pem\n"
	"cat fillers.pem decoy.pem >wrong.pem\n"
	"cat inter.pem root.pem >inter-root.pem\n"
	"{ cat fillers.pem; openssl x509 -in root.pem -addtrust serverAuth; } | sed 's/$/\\r/' >trusted.pem\n"
	": >empty.pem\n"
	"mkdir hashdir fillerdir; cp root.pem hashdir/; cp f*.pem fillerdir/\n"
	"rm -f fillerdir/fillers.pem\n"
	"openssl rehash hashdir fillerdir >/dev/null 2>&1 || c_rehash hashdir fillerdir >/dev/null\n";

static int
run_script(void)
{
	char count[16];
	pid_t pid;
	int status;

	snprintf(count, sizeof(count), "%d", FILLERS);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		execlp("sh", "sh", "-c", make_certs, "sh", dir, count, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static X509 *
load_cert(const char *name)
{
	FILE *f = fopen(path(name), "r");
	X509 *x;

	if (f == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static int
store_count(X509_STORE *store)
{
	return sk_X509_OBJECT_num(X509_STORE_get0_objects(store));
}

/* Verify leaf-ec256 with the intermediate as the untrusted chain; the verification error. */
static int
verify(X509_STORE *store)
{
	X509 *leaf = load_cert("leaf-ec256.pem"), *inter = load_cert("inter.pem");
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int err = -1;

	/* As the TLS client verifies: a server certificate. */
	if (leaf != NULL && inter != NULL && chain != NULL && ctx != NULL &&
	    sk_X509_push(chain, inter) > 0 && X509_STORE_CTX_init(ctx, store, leaf, chain) == 1 &&
	    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER) == 1) {
		err = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
		if (err == X509_V_OK && X509_STORE_CTX_get_error(ctx) != X509_V_OK)
			err = -2;
	}
	X509_STORE_CTX_free(ctx);
	sk_X509_free(chain);
	X509_free(inter);
	X509_free(leaf);
	ERR_clear_error();
	return err;
}

/* A store that looks up in bundle a (and b, if not NULL) of the test directory. */
static X509_STORE *
store_with(const char *a, const char *b)
{
	X509_STORE *s = X509_STORE_new();

	if (s == NULL || calookup_add_file(s, path(a)) != 0 || (b != NULL && calookup_add_file(s, path(b)) != 0)) {
		X509_STORE_free(s);
		return NULL;
	}
	return s;
}

static void
test_store(void)
{
	X509_STORE *s;
	char buf[1024];
	FILE *f;
	int n;

	s = store_with("good.pem", NULL);
	ok(s != NULL, "a store with the bundle as a lookup");
	is_int(store_count(s), 0, "nothing is decoded when the bundle is added");
	is_int(verify(s), X509_V_OK, "the chain verifies against the root, found among many CAs");
	is_int(store_count(s), 2, "only the certificates with the wanted subject were decoded (the root "
	    "and the decoy, of the bundle's 32)");
	is_int(verify(s), X509_V_OK, "again, from what the store kept");
	is_int(store_count(s), 2, "nothing more decoded the second time");
	X509_STORE_free(s);

	s = store_with("wrong.pem", NULL);
	is_int(verify(s), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
	    "a bundle without the root: unable to get local issuer certificate (the decoy only has its name)");
	X509_STORE_free(s);

	s = store_with("missing.pem", NULL);
	is_int(verify(s), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "a missing bundle holds nothing");
	X509_STORE_free(s);

	s = store_with("good.pem", NULL);
	ok(s != NULL && calookup_prefetch(s) == 0 && calookup_prefetch(s) == 0,
	    "prefetch: the index is made in the background (a second call does nothing)");
	is_int(store_count(s), 0, "prefetch: decodes no certificate");
	is_int(verify(s), X509_V_OK, "prefetch: the verification then finds the root");
	is_int(store_count(s), 2, "prefetch: and only then are the certificates with its subject decoded");
	X509_STORE_free(s);

	s = store_with("trusted.pem", NULL);
	is_int(verify(s), X509_V_OK, "TRUSTED CERTIFICATE blocks and CRLF line ends are read");
	X509_STORE_free(s);

	s = store_with("fillers.pem", "root.pem");
	is_int(verify(s), X509_V_OK, "two bundles: the root found in the second");
	is_int(store_count(s), 1, "and only the root decoded");
	X509_STORE_free(s);

	s = store_with("good.pem", "good.pem");
	n = s != NULL && calookup_add_file(s, path("./good.pem")) == 0;
	is_int(verify(s), X509_V_OK, "the same bundle added three times (once by another name)");
	is_int(store_count(s), n ? 2 : -1, "is read once");
	X509_STORE_free(s);

	/* The bundle is read when a verification needs it, and again when it changed. */
	s = store_with("later.pem", NULL);
	is_int(verify(s), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "a bundle that does not exist yet");
	f = fopen(path("later.pem"), "w");
	if (f != NULL) {
		FILE *in = fopen(path("fillers.pem"), "r");
		size_t got;

		while (in != NULL && (got = fread(buf, 1, sizeof(buf), in)) > 0)
			fwrite(buf, 1, got, f);
		if (in != NULL)
			fclose(in);
		fclose(f);
	}
	is_int(verify(s), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "written without the root: still refused");
	if (rename(path("good.pem"), path("later.pem")) != 0 ||
	    link(path("later.pem"), path("good.pem")) != 0)
		printf("# cannot replace later.pem: %s\n", strerror(errno));
	is_int(verify(s), X509_V_OK, "replaced by a bundle with the root: verified with the same store");
	X509_STORE_free(s);
}

/* ---- processes: the project's sink and openssl s_server -------------------------- */

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
stop(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* Start argv with stdout on a pipe (*out) and stdin, stderr on /dev/null. */
static pid_t
spawn(char *const argv[], int *out)
{
	int p[2];
	pid_t pid;

	if (pipe(p) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(p[1], 1);
		dup2(null, 2);
		close(p[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	*out = p[0];
	return pid;
}

/* The sink serving TLS with `chain` and `key`; sets *port. */
static pid_t
start_sink(const char *chain, const char *key, int *port)
{
	const char *sink = getenv("SINK_BIN");
	char *argv[] = { (char *)sink, "--listen", "127.0.0.1:0", "--port-file", (char *)path("sink.port"),
	    "--dir", (char *)path("sink"), "--tls-cert", (char *)path(chain), "--tls-key", (char *)path(key),
	    "--quiet", NULL };
	long deadline = now_ms() + WAIT_MS;
	pid_t pid;
	int out;

	unlink(path("sink.port"));
	if (sink == NULL || (pid = spawn(argv, &out)) < 0)
		return -1;
	close(out);
	*port = 0;
	while (*port == 0 && now_ms() < deadline) {
		FILE *f = fopen(path("sink.port"), "r");

		if (f == NULL || fscanf(f, "%d", port) != 1)
			*port = 0;
		if (f != NULL)
			fclose(f);
		if (*port == 0)
			usleep(20000);
	}
	if (*port == 0) {
		stop(pid);
		return -1;
	}
	return pid;
}

/* openssl s_server with argv's options after its own; reads the port from "ACCEPT host:port". */
static pid_t
start_s_server(char *const *opts, int *port)
{
	char *argv[32] = { "openssl", "s_server", "-accept", "127.0.0.1:0", "-www", "-naccept", "1" };
	char line[256];
	size_t n = 7, used = 0;
	long deadline = now_ms() + WAIT_MS;
	pid_t pid;
	int out;

	for (; *opts != NULL && n < 31; opts++)
		argv[n++] = *opts;
	argv[n] = NULL;
	if ((pid = spawn(argv, &out)) < 0)
		return -1;
	*port = 0;
	while (*port == 0 && now_ms() < deadline && used < sizeof(line) - 1) {
		struct pollfd pfd = { .fd = out, .events = POLLIN };
		ssize_t r;
		char *a;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((r = read(out, line + used, sizeof(line) - 1 - used)) <= 0)
			break;
		used += (size_t)r;
		line[used] = '\0';
		if ((a = strstr(line, "ACCEPT 127.0.0.1:")) != NULL && strchr(a, '\n') != NULL)
			*port = atoi(a + 17);
	}
	close(out);
	if (*port == 0) {
		stop(pid);
		return -1;
	}
	return pid;
}

/* ---- TLS through tls.c ------------------------------------------------------------ */

struct result {
	int	 connected;		/* handshake done */
	long	 verify;		/* SSL_get_verify_result */
	char	 version[16];
	char	 cipher[64];
	char	 answer[64];		/* first line of the HTTP answer */
	char	 error[256];		/* tls_describe_error on failure */
};

/*
 * A TLS connection to 127.0.0.1:port for `host` made by tls.c, then one request:
 * with tls_client_ctx_new and tls_client_ssl_new, or (lazy) with tls_client_new
 * and tls_client_open, which makes the context then.
 */
static void
handshake(int port, const char *host, const char *request, int lazy, struct result *res)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	struct timeval tv = { .tv_sec = WAIT_MS / 1000 };
	struct tls_client *tc = NULL;
	char *err = NULL;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	int fd = -1;

	memset(res, 0, sizeof(*res));
	res->verify = -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lazy ? (tc = tls_client_new()) == NULL : (ctx = tls_client_ctx_new(&err)) == NULL) {
		snprintf(res->error, sizeof(res->error), "no context: %s", err ? err : "?");
		free(err);
		return;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		snprintf(res->error, sizeof(res->error), "cannot connect: %s", strerror(errno));
		goto out;
	}
	ssl = lazy ? tls_client_open(tc, host, &err) : tls_client_ssl_new(ctx, host);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
		snprintf(res->error, sizeof(res->error), "no connection object: %s", err ? err : "?");
		free(err);
		goto out;
	}
	if (SSL_connect(ssl) == 1) {
		char buf[512];
		int r, used = 0;

		res->connected = 1;
		res->verify = SSL_get_verify_result(ssl);
		snprintf(res->version, sizeof(res->version), "%s", SSL_get_version(ssl));
		snprintf(res->cipher, sizeof(res->cipher), "%s", SSL_get_cipher_name(ssl));
		if (SSL_write(ssl, request, (int)strlen(request)) == (int)strlen(request)) {
			while (used < (int)sizeof(buf) - 1 &&
			    (r = SSL_read(ssl, buf + used, (int)sizeof(buf) - 1 - used)) > 0) {
				used += r;
				buf[used] = '\0';
				if (strchr(buf, '\n') != NULL)
					break;
			}
			buf[used] = '\0';
			buf[strcspn(buf, "\r\n")] = '\0';
			snprintf(res->answer, sizeof(res->answer), "%.63s", buf);
		}
	} else {
		res->verify = SSL_get_verify_result(ssl);
		tls_describe_error(ssl, ERR_peek_error(), res->error, sizeof(res->error));
	}
out:
	ERR_clear_error();
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	tls_client_free(tc);
}

static void
set_store_env(const char *file, const char *certdir)
{
	setenv("SSL_CERT_FILE", path(file), 1);
	setenv("SSL_CERT_DIR", path(certdir), 1);
}

static const char post[] = "POST /ingest?name=calookup.cpu HTTP/1.1\r\nHost: localhost\r\n"
	"Content-Length: 5\r\nConnection: close\r\n\r\nhello";

static void
test_sink(void)
{
	struct result r;
	pid_t sink;
	int port;

	if (getenv("SINK_BIN") == NULL) {
		for (int i = 0; i < 7; i++)
			ok(1, "TLS to the sink # SKIP SINK_BIN not set");
		return;
	}
	sink = start_sink("leaf-ec256-chain.pem", "leaf-ec256.key", &port);
	if (!ok(sink > 0, "the sink serves TLS with a leaf of the intermediate"))
		return;

	set_store_env("good.pem", "empty-dir");
	handshake(port, "127.0.0.1", post, 0, &r);
	ok(r.connected && r.verify == X509_V_OK, "SSL_CERT_FILE: the bundle of many CAs verifies the sink");
	if (!r.connected)
		printf("#   %s\n", r.error);
	is_str(r.answer, "HTTP/1.1 200 OK", "and the sink answered the upload over it");

	set_store_env("wrong.pem", "empty-dir");
	handshake(port, "127.0.0.1", post, 0, &r);
	ok(!r.connected && r.verify == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
	    "SSL_CERT_FILE: a bundle without the root is refused");
	is_str(r.error, "TLS certificate verification failed: unable to get local issuer certificate",
	    "with the reason the relay logs");

	set_store_env("empty.pem", "hashdir");
	handshake(port, "127.0.0.1", post, 1, &r);
	ok(r.connected && r.verify == X509_V_OK, "SSL_CERT_DIR: the root found in a hashed directory");

	set_store_env("empty.pem", "fillerdir");
	handshake(port, "127.0.0.1", post, 1, &r);
	ok(!r.connected && r.verify == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
	    "SSL_CERT_DIR: a hashed directory without the root is refused");
	stop(sink);
}

struct server_case {
	const char	*name;
	const char	*leaf;		/* leaf-ec256, leaf-ec384, leaf-rsa */
	const char	*proto;		/* -tls1_2 or -tls1_3 */
	const char	*cipher;	/* TLS 1.2 cipher or TLS 1.3 suite */
	const char	*group;
	const char	*version;	/* what the client must see */
};

static const struct server_case cases[] = {
	{ "TLS 1.3, AES-128-GCM, X25519, ECDSA P-256", "leaf-ec256", "-tls1_3",
	  "TLS_AES_128_GCM_SHA256", "X25519", "TLSv1.3" },
	{ "TLS 1.3, AES-256-GCM, P-256, RSA", "leaf-rsa", "-tls1_3",
	  "TLS_AES_256_GCM_SHA384", "P-256", "TLSv1.3" },
	{ "TLS 1.3, ChaCha20-Poly1305, P-384, ECDSA P-384", "leaf-ec384", "-tls1_3",
	  "TLS_CHACHA20_POLY1305_SHA256", "P-384", "TLSv1.3" },
	{ "TLS 1.2, ECDHE-ECDSA-AES128-GCM-SHA256, X25519, ECDSA P-256", "leaf-ec256", "-tls1_2",
	  "ECDHE-ECDSA-AES128-GCM-SHA256", "X25519", "TLSv1.2" },
	{ "TLS 1.2, ECDHE-ECDSA-CHACHA20-POLY1305, P-256, ECDSA P-384", "leaf-ec384", "-tls1_2",
	  "ECDHE-ECDSA-CHACHA20-POLY1305", "P-256", "TLSv1.2" },
	{ "TLS 1.2, ECDHE-RSA-AES256-GCM-SHA384, P-384, RSA", "leaf-rsa", "-tls1_2",
	  "ECDHE-RSA-AES256-GCM-SHA384", "P-384", "TLSv1.2" },
	{ "TLS 1.2, ECDHE-RSA-CHACHA20-POLY1305, X25519, RSA", "leaf-rsa", "-tls1_2",
	  "ECDHE-RSA-CHACHA20-POLY1305", "X25519", "TLSv1.2" },
};

static void
test_s_server(void)
{
	static const char get[] = "GET / HTTP/1.0\r\n\r\n";
	char cert[64], key[64], desc[160];
	struct result r;
	pid_t srv;
	int port;

	set_store_env("good.pem", "empty-dir");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct server_case *c = &cases[i];
		int tls13 = strcmp(c->proto, "-tls1_3") == 0;
		char *opts[] = { "-cert", cert, "-key", key, "-cert_chain", (char *)path("inter.pem"),
		    (char *)c->proto, tls13 ? "-ciphersuites" : "-cipher", (char *)c->cipher,
		    "-groups", (char *)c->group, NULL };

		snprintf(cert, sizeof(cert), "%s", path(c->leaf));
		snprintf(cert + strlen(cert), sizeof(cert) - strlen(cert), ".pem");
		snprintf(key, sizeof(key), "%s", path(c->leaf));
		snprintf(key + strlen(key), sizeof(key) - strlen(key), ".key");
		srv = start_s_server(opts, &port);
		if (srv < 0) {
			snprintf(desc, sizeof(desc), "%s # SKIP openssl s_server did not start", c->name);
			ok(1, desc);
			continue;
		}
		handshake(port, "localhost", get, 1, &r);
		snprintf(desc, sizeof(desc), "%s: verified, negotiated as asked, answered", c->name);
		if (!ok(r.connected && r.verify == X509_V_OK && strcmp(r.version, c->version) == 0 &&
		    strcmp(r.cipher, c->cipher) == 0 && strncmp(r.answer, "HTTP/1.0 200", 12) == 0, desc))
			printf("#   connected %d verify %ld %s %s answer '%s' error '%s'\n", r.connected,
			    r.verify, r.version, r.cipher, r.answer, r.error);
		stop(srv);
	}

	/*
	 * SNI: the server only shows the certificate for localhost to a client that
	 * asks for it (without its chain: s_server sends none with -cert2, so the
	 * intermediate comes from the client's bundle here).
	 */
	set_store_env("inter-root.pem", "empty-dir");
	{
		char *opts[] = { "-cert", (char *)path("other.pem"), "-key", (char *)path("other.key"),
		    "-cert_chain", (char *)path("inter.pem"), "-servername", "localhost",
		    "-cert2", (char *)path("leaf-ec256.pem"), "-key2", (char *)path("leaf-ec256.key"),
		    "-servername_fatal", NULL };

		srv = start_s_server(opts, &port);
		if (srv < 0) {
			ok(1, "SNI # SKIP openssl s_server did not start");
			return;
		}
		handshake(port, "localhost", get, 1, &r);
		if (!ok(r.connected && r.verify == X509_V_OK, "SNI sent: the server picked the "
		    "certificate for localhost, which verified"))
			printf("#   connected %d verify %ld error '%s'\n", r.connected, r.verify, r.error);
		stop(srv);
	}
}

/*
 * A TLS failure that is not about a certificate is logged with OpenSSL's own
 * reason, also where OpenSSL does not load its error strings at start (the
 * Lambda layer's build): the peer answers a ClientHello in plain HTTP.
 */
static void
test_error_text(void)
{
	static const char reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
	struct tls_client *tc = tls_client_new();
	char *err = NULL, text[256] = "";
	SSL *ssl = NULL;
	int sv[2] = { -1, -1 };

	if (!ok(tc != NULL && tls_client_prepare(tc, &err) == 1 &&
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 &&
	    write(sv[1], reply, sizeof(reply) - 1) == (ssize_t)(sizeof(reply) - 1) &&
	    (ssl = tls_client_open(tc, "localhost", &err)) != NULL && SSL_set_fd(ssl, sv[0]) == 1,
	    "a TLS client over a socket whose peer speaks plain HTTP")) {
		printf("#   %s\n", err ? err : "?");
		free(err);
	} else {
		ok(SSL_connect(ssl) != 1, "the handshake fails");
		tls_describe_error(ssl, ERR_peek_error(), text, sizeof(text));
		ok(strstr(text, "TLS error: error:") == text && strstr(text, "wrong version number") != NULL,
		    "the failure is described with OpenSSL's reason text");
		printf("#   %s\n", text);
	}
	ERR_clear_error();
	SSL_free(ssl);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	tls_client_free(tc);
}

static void
cleanup(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", dir);
}

int
main(void)
{
	const char *base = getenv("TMPDIR");
	long t0;

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "%s/test_calookup.XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! cannot create a directory under %s\n", base && *base ? base : "/tmp");
		return 1;
	}
	if (system("openssl version >/dev/null 2>&1") != 0) {
		cleanup();
		printf("1..0 # SKIP the openssl CLI is not installed\n");
		return 0;
	}
	t0 = now_ms();
	if (mkdir(path("empty-dir"), 0755) != 0 || run_script() != 0) {
		printf("Bail out! cannot make the certificates with the openssl CLI in %s\n", dir);
		cleanup();
		return 1;
	}
	printf("# certificates made in %ld ms\n", now_ms() - t0);
	test_store();
	test_sink();
	test_s_server();
	test_error_text();
	cleanup();
	return done_testing();
}
