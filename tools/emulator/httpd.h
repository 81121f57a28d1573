/* httpd.h -- the API server: bind, route, and the reply helpers every API uses. */
#ifndef EMU_HTTPD_H
#define EMU_HTTPD_H

#include <stddef.h>

struct emu;
struct evhttp_request;
struct json_object;

/* Binds opt.listen_host:listen_port, writes the port file. 0, or -1 after a message. */
int	httpd_start(struct emu *emu);
void	httpd_free(struct emu *emu);

/* Each reply answers req exactly once; req must not be used afterwards. */
void	http_reply_json(struct evhttp_request *req, int code, struct json_object *obj);
void	http_reply_error(struct evhttp_request *req, int code, const char *type,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	http_reply_accepted(struct evhttp_request *req);
void	http_reply_text(struct evhttp_request *req, int code, const char *ctype,
	    const char *text);
/* Answers a parked long poll that will never get its event (teardown). */
void	http_reply_abort(struct evhttp_request *req);

/* A request header (case-insensitive); NULL when absent. */
const char *http_header(struct evhttp_request *req, const char *name);
/* A NUL-terminated copy of the body (owned by the caller); NULL on OOM. */
char	*http_body(struct evhttp_request *req, size_t *len);
/*
 * Parses body[0..len) as one strict JSON document. Returns 0 and *out (owned),
 * or -1 with a message in err.
 */
int	http_parse_json(const char *body, size_t len, struct json_object **out,
	    char *err, size_t errlen);
/*
 * Adds key = val to the object o, taking val. Returns 0, or -1 (val freed)
 * when val is NULL (an allocation failed) or the add failed.
 */
int	json_set(struct json_object *o, const char *key, struct json_object *val);
/* A duration in ms as a JSON number with 3 decimals (NULL on OOM). */
struct json_object *json_ms(double ms);
/* Serializes obj compactly (no slash escaping). Borrowed from obj. */
const char *http_json_text(struct json_object *obj);

#endif
