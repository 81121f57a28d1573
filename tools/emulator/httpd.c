/* httpd.c -- the API server: bind, route to the Extensions/Runtime/Telemetry APIs, replies. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "emu.h"
#include "extapi.h"
#include "httpd.h"
#include "rtapi.h"
#include "telemetry.h"
#include "util.h"

#define EXT_PREFIX	"/2020-01-01/extension/"
#define RT_INVOCATION	"/2018-06-01/runtime/invocation/"
#define HTTP_MAX_HEADERS	(64L * 1024L)
#define HTTP_MAX_BODY		(EMU_MAX_PAYLOAD + 1024L * 1024L)
/* Long polls may wait through whole freezes: no idle limit that matters. */
#define HTTP_IDLE_TIMEOUT_S	(2 * 86400)

static const char *
reason_phrase(int code)
{
	switch (code) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Request Entity Too Large";
	default: return code >= 500 ? "Internal Server Error" : "Error";
	}
}

const char *
http_json_text(struct json_object *obj)
{
	return json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

int
json_set(struct json_object *o, const char *key, struct json_object *val)
{
	if (o == NULL || val == NULL || json_object_object_add(o, key, val) != 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

struct json_object *
json_ms(double ms)
{
	char text[32];
	int n;

	if (ms < 0)
		ms = 0;
	n = snprintf(text, sizeof(text), "%.3f", ms);
	if (n < 0 || (size_t)n >= sizeof(text))
		return NULL;
	return json_object_new_double_s(ms, text);
}

static void
send_buffer(struct evhttp_request *req, int code, const char *ctype, const char *text,
    size_t len)
{
	struct evbuffer *buf = evbuffer_new();
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	if (ctype != NULL && evhttp_add_header(out, "Content-Type", ctype) != 0)
		emu_warnx("cannot add a Content-Type header");
	if (buf == NULL || (len > 0 && evbuffer_add(buf, text, len) != 0)) {
		emu_warnx("out of memory while answering a request");
		evhttp_send_reply(req, 500, reason_phrase(500), NULL);
	} else {
		evhttp_send_reply(req, code, reason_phrase(code), buf);
	}
	if (buf != NULL)
		evbuffer_free(buf);
}

void
http_reply_text(struct evhttp_request *req, int code, const char *ctype, const char *text)
{
	send_buffer(req, code, ctype, text, text != NULL ? strlen(text) : 0);
}

void
http_reply_json(struct evhttp_request *req, int code, struct json_object *obj)
{
	const char *text;
	char *line = NULL;
	size_t n;

	if (obj == NULL) {
		http_reply_text(req, 500, "application/json",
		    "{\"errorMessage\":\"Internal Server Error\",\"errorType\":\"InternalServerError\"}\n");
		return;
	}
	text = http_json_text(obj);
	n = strlen(text);
	line = malloc(n + 2);
	if (line == NULL) {
		json_object_put(obj);
		evhttp_send_reply(req, 500, reason_phrase(500), NULL);
		return;
	}
	memcpy(line, text, n);
	line[n] = '\n';	/* Go's json.Encoder ends every document with a newline. */
	line[n + 1] = '\0';
	send_buffer(req, code, "application/json", line, n + 1);
	free(line);
	json_object_put(obj);
}

void
http_reply_error(struct evhttp_request *req, int code, const char *type, const char *fmt, ...)
{
	struct json_object *obj = json_object_new_object();
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	/* A truncated message is acceptable: it is cut at the buffer's end. */
	if (json_set(obj, "errorMessage", json_object_new_string(msg)) != 0 ||
	    json_set(obj, "errorType", json_object_new_string(type)) != 0) {
		json_object_put(obj);
		obj = NULL;
	}
	http_reply_json(req, code, obj);
}

void
http_reply_accepted(struct evhttp_request *req)
{
	http_reply_text(req, 202, "application/json", "{\"status\":\"OK\"}\n");
}

void
http_reply_abort(struct evhttp_request *req)
{
	http_reply_error(req, 500, "InternalServerError", "Internal Server Error");
}

const char *
http_header(struct evhttp_request *req, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req), name);
}

char *
http_body(struct evhttp_request *req, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char *copy = malloc(n + 1);

	if (copy == NULL)
		return NULL;
	if (n > 0 && evbuffer_copyout(in, copy, n) != (ev_ssize_t)n) {
		free(copy);
		return NULL;
	}
	copy[n] = '\0';
	*len = n;
	return copy;
}

int
http_parse_json(const char *body, size_t len, struct json_object **out, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	if (strspn(body, " \t\r\n") == len) {
		emu_msg(err, errlen, "unexpected end of JSON input");
		return -1;
	}
	if (len >= INT_MAX || strlen(body) != len) {
		emu_msg(err, errlen, "invalid character in JSON input");
		return -1;
	}
	tok = json_tokener_new();
	if (tok == NULL) {
		emu_msg(err, errlen, "out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_continue) {
		json_object_put(obj);
		emu_msg(err, errlen, "unexpected end of JSON input");
		return -1;
	}
	if (jerr != json_tokener_success) {
		emu_msg(err, errlen, "invalid JSON: %s", json_tokener_error_desc(jerr));
		return -1;
	}
	if (end + strspn(body + end, " \t\r\n") != len) {
		json_object_put(obj);
		emu_msg(err, errlen, "invalid character after top-level value");
		return -1;
	}
	*out = obj;
	return 0;
}

static int
method_is(struct evhttp_request *req, enum evhttp_cmd_type want)
{
	if (evhttp_request_get_command(req) == want)
		return 1;
	http_reply_text(req, 405, NULL, NULL);
	return 0;
}

/* /2018-06-01/runtime/invocation/{id}/response and .../{id}/error. */
static int
route_invocation(struct emu *emu, struct evhttp_request *req, const char *rest)
{
	char id[256];
	const char *slash = strchr(rest, '/');
	size_t idlen;

	if (slash == NULL)
		return 0;
	idlen = (size_t)(slash - rest);
	if (idlen == 0 || idlen >= sizeof(id))
		return 0;
	memcpy(id, rest, idlen);
	id[idlen] = '\0';
	if (strcmp(slash, "/response") == 0) {
		if (method_is(req, EVHTTP_REQ_POST))
			rt_handle_result(emu, req, id, 0);
		return 1;
	}
	if (strcmp(slash, "/error") == 0) {
		if (method_is(req, EVHTTP_REQ_POST))
			rt_handle_result(emu, req, id, 1);
		return 1;
	}
	return 0;
}

static int
route(struct emu *emu, struct evhttp_request *req, const char *path)
{
	if (strncmp(path, EXT_PREFIX, strlen(EXT_PREFIX)) == 0) {
		const char *op = path + strlen(EXT_PREFIX);
		if (strcmp(op, "register") == 0) {
			if (method_is(req, EVHTTP_REQ_POST))
				ext_handle_register(emu, req);
			return 1;
		}
		if (strcmp(op, "event/next") == 0) {
			if (method_is(req, EVHTTP_REQ_GET))
				ext_handle_next(emu, req);
			return 1;
		}
		if (strcmp(op, "init/error") == 0 || strcmp(op, "exit/error") == 0) {
			if (method_is(req, EVHTTP_REQ_POST))
				ext_handle_error(emu, req, op[0] == 'e');
			return 1;
		}
		return 0;
	}
	if (strcmp(path, RT_INVOCATION "next") == 0) {
		if (method_is(req, EVHTTP_REQ_GET))
			rt_handle_next(emu, req);
		return 1;
	}
	if (strncmp(path, RT_INVOCATION, strlen(RT_INVOCATION)) == 0)
		return route_invocation(emu, req, path + strlen(RT_INVOCATION));
	if (strcmp(path, "/2018-06-01/runtime/init/error") == 0) {
		if (method_is(req, EVHTTP_REQ_POST))
			rt_handle_init_error(emu, req);
		return 1;
	}
	if (strcmp(path, "/2022-07-01/telemetry") == 0) {
		if (method_is(req, EVHTTP_REQ_PUT))
			tel_handle_subscribe(emu, req);
		return 1;
	}
	if (strcmp(path, "/2020-08-15/logs") == 0) {
		/* The Logs API is not emulated: answer as the standalone RIE does. */
		if (method_is(req, EVHTTP_REQ_PUT))
			http_reply_text(req, 202, "application/json",
			    "{\"errorMessage\":\"Logs API is not supported\",\"errorType\":\"Logs.NotSupported\"}\n");
		return 1;
	}
	return 0;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct emu *emu = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

	if (path == NULL || !route(emu, req, path))
		http_reply_text(req, 404, "text/plain; charset=utf-8", "404 page not found\n");
}

static int
bound_port(struct evhttp_bound_socket *handle)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	evutil_socket_t fd = evhttp_bound_socket_get_fd(handle);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

static int
write_port_file(const struct emu *emu)
{
	char text[16];
	int n, rc;

	if (emu->opt.port_file == NULL)
		return 0;
	n = snprintf(text, sizeof(text), "%d\n", emu->port);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	rc = emu_write_file_atomic(emu->opt.port_file, text, (size_t)n);
	if (rc != 0) {
		emu_warnx("cannot write --port-file '%s': %s", emu->opt.port_file, strerror(-rc));
		return -1;
	}
	return 0;
}

int
httpd_start(struct emu *emu)
{
	struct evhttp_bound_socket *handle;
	int ipv6 = strchr(emu->opt.listen_host, ':') != NULL;
	int n;

	emu->http = evhttp_new(emu->base);
	if (emu->http == NULL) {
		emu_warnx("cannot create the HTTP server");
		return -1;
	}
	evhttp_set_allowed_methods(emu->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(emu->http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(emu->http, HTTP_MAX_BODY);
	evhttp_set_timeout(emu->http, HTTP_IDLE_TIMEOUT_S);
	evhttp_set_gencb(emu->http, on_request, emu);
	handle = evhttp_bind_socket_with_handle(emu->http, emu->opt.listen_host,
	    (ev_uint16_t)emu->opt.listen_port);
	if (handle == NULL) {
		emu_warnx("cannot listen on %s%s%s:%ld: %s", ipv6 ? "[" : "", emu->opt.listen_host,
		    ipv6 ? "]" : "", emu->opt.listen_port, strerror(errno));
		return -1;
	}
	emu->port = bound_port(handle);
	if (emu->port <= 0) {
		emu_warnx("cannot read the bound port: %s", strerror(errno));
		return -1;
	}
	n = snprintf(emu->api_addr, sizeof(emu->api_addr), "%s%s%s:%d", ipv6 ? "[" : "",
	    emu->opt.listen_host, ipv6 ? "]" : "", emu->port);
	if (n < 0 || (size_t)n >= sizeof(emu->api_addr))
		return -1;
	return write_port_file(emu);
}

void
httpd_free(struct emu *emu)
{
	if (emu->http != NULL)
		evhttp_free(emu->http);
	emu->http = NULL;
}
