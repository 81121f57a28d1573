/* fuzz_telemetry.c -- fuzz target: Telemetry API deliveries as the listener receives them (telemetry.c). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Input: a delivery body, any bytes. telemetry.c is included to reach its
 * request handler, which gets the body in a request of its own, as evhttp
 * hands it over (not NUL-terminated, and without a connection, so its
 * answer just frees the request). Properties:
 * - the handler answers every body, reporting nothing for one that is not
 *   a JSON array;
 * - it reports exactly the platform.start and platform.runtimeDone events
 *   that have a string requestId in an object record, in order, with the
 *   record's status when it is a string.
 */

#include "../../modules/lambda/telemetry_listener.c"

#include <stdbool.h>
#include <stdint.h>

#include "fuzz.h"

#define MAX_SEEN	64

struct seen {
	size_t	 n;
	bool	 overflow;
	struct {
		bool		 start;
		char		*id_copy;	/* NULL when out of memory */
		char		*status;	/* NULL when there was none */
	} ev[MAX_SEEN];
};

static void
note(struct seen *s, bool start, const char *id, const char *status)
{
	FUZZ_CHECK(id != NULL);
	if (s->n == MAX_SEEN) {
		s->overflow = true;
		return;
	}
	s->ev[s->n].start = start;
	s->ev[s->n].id_copy = strdup(id);
	s->ev[s->n].status = status != NULL ? strdup(status) : NULL;
	s->n++;
}

static void
on_start_cb(const char *id, void *arg)
{
	note(arg, true, id, NULL);
}

static void
on_done_cb(const char *id, const char *status, void *arg)
{
	note(arg, false, id, status);
}

/* The events the body holds, by the documented rule, compared with those reported. */
static void
check_reported(const uint8_t *data, size_t size, const struct seen *s)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *events = NULL;
	size_t want = 0, n;

	if (tok == NULL)
		return;
	events = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	if (events == NULL || !json_object_is_type(events, json_type_array)) {
		FUZZ_CHECK(s->n == 0);
		goto out;
	}
	n = json_object_array_length(events);
	for (size_t i = 0; i < n; i++) {
		json_object *ev = json_object_array_get_idx(events, i), *type, *record, *id, *status;
		bool start;

		if (!json_object_object_get_ex(ev, "type", &type) || !json_object_is_type(type, json_type_string))
			continue;
		start = strcmp(json_object_get_string(type), "platform.start") == 0;
		if (!start && strcmp(json_object_get_string(type), "platform.runtimeDone") != 0)
			continue;
		if (!json_object_object_get_ex(ev, "record", &record) ||
		    !json_object_is_type(record, json_type_object) ||
		    !json_object_object_get_ex(record, "requestId", &id) ||
		    !json_object_is_type(id, json_type_string))
			continue;
		if (want >= MAX_SEEN) {
			want++;
			continue;
		}
		FUZZ_CHECK(want < s->n);
		FUZZ_CHECK(s->ev[want].start == start);
		FUZZ_CHECK(s->ev[want].id_copy == NULL ||
		    strcmp(s->ev[want].id_copy, json_object_get_string(id)) == 0);
		if (!start) {
			bool has = json_object_object_get_ex(record, "status", &status) &&
			    json_object_is_type(status, json_type_string);

			FUZZ_CHECK(has == (s->ev[want].status != NULL) || s->ev[want].id_copy == NULL);
			if (has && s->ev[want].status != NULL)
				FUZZ_CHECK(strcmp(s->ev[want].status, json_object_get_string(status)) == 0);
		}
		want++;
	}
	FUZZ_CHECK(want == s->n || (s->overflow && want > MAX_SEEN));
out:
	json_object_put(events);
	json_tokener_free(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen seen = { 0 };
	struct telemetry t = {
		.h = { .on_start = on_start_cb, .on_runtime_done = on_done_cb, .arg = &seen },
	};
	struct evhttp_request *req;

	if (size > MAX_DELIVERY)
		return 0;
	req = evhttp_request_new(NULL, NULL);
	if (req == NULL)
		return 0;
	if (evbuffer_add(evhttp_request_get_input_buffer(req), data, size) < 0) {
		evhttp_request_free(req);
		return 0;
	}
	on_delivery(req, &t);		/* answers, and so frees req */
	check_reported(data, size, &seen);
	for (size_t i = 0; i < seen.n; i++) {
		free(seen.ev[i].id_copy);
		free(seen.ev[i].status);
	}
	return 0;
}
