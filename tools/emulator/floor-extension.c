/* floor-extension.c -- the least an external extension can do: the floor of init measurements. */
/*
 * Registers with its file name, for INVOKE and SHUTDOWN (SHUTDOWN only on
 * Lambda Managed Instances, or the events in FLOOR_EVENTS), then loops on
 * event/next and exits 0 at SHUTDOWN. Plain blocking sockets, one connection
 * per call, no allocation: what is left of its exec -> register and
 * exec -> first next is the platform's and the machine's own cost.
 * Exits 1 when a call fails (a refused register included), as a crash would.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE	16384

/* 127.0.0.1:9001 -> sockaddr; numeric addresses only (no resolver in the floor). */
static int
parse_api(const char *api, struct sockaddr_in *sa)
{
	const char *colon = strrchr(api, ':');
	char host[64];
	size_t n;
	long port;
	char *end = NULL;

	if (colon == NULL || (n = (size_t)(colon - api)) == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, api, n);
	host[n] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || port < 1 || port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * One HTTP/1.1 exchange with Connection: close. Fills buf with the whole
 * answer (NUL-terminated) and returns the status code, or -1.
 */
static int
call(const struct sockaddr_in *sa, const char *req, size_t reqlen, char *buf, size_t bufsz)
{
	size_t got = 0;
	int fd, one = 1, status = -1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0 ||
	    write_all(fd, req, reqlen) != 0)
		goto out;
	while (got + 1 < bufsz) {
		ssize_t r = read(fd, buf + got, bufsz - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (got > 12 && strncmp(buf, "HTTP/1.", 7) == 0)
		status = (int)strtol(buf + 9, NULL, 10);
out:
	(void)close(fd);
	return status;
}

/* The value of header name (exact case as Lambda sends it) into out. */
static int
header(const char *answer, const char *name, char *out, size_t outsz)
{
	const char *p = strstr(answer, name);
	size_t n;

	if (p == NULL)
		return -1;
	p += strlen(name);
	while (*p == ':' || *p == ' ')
		p++;
	n = strcspn(p, "\r\n");
	if (n == 0 || n >= outsz)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
main(int argc, char **argv)
{
	static char buf[BUF_SIZE], req[1024];
	const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
	const char *init_type = getenv("AWS_LAMBDA_INITIALIZATION_TYPE");
	const char *events = getenv("FLOOR_EVENTS");
	const char *name = argc > 0 ? strrchr(argv[0], '/') : NULL;
	char body[128], id[64];
	struct sockaddr_in sa;
	int n, status;

	name = name != NULL ? name + 1 : argc > 0 ? argv[0] : "floor-extension";
	if (api == NULL || parse_api(api, &sa) != 0) {
		fprintf(stderr, "%s: AWS_LAMBDA_RUNTIME_API must be IPV4:PORT\n", name);
		return 1;
	}
	if (events == NULL)
		events = init_type != NULL && strcmp(init_type, "lambda-managed-instances") == 0 ?
		    "\"SHUTDOWN\"" : "\"INVOKE\",\"SHUTDOWN\"";
	n = snprintf(body, sizeof(body), "{\"events\":[%s]}", events);
	if (n < 0 || (size_t)n >= sizeof(body))
		return 1;
	n = snprintf(req, sizeof(req), "POST /2020-01-01/extension/register HTTP/1.1\r\n"
	    "Host: %s\r\nLambda-Extension-Name: %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", api, name, strlen(body), body);
	if (n < 0 || (size_t)n >= sizeof(req))
		return 1;
	status = call(&sa, req, (size_t)n, buf, sizeof(buf));
	if (status != 200 || header(buf, "Lambda-Extension-Identifier", id, sizeof(id)) != 0) {
		fprintf(stderr, "%s: register answered %d: %s\n", name, status,
		    strstr(buf, "\r\n\r\n") != NULL ? strstr(buf, "\r\n\r\n") + 4 : "");
		return 1;
	}
	n = snprintf(req, sizeof(req), "GET /2020-01-01/extension/event/next HTTP/1.1\r\n"
	    "Host: %s\r\nLambda-Extension-Identifier: %s\r\nConnection: close\r\n\r\n", api, id);
	if (n < 0 || (size_t)n >= sizeof(req))
		return 1;
	for (;;) {
		status = call(&sa, req, (size_t)n, buf, sizeof(buf));
		if (status != 200) {
			fprintf(stderr, "%s: event/next answered %d\n", name, status);
			return 1;
		}
		if (strstr(buf, "\"eventType\":\"SHUTDOWN\"") != NULL)
			return 0;
	}
}
