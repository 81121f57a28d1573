/* telemetry_listener.c -- the local listener for Lambda Telemetry API deliveries (platform events). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "log.h"
#include "tcp.h"
#include "telemetry_listener.h"

#define MAX_DELIVERY	(4 << 20)	/* twice the largest buffering maxBytes, plus metadata */
#define HOSTS_FILE	"/etc/hosts"

struct telemetry {
	struct evhttp			*http;	/* owned */
	struct telemetry_handlers	 h;
};

static const char *
record_string(json_object *obj, const char *key)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* A delivery is a JSON array of {"time","type","record"}. */
static void
dispatch_events(struct telemetry *t, json_object *events)
{
	size_t n = json_object_array_length(events);

	for (size_t i = 0; i < n; i++) {
		json_object *ev = json_object_array_get_idx(events, i), *record = NULL;
		const char *name = record_string(ev, "type"), *id;

		if (name == NULL || !json_object_object_get_ex(ev, "record", &record) ||
		    !json_object_is_type(record, json_type_object))
			continue;
		id = record_string(record, "requestId");
		if (id == NULL)
			continue;
		if (strcmp(name, "platform.start") == 0 && t->h.on_start != NULL)
			t->h.on_start(id, t->h.arg);
		else if (strcmp(name, "platform.runtimeDone") == 0 && t->h.on_runtime_done != NULL)
			t->h.on_runtime_done(id, record_string(record, "status"), t->h.arg);
	}
}

static void
on_delivery(struct evhttp_request *req, void *arg)
{
	struct telemetry *t = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *text = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
	struct json_tokener *tok = json_tokener_new();
	json_object *events = NULL;

	if (tok != NULL && text != NULL)
		events = json_tokener_parse_ex(tok, text, (int)len);
	if (events != NULL && json_object_is_type(events, json_type_array))
		dispatch_events(t, events);
	else
		log_debug("Ignoring a telemetry delivery that is not a JSON array (%zu bytes)", len);
	json_object_put(events);
	if (tok != NULL)
		json_tokener_free(tok);
	evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

/* Is `name` (len bytes) one of the names Lambda delivers telemetry to? */
static int
is_sandbox_name(const char *name, size_t len)
{
	return (len == 19 && strncmp(name, "sandbox.localdomain", len) == 0) ||
	    (len == 7 && strncmp(name, "sandbox", len) == 0);
}

/* The IPv4 address /etc/hosts gives sandbox.localdomain, without any DNS query. */
static int
sandbox_address(char *buf, size_t size)
{
	static const char blanks[] = " \t\r\n";
	FILE *f = fopen(HOSTS_FILE, "r");
	char line[512];
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *p = line + strspn(line, blanks);
		size_t alen = strcspn(p, blanks);
		struct in_addr a;

		if (alen == 0 || alen >= size || *p == '#')
			continue;
		memcpy(buf, p, alen);
		buf[alen] = '\0';
		if (inet_pton(AF_INET, buf, &a) != 1)
			continue;
		for (p += alen; !found && *p != '\0' && *p != '#'; p += strcspn(p, blanks)) {
			p += strspn(p, blanks);
			found = is_sandbox_name(p, strcspn(p, blanks));
		}
	}
	fclose(f);
	return found;
}

int
telemetry_socket(int *ret_port)
{
	int fd = tcp_listen("127.0.0.1", 0);

	if (fd >= 0 && (*ret_port = tcp_local_port(fd)) <= 0) {
		close(fd);
		errno = EADDRNOTAVAIL;
		return -1;
	}
	return fd;
}

struct telemetry *
telemetry_new(struct event_base *base, const struct telemetry_handlers *h, int fd)
{
	struct telemetry *t = calloc(1, sizeof(*t));
	char sandbox[64];
	int port = tcp_local_port(fd);

	if (t == NULL || (t->http = evhttp_new(base)) == NULL ||
	    evhttp_accept_socket_with_handle(t->http, fd) == NULL) {
		close(fd);
		telemetry_free(t);
		return NULL;
	}
	t->h = *h;
	evhttp_set_gencb(t->http, on_delivery, t);
	evhttp_set_allowed_methods(t->http, EVHTTP_REQ_POST | EVHTTP_REQ_PUT);
	evhttp_set_max_body_size(t->http, MAX_DELIVERY);
	evhttp_set_timeout(t->http, 30);
	if (sandbox_address(sandbox, sizeof(sandbox)) && strcmp(sandbox, "127.0.0.1") != 0 &&
	    evhttp_bind_socket(t->http, sandbox, (ev_uint16_t)port) < 0)
		log_warn("Cannot listen for telemetry on %s port %d (sandbox.localdomain): %s; using 127.0.0.1 only",
		    sandbox, port, strerror(errno));
	return t;
}

void
telemetry_free(struct telemetry *t)
{
	if (t == NULL)
		return;
	if (t->http != NULL)
		evhttp_free(t->http);
	free(t);
}
