/* request.h -- one accepted upload on its way upstream, and the only helpers that edit it. */
#ifndef RELAY_REQUEST_H
#define RELAY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "hdr.h"

struct evbuffer;

/* What finally happened to a request (accounting and access log). */
enum relay_outcome {
	RELAY_PENDING = 0,
	RELAY_DELIVERED,		/* the remote answered 2xx */
	RELAY_DROPPED_QUEUE_FULL,	/* pushed out of a full queue */
	RELAY_DROPPED_REJECTED,		/* the remote answered non-2xx */
	RELAY_DROPPED_FAILED,		/* connection error or timeout */
	RELAY_DROPPED_UNSENDABLE,	/* configuration makes sending impossible */
	RELAY_DROPPED_SHUTDOWN,		/* still queued when the drain ran out of time */
	RELAY_DROPPED_INTERNAL,		/* out of memory or a module failed */
	RELAY_DROPPED_TOO_LARGE,	/* larger than the whole queue budget */
	RELAY_DROPPED_TOO_OLD,		/* retries would outlive PYROSCOPE_RETRY_MAX_AGE */
	RELAY_OUTCOME_COUNT
};

struct relay_req {
	uint64_t		 id;
	enum evhttp_cmd_type	 method;
	char			*path;		/* owned: raw path as received, starts with '/' */
	char			*query;		/* owned: raw query without '?', or NULL */
	struct evkeyvalq	 headers;	/* owned: the headers to send upstream */
	struct evbuffer		*body;		/* owned: the body, moved from the server (never copied) */
	size_t			 body_len;
	struct timespec		 accepted;	/* CLOCK_MONOTONIC when the body was complete */

	/* filled by the queue and the forwarder */
	uint64_t		 cost;		/* bytes charged to the queue budget */
	int64_t			 not_before;	/* CLOCK_MONOTONIC ns: no attempt before (retry backoff) */
	enum relay_outcome	 outcome;
	int			 status;	/* last upstream status, 0 if none */
	int			 attempts;	/* uploads started */
	int			 reached;	/* of those, the ones that connected: PYROSCOPE_RETRY_MAX_ATTEMPTS counts these */
	int64_t			 attempt_started;	/* CLOCK_MONOTONIC ns of the current upload */
	bool			 fresh_retry;	/* already retried once on a fresh connection */

	TAILQ_ENTRY(relay_req)	 link;		/* queue membership */
};

TAILQ_HEAD(relay_req_list, relay_req);

/* A new empty request (no body yet); NULL on OOM. */
struct relay_req *relay_req_new(uint64_t id, enum evhttp_cmd_type method);
/* Free the request and everything it owns; NULL-safe. */
void	relay_req_free(struct relay_req *rr);

/* The first value of header `name` (case-insensitive), or NULL. */
const char *relay_req_header(const struct relay_req *rr, const char *name);
/*
 * Set header `name` to `value`, replacing every earlier value (any letter
 * case). Refuses (-EINVAL) names the relay owns (hop-by-hop, Host,
 * Content-Length) and values with CR, LF or other control characters.
 * 0 on success, -ENOMEM.
 */
int	relay_req_set_header(struct relay_req *rr, const char *name, const char *value);
/* Remove every value of header `name`. */
void	relay_req_unset_header(struct relay_req *rr, const char *name);
/*
 * Copy a client's header unless the relay owns it (hop-by-hop, Host,
 * Content-Length): appended, keeping the client's order and letter case.
 * -EINVAL for a name that is not a token or a value with control characters,
 * -ENOMEM.
 */
int	relay_req_copy_client_header(struct relay_req *rr, const char *name, const char *value);
/*
 * The same rules for the first `nfields` headers of `in` (evhttp's input
 * headers; what follows them are trailer fields, never forwarded), which are
 * moved into rr, not copied, keeping their order; those the relay owns and
 * those `hop` (the names Connection lists) names stay in `in`, where evhttp
 * still reads Connection. -EINVAL for a malformed field.
 */
int	relay_req_take_client_headers(struct relay_req *rr, struct evkeyvalq *in, size_t nfields,
	    struct hdr_names *hop);
/* Replace the raw query (takes ownership of `query`, which may be NULL). */
void	relay_req_set_query(struct relay_req *rr, char *query);
/*
 * Rewrites a decoded query value: 1 and a malloc'd new value in *ret when it
 * changes, 0 to leave it, a negative errno on failure.
 */
typedef int relay_value_edit(const char *value, void *arg, char **ret);
/*
 * Edit the value of the first query parameter `key`: it is decoded, given to
 * `edit`, and a new value is escaped back in its place; every other byte of
 * the query stays as sent. An absent or undecodable value is left alone.
 * 1 when the query changed, 0 when not, a negative errno (edit's, or -ENOMEM).
 */
int	relay_req_edit_query_value(struct relay_req *rr, const char *key,
	    relay_value_edit *edit, void *arg);
/* The method's name ("POST"), for logs. */
const char *relay_req_method_name(enum evhttp_cmd_type method);
/* Milliseconds since the request was accepted. */
double	relay_req_age_ms(const struct relay_req *rr);
/* CLOCK_MONOTONIC in nanoseconds. */
int64_t	relay_now_ns(void);

#endif
