/* request.c -- struct relay_req and the header/query helpers modules use to edit it. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "hdr.h"
#include "request.h"

struct relay_req *
relay_req_new(uint64_t id, enum evhttp_cmd_type method)
{
	struct relay_req *rr = calloc(1, sizeof(*rr));

	if (rr == NULL)
		return NULL;
	rr->body = evbuffer_new();
	if (rr->body == NULL) {
		free(rr);
		return NULL;
	}
	rr->id = id;
	rr->method = method;
	TAILQ_INIT(&rr->headers);
	clock_gettime(CLOCK_MONOTONIC, &rr->accepted);
	return rr;
}

void
relay_req_free(struct relay_req *rr)
{
	if (rr == NULL)
		return;
	evhttp_clear_headers(&rr->headers);
	if (rr->body != NULL)
		evbuffer_free(rr->body);
	free(rr->path);
	free(rr->query);
	free(rr);
}

const char *
relay_req_header(const struct relay_req *rr, const char *name)
{
	/* evhttp_find_header takes a non-const queue but does not modify it. */
	return evhttp_find_header((struct evkeyvalq *)&rr->headers, name);
}

void
relay_req_unset_header(struct relay_req *rr, const char *name)
{
	while (evhttp_remove_header(&rr->headers, name) == 0)
		;
}

int
relay_req_set_header(struct relay_req *rr, const char *name, const char *value)
{
	if (!hdr_name_valid(name) || hdr_is_relay_owned(name) || !hdr_value_valid(value))
		return -EINVAL;
	relay_req_unset_header(rr, name);
	return evhttp_add_header(&rr->headers, name, value) == 0 ? 0 : -ENOMEM;
}

int
relay_req_copy_client_header(struct relay_req *rr, const char *name, const char *value)
{
	if (!hdr_name_valid(name) || !hdr_value_valid(value))
		return -EINVAL;
	if (hdr_is_relay_owned(name))
		return 0;
	/* name and value are valid: a failure can only be out of memory */
	return evhttp_add_header(&rr->headers, name, value) == 0 ? 0 : -ENOMEM;
}

void
relay_req_set_query(struct relay_req *rr, char *query)
{
	free(rr->query);
	rr->query = query;
}

const char *
relay_req_method_name(enum evhttp_cmd_type method)
{
	switch (method) {
	case EVHTTP_REQ_GET:		return "GET";
	case EVHTTP_REQ_POST:		return "POST";
	case EVHTTP_REQ_HEAD:		return "HEAD";
	case EVHTTP_REQ_PUT:		return "PUT";
	case EVHTTP_REQ_DELETE:		return "DELETE";
	case EVHTTP_REQ_OPTIONS:	return "OPTIONS";
	case EVHTTP_REQ_TRACE:		return "TRACE";
	case EVHTTP_REQ_CONNECT:	return "CONNECT";
	case EVHTTP_REQ_PATCH:		return "PATCH";
	}
	return "UNKNOWN";
}

double
relay_req_age_ms(const struct relay_req *rr)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - rr->accepted.tv_sec) * 1e3 +
	    (double)(now.tv_nsec - rr->accepted.tv_nsec) / 1e6;
}

int64_t
relay_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}
