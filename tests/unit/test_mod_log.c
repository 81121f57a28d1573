/* test_mod_log.c -- the access-log module: its lines at trace (accepted) and debug (done), fields, levels; stderr captured. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "log.h"
#include "modules.h"
#include "tap.h"

static struct relay_req *
make_req(void)
{
	struct relay_req *rr = relay_req_new(7, EVHTTP_REQ_POST);

	if (rr == NULL || (rr->path = strdup("/ingest")) == NULL) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
	evbuffer_add(rr->body, "hello", 5);
	rr->body_len = 5;
	rr->accepted.tv_sec -= 2;	/* accepted two seconds ago */
	return rr;
}

static void
configure(enum log_level level, enum log_format format)
{
	struct log_config c = { .level = level, .format = format, .timestamp_disable = true };

	if (log_configure(&c) < 0) {
		printf("Bail out! log_configure failed\n");
		exit(1);
	}
}

enum hook { ON_REQUEST, ON_DONE };

/* What the hook writes to stderr (fd 2), as a malloc'd string. */
static char *
capture(enum hook hook, struct relay_req *rr)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	long len;
	char *out;

	if (tmp == NULL || saved < 0 || dup2(fileno(tmp), STDERR_FILENO) < 0) {
		printf("Bail out! cannot redirect stderr\n");
		exit(1);
	}
	if (hook == ON_REQUEST)
		is_int(mod_log.on_request(rr, NULL), RELAY_NEXT, "on_request lets the request go on");
	else
		mod_log.on_done(rr, NULL);
	dup2(saved, STDERR_FILENO);
	close(saved);
	len = ftell(tmp);
	out = calloc(1, len > 0 ? (size_t)len + 1 : 1);
	rewind(tmp);
	if (out == NULL || (len > 0 && fread(out, 1, (size_t)len, tmp) != (size_t)len)) {
		printf("Bail out! cannot read the captured stderr\n");
		exit(1);
	}
	fclose(tmp);
	return out;
}

/* Replace the value of duration_ms=... with "D" and return it as a number (or -1). */
static double
mask_duration(char *line)
{
	char *p = strstr(line, "duration_ms="), *end;
	double v;

	if (p == NULL)
		return -1;
	p += 12;
	v = strtod(p, &end);
	if (end == p)
		return -1;
	*p = 'D';
	memmove(p + 1, end, strlen(end) + 1);
	return v;
}

static void
test_text(void)
{
	struct relay_req *rr = make_req();
	char *out;
	double ms;

	configure(LOG_TRACE, LOG_FORMAT_TEXT);
	out = capture(ON_REQUEST, rr);
	is_str(out, "level=trace msg=\"Accepted request for relay\" bytes=5 method=POST path=/ingest\n",
	    "trace: one line when a request is accepted, with method, path and bytes");
	free(out);

	rr->outcome = RELAY_DELIVERED;
	rr->status = 200;
	rr->attempts = 1;
	out = capture(ON_DONE, rr);
	ms = mask_duration(out);
	is_str(out, "level=debug msg=\"Relayed request to remote\" attempts=1 bytes=5 duration_ms=D method=POST "
	    "outcome=delivered path=/ingest status=200\n", "debug: one line when delivered, with every field");
	ok(ms >= 2000 && ms < 60000, "duration_ms is the age of the request");
	free(out);

	rr->outcome = RELAY_DROPPED_REJECTED;
	rr->status = 400;
	rr->attempts = 3;
	rr->method = EVHTTP_REQ_PUT;
	out = capture(ON_DONE, rr);
	mask_duration(out);
	is_str(out, "level=debug msg=\"Request not relayed\" attempts=3 bytes=5 duration_ms=D method=PUT "
	    "outcome=rejected path=/ingest status=400\n", "a dropped request: its outcome and last status");
	free(out);

	rr->outcome = RELAY_DROPPED_QUEUE_FULL;
	rr->status = 0;
	rr->attempts = 0;
	out = capture(ON_DONE, rr);
	ok(strstr(out, " attempts=0 ") != NULL && strstr(out, " outcome=queue_full ") != NULL &&
	    strstr(out, " status=0\n") != NULL, "never attempted: attempts=0 status=0");
	free(out);

	configure(LOG_DEBUG, LOG_FORMAT_TEXT);
	out = capture(ON_REQUEST, rr);
	is_str(out, "", "debug: nothing when accepted");
	free(out);
	out = capture(ON_DONE, rr);
	ok(strncmp(out, "level=debug msg=\"Request not relayed\" ", 38) == 0 && strchr(out, '\n') == out + strlen(out) - 1,
	    "debug: the done line alone");
	free(out);

	configure(LOG_INFO, LOG_FORMAT_TEXT);
	out = capture(ON_REQUEST, rr);
	is_str(out, "", "info: nothing when accepted");
	free(out);
	out = capture(ON_DONE, rr);
	is_str(out, "", "info: nothing when done");
	free(out);
	relay_req_free(rr);
}

static const char *
field(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void
test_json(void)
{
	struct relay_req *rr = make_req();
	struct json_object *o;
	char *out;

	configure(LOG_TRACE, LOG_FORMAT_JSON);
	out = capture(ON_REQUEST, rr);
	o = json_tokener_parse(out);
	ok(o != NULL, "json: the accepted line is a JSON object");
	is_str(field(o, "level"), "trace", "json: level trace");
	is_str(field(o, "msg"), "Accepted request for relay", "json: msg");
	is_str(field(o, "method"), "POST", "json: method");
	is_str(field(o, "path"), "/ingest", "json: path");
	is_str(field(o, "bytes"), "5", "json: bytes, as a string like logrus fields");
	json_object_put(o);
	free(out);

	rr->outcome = RELAY_DROPPED_FAILED;
	rr->attempts = 5;
	out = capture(ON_DONE, rr);
	o = json_tokener_parse(out);
	ok(o != NULL, "json: the done line is a JSON object");
	is_str(field(o, "level"), "debug", "json: level debug");
	is_str(field(o, "outcome"), "failed", "json: outcome");
	is_str(field(o, "attempts"), "5", "json: attempts");
	is_str(field(o, "status"), "0", "json: status");
	ok(field(o, "duration_ms") != NULL && strtod(field(o, "duration_ms"), NULL) >= 2000, "json: duration_ms");
	json_object_put(o);
	free(out);
	relay_req_free(rr);
}

int
main(void)
{
	test_text();
	test_json();
	log_reset();
	return done_testing();
}
