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
#include "query.h"
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

/* A client header: 1 to forward, 0 to leave (the relay's own, or one Connection names), -EINVAL. */
static int
client_header(const char *name, const char *value, struct hdr_names *hop)
{
	if (!hdr_name_valid(name) || !hdr_value_valid(value))
		return -EINVAL;
	if (hdr_is_relay_owned(name) || (hop != NULL && hdr_names_has(hop, name)))
		return 0;
	return 1;
}

int
relay_req_copy_client_header(struct relay_req *rr, const char *name, const char *value)
{
	int rc = client_header(name, value, NULL);

	if (rc <= 0)
		return rc;
	/* name and value are valid: a failure can only be out of memory */
	return evhttp_add_header(&rr->headers, name, value) == 0 ? 0 : -ENOMEM;
}

int
relay_req_take_client_headers(struct relay_req *rr, struct evkeyvalq *in, size_t nfields,
    struct hdr_names *hop)
{
	struct evkeyval *h, *next;
	size_t i = 0;
	int rc;

	for (h = TAILQ_FIRST(in); h != NULL && i < nfields; h = next, i++) {
		next = TAILQ_NEXT(h, next);
		if ((rc = client_header(h->key, h->value, hop)) < 0)
			return rc;
		if (rc == 0)
			continue;
		TAILQ_REMOVE(in, h, next);	/* moved, not copied: no allocation per header */
		TAILQ_INSERT_TAIL(&rr->headers, h, next);
	}
	return 0;
}

void
relay_req_set_query(struct relay_req *rr, char *query)
{
	free(rr->query);
	rr->query = query;
}

int
relay_req_edit_query_value(struct relay_req *rr, const char *key, relay_value_edit *edit, void *arg)
{
	char *value, *edited = NULL, *escaped = NULL, *query = NULL;
	size_t off, len;
	int r;

	if (rr->query == NULL || !query_find(rr->query, key, &off, &len))
		return 0;
	value = query_unescape(rr->query + off, len);
	if (value == NULL)
		return 0;	/* not decodable: the server will judge it; leave it as sent */
	r = edit(value, arg, &edited);
	if (r > 0) {
		escaped = query_escape(edited);
		if (escaped != NULL)
			query = query_splice(rr->query, off, len, escaped);
		if (query != NULL)
			relay_req_set_query(rr, query);
		else
			r = -ENOMEM;
	}
	free(value);
	free(edited);
	free(escaped);
	return r;
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
