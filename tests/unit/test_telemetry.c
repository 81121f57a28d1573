/* test_telemetry.c -- the telemetry listener on a real loopback port: events reported, bad deliveries ignored. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "telemetry_listener.h"
#include "tap.h"

struct seen {
	int	starts;
	int	dones;
	char	last_id[64];
	char	last_status[64];
};

static void
on_start(const char *id, void *arg)
{
	struct seen *s = arg;

	s->starts++;
	snprintf(s->last_id, sizeof(s->last_id), "%s", id);
}

static void
on_runtime_done(const char *id, const char *status, void *arg)
{
	struct seen *s = arg;

	s->dones++;
	snprintf(s->last_id, sizeof(s->last_id), "%s", id);
	snprintf(s->last_status, sizeof(s->last_status), "%s", status != NULL ? status : "(none)");
}

struct post {
	struct event_base	*base;
	int			 status;
};

static void
on_answer(struct evhttp_request *req, void *arg)
{
	struct post *p = arg;

	p->status = req != NULL ? evhttp_request_get_response_code(req) : -1;
	event_base_loopexit(p->base, NULL);
}

/* POST body to the listener and run the loop until the answer (or 10 s); the HTTP status. */
static int
post(struct event_base *base, int port, const char *body)
{
	struct evhttp_connection *conn = evhttp_connection_base_new(base, NULL, "127.0.0.1", (ev_uint16_t)port);
	struct post p = { base, 0 };
	struct evhttp_request *req = evhttp_request_new(on_answer, &p);
	struct timeval limit = { 10, 0 };

	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	evhttp_make_request(conn, req, EVHTTP_REQ_POST, "/");
	event_base_loopexit(base, &limit);
	event_base_dispatch(base);
	evhttp_connection_free(conn);
	return p.status;
}

int
main(void)
{
	struct event_base *base = event_base_new();
	struct seen s = { 0 };
	struct telemetry_handlers h = { on_start, on_runtime_done, &s };
	struct telemetry *t = NULL;
	int port = 0, fd;
	static const char *const hostile[] = {
		"[{\"type\":null,\"record\":{\"requestId\":\"x\"}}]",
		"[{\"type\":7,\"record\":{\"requestId\":\"x\"}}]",
		"[{\"type\":\"platform.start\",\"record\":null}]",
		"[{\"type\":\"platform.start\",\"record\":{\"requestId\":null}}]",
		"[{\"type\":\"platform.start\",\"record\":{\"requestId\":[1]}}]",
		"[null,1,\"x\",[],{}]",
		"{\"type\":\"platform.start\"}",
		"[{\"type\":\"platform.start\",\"record\":{\"requestId\":\"x\"}",
		"",
	};

	fd = telemetry_socket(&port);
	if (fd >= 0)
		t = telemetry_new(base, &h, fd);
	if (!ok(t != NULL && port > 0, "listener bound on a loopback port")) {
		printf("#   %s\n", fd < 0 ? strerror(errno) : "out of memory");
		return done_testing();
	}
	is_int(post(base, port, "[{\"time\":\"2026-01-01T00:00:00.000Z\",\"type\":\"platform.start\","
	    "\"record\":{\"requestId\":\"req-1\",\"version\":\"$LATEST\"}}]"), 200, "a delivery is answered 200");
	is_int(s.starts, 1, "platform.start reported");
	is_str(s.last_id, "req-1", "with its requestId");
	is_int(post(base, port, "[{\"type\":\"platform.runtimeDone\",\"record\":{\"requestId\":\"req-1\","
	    "\"status\":\"success\"}},{\"type\":\"platform.report\",\"record\":{\"requestId\":\"req-1\"}}]"),
	    200, "a delivery of two events is answered 200");
	is_int(s.dones, 1, "platform.runtimeDone reported once, platform.report ignored");
	is_str(s.last_status, "success", "with its status");

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		char desc[160];

		snprintf(desc, sizeof(desc), "malformed delivery %zu answered, not reported", i + 1);
		ok(post(base, port, hostile[i]) > 0 && s.starts == 1 && s.dones == 1, desc);
	}
	is_int(post(base, port, "[{\"type\":\"platform.runtimeDone\",\"record\":{\"requestId\":\"req-2\"}}]"),
	    200, "the listener still works after malformed deliveries");
	is_int(s.dones, 2, "and reports the next event");
	is_str(s.last_status, "(none)", "a runtimeDone without status reports none");
	telemetry_free(t);
	event_base_free(base);
	return done_testing();
}
