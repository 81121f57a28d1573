/* telemetry.c -- the Telemetry API: subscription checks, the platform event stream, per-subscriber delivery. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <json-c/json.h>

#include "emu.h"
#include "extapi.h"
#include "httpd.h"
#include "report.h"
#include "teldeliver.h"
#include "telemetry.h"
#include "util.h"

#define T_PLATFORM	1u
#define T_FUNCTION	2u
#define T_EXTENSION	4u
#define HISTORY_MAX	1000	/* platform records kept for subscribers during init */
#define IO_TIMEOUT_MS	5000L	/* one POST, plus the freeze it may span */

struct subscriber {
	const struct agent *owner;	/* borrowed: lives as long as the emulator */
	unsigned	 types;
	struct tel_sub	*sub;		/* owned */
	char		*uri;		/* owned: as subscribed */
};

struct telemetry {
	struct emu	*emu;		/* borrowed */
	struct subscriber *subs;	/* owned: every sandbox's, for the report */
	int		 nsubs;
	int		 first_live;	/* subs before it belong to sandboxes reset */
	int		 closed;
	int		 paused;
	char		*history[HISTORY_MAX];	/* owned records emitted during init */
	int		 nhistory;
};

struct sub_request {
	unsigned	 types;
	long		 max_items, max_bytes, timeout_ms;
	char		 host[64];
	int		 port;
	char		 path[512];
	const char	*uri;		/* borrowed from the parsed body */
};

struct telemetry *
tel_new(struct emu *emu)
{
	struct telemetry *tel = calloc(1, sizeof(*tel));

	if (tel != NULL)
		tel->emu = emu;
	return tel;
}

static void
free_history(struct telemetry *tel)
{
	int i;

	for (i = 0; i < tel->nhistory; i++)
		free(tel->history[i]);
	tel->nhistory = 0;
}

void
tel_free(struct telemetry *tel)
{
	int i;

	if (tel == NULL)
		return;
	for (i = 0; i < tel->nsubs; i++) {
		tsub_free(tel->subs[i].sub);
		free(tel->subs[i].uri);
	}
	free(tel->subs);
	free_history(tel);
	free(tel);
}

static int
get_limit(struct json_object *buffering, const char *key, long min, long max, long *out,
    char *err, size_t errlen)
{
	struct json_object *v = NULL;
	int64_t n;

	if (buffering == NULL || !json_object_object_get_ex(buffering, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_int)) {
		emu_msg(err, errlen, "buffering.%s: must be an integer", key);
		return -1;
	}
	errno = 0;
	n = json_object_get_int64(v);
	if (errno != 0 || n < min || n > max) {
		emu_msg(err, errlen, "buffering.%s: must be between %ld and %ld", key, min, max);
		return -1;
	}
	*out = (long)n;
	return 0;
}

/* http://sandbox.localdomain:PORT[/PATH] or http://sandbox:PORT[/PATH]. */
static int
parse_uri(const char *uri, struct sub_request *sr, char *err, size_t errlen)
{
	const char *p, *colon, *slash;
	size_t hostlen;
	char *end = NULL;
	long port;
	int n;

	if (strncasecmp(uri, "http://", 7) != 0)
		goto bad;
	p = uri + 7;
	colon = strchr(p, ':');
	slash = strchr(p, '/');
	if (colon == NULL || (slash != NULL && slash < colon))
		goto bad;
	hostlen = (size_t)(colon - p);
	if (!((hostlen == 19 && strncasecmp(p, "sandbox.localdomain", 19) == 0) ||
	    (hostlen == 7 && strncasecmp(p, "sandbox", 7) == 0)))
		goto bad;
	if (colon[1] < '0' || colon[1] > '9')
		goto bad;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || port < 1 || port > 65535 || (*end != '\0' && *end != '/'))
		goto bad;
	if (strcspn(end, " \t\r\n\"\\") != strlen(end))
		goto bad;
	n = snprintf(sr->path, sizeof(sr->path), "%s", *end == '/' ? end : "/");
	if (n < 0 || (size_t)n >= sizeof(sr->path))
		goto bad;
	n = snprintf(sr->host, sizeof(sr->host), "%.*s:%ld", (int)hostlen, p, port);
	if (n < 0 || (size_t)n >= sizeof(sr->host))
		goto bad;
	sr->port = (int)port;
	return 0;
bad:
	emu_msg(err, errlen, "destination.URI: must be http://sandbox.localdomain:PORT/PATH, "
	    "got '%.200s'", uri);
	return -1;
}

static int
check_types(struct json_object *types, unsigned *mask, char *err, size_t errlen)
{
	size_t i, n;

	*mask = 0;
	if (types == NULL || !json_object_is_type(types, json_type_array) ||
	    json_object_array_length(types) == 0) {
		emu_msg(err, errlen, "types: must be a non-empty array of "
		    "platform, function, extension");
		return -1;
	}
	n = json_object_array_length(types);
	for (i = 0; i < n; i++) {
		struct json_object *t = json_object_array_get_idx(types, i);
		const char *s = json_object_is_type(t, json_type_string) ? json_object_get_string(t) : "";
		if (strcmp(s, "platform") == 0) {
			*mask |= T_PLATFORM;
		} else if (strcmp(s, "function") == 0) {
			*mask |= T_FUNCTION;
		} else if (strcmp(s, "extension") == 0) {
			*mask |= T_EXTENSION;
		} else {
			emu_msg(err, errlen, "types[%zu]: must be platform, function or extension", i);
			return -1;
		}
	}
	return 0;
}

static int
validate(struct json_object *root, struct sub_request *sr, int managed, char *err,
    size_t errlen)
{
	struct json_object *v = NULL, *buffering = NULL, *dest = NULL, *types = NULL;
	const char *s;

	if (!json_object_is_type(root, json_type_object)) {
		emu_msg(err, errlen, "the subscription must be a JSON object");
		return -1;
	}
	s = json_object_object_get_ex(root, "schemaVersion", &v) &&
	    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
	if (managed && strcmp(s, "2025-01-29") != 0) {
		/* The LMI RIE's schema accepts this version only. */
		emu_msg(err, errlen, "schemaVersion: must be 2025-01-29 on Lambda Managed Instances");
		return -1;
	}
	if (strcmp(s, "2022-07-01") != 0 && strcmp(s, "2022-12-13") != 0 &&
	    strcmp(s, "2025-01-29") != 0) {
		emu_msg(err, errlen, "schemaVersion: must be 2022-07-01, 2022-12-13 or 2025-01-29");
		return -1;
	}
	(void)json_object_object_get_ex(root, "types", &types);
	if (check_types(types, &sr->types, err, errlen) != 0)
		return -1;
	sr->max_items = 10000;
	sr->max_bytes = 262144;
	sr->timeout_ms = 1000;
	if (json_object_object_get_ex(root, "buffering", &buffering) && buffering != NULL &&
	    !json_object_is_type(buffering, json_type_object)) {
		emu_msg(err, errlen, "buffering: must be an object");
		return -1;
	}
	if (get_limit(buffering, "maxItems", 1000, 10000, &sr->max_items, err, errlen) != 0 ||
	    get_limit(buffering, "maxBytes", 262144, 1048576, &sr->max_bytes, err, errlen) != 0 ||
	    get_limit(buffering, "timeoutMs", 25, 30000, &sr->timeout_ms, err, errlen) != 0)
		return -1;
	if (!json_object_object_get_ex(root, "destination", &dest) ||
	    !json_object_is_type(dest, json_type_object)) {
		emu_msg(err, errlen, "destination: required object");
		return -1;
	}
	s = json_object_object_get_ex(dest, "protocol", &v) &&
	    json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
	if (strcmp(s, "TCP") == 0) {
		emu_msg(err, errlen, "destination.protocol: TCP is not supported by this "
		    "emulator; use HTTP");
		return -1;
	}
	if (strcmp(s, "HTTP") != 0) {
		emu_msg(err, errlen, "destination.protocol: must be HTTP");
		return -1;
	}
	if (!json_object_object_get_ex(dest, "URI", &v) || !json_object_is_type(v, json_type_string)) {
		emu_msg(err, errlen, "destination.URI: required string");
		return -1;
	}
	sr->uri = json_object_get_string(v);
	return parse_uri(sr->uri, sr, err, errlen);
}

static int
add_string(struct json_object *arr, const char *s)
{
	struct json_object *v = json_object_new_string(s);

	if (v == NULL || json_object_array_add(arr, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static struct json_object *
types_array(unsigned types)
{
	struct json_object *a = json_object_new_array();

	if (a == NULL)
		return NULL;
	if (((types & T_PLATFORM) && add_string(a, "platform") != 0) ||
	    ((types & T_FUNCTION) && add_string(a, "function") != 0) ||
	    ((types & T_EXTENSION) && add_string(a, "extension") != 0)) {
		json_object_put(a);
		return NULL;
	}
	return a;
}

static int
install(struct telemetry *tel, const struct agent *a, const struct sub_request *sr)
{
	struct emu *emu = tel->emu;
	struct subscriber *slot = NULL;
	struct tel_sub *sub;
	char *uri;
	int i;

	sub = tsub_new(emu->base, sr->host, sr->port, sr->path, sr->max_items, sr->max_bytes,
	    sr->timeout_ms, IO_TIMEOUT_MS + emu->opt.gap_max_ms);
	uri = strdup(sr->uri);
	if (sub == NULL || uri == NULL) {
		tsub_free(sub);
		free(uri);
		return -1;
	}
	for (i = tel->first_live; i < tel->nsubs; i++) {
		if (tel->subs[i].owner == a)
			slot = &tel->subs[i];
	}
	if (slot == NULL) {
		struct subscriber *v = realloc(tel->subs, (size_t)(tel->nsubs + 1) * sizeof(*v));
		if (v == NULL) {
			tsub_free(sub);
			free(uri);
			return -1;
		}
		tel->subs = v;
		slot = &tel->subs[tel->nsubs++];
	} else {
		/* Duplicate subscriptions do not add a subscriber: the new one replaces it. */
		tsub_free(slot->sub);
		free(slot->uri);
	}
	slot->owner = a;
	slot->types = sr->types;
	slot->sub = sub;
	slot->uri = uri;
	if (sr->types & T_PLATFORM) {
		for (i = 0; i < tel->nhistory; i++)
			tsub_push(sub, tel->history[i], strlen(tel->history[i]));
	}
	tsub_pause(sub, tel->paused);
	return 0;
}

static void
announce(struct telemetry *tel, const struct agent *a, unsigned types)
{
	struct json_object *rec = json_object_new_object();

	rep_line(tel->emu, "TELEMETRY\tName: %s\tState: Subscribed\tTypes: [%s%s%s%s%s]", a->name,
	    (types & T_EXTENSION) ? "Extension" : "",
	    (types & T_EXTENSION) && (types & (T_FUNCTION | T_PLATFORM)) ? ", " : "",
	    (types & T_FUNCTION) ? "Function" : "",
	    (types & T_FUNCTION) && (types & T_PLATFORM) ? ", " : "",
	    (types & T_PLATFORM) ? "Platform" : "");
	if (json_set(rec, "name", json_object_new_string(a->name)) != 0 ||
	    json_set(rec, "state", json_object_new_string("Subscribed")) != 0 ||
	    json_set(rec, "types", types_array(types)) != 0) {
		json_object_put(rec);
		return;
	}
	tel_emit(tel, "platform.telemetrySubscription", rec);
}

void
tel_handle_subscribe(struct emu *emu, struct evhttp_request *req)
{
	struct telemetry *tel = emu->tel;
	struct json_object *root = NULL;
	struct sub_request sr;
	char id[EMU_ID_LEN + 1];
	char err[512];
	const struct agent *a;
	char *body;
	size_t len = 0;

	if (emu->opt.telemetry == TELEMETRY_OFF) {
		http_reply_text(req, 404, "text/plain; charset=utf-8", "404 page not found\n");
		return;
	}
	if (emu->opt.telemetry == TELEMETRY_STUB202) {
		/* The standalone RIE's stub: no identifier check, no validation. */
		http_reply_text(req, 202, "application/json", "{\"errorMessage\":\"Telemetry API is "
		    "not supported\",\"errorType\":\"Telemetry.NotSupported\"}\n");
		return;
	}
	if (ext_check_identifier(req, id) != 0)
		return;
	a = ext_find(emu, id);
	if (a == NULL) {
		http_reply_error(req, 403, "Extension.UnknownExtensionIdentifier",
		    "Unknown extension %s", id);
		return;
	}
	if (tel->closed) {
		http_reply_error(req, 403, "Telemetry.SubscriptionClosed",
		    "Telemetry API subscription is closed");
		return;
	}
	memset(&sr, 0, sizeof(sr));
	body = http_body(req, &len);
	if (body == NULL) {
		http_reply_abort(req);
		return;
	}
	if (http_parse_json(body, len, &root, err, sizeof(err)) != 0 ||
	    validate(root, &sr, emu->opt.managed, err, sizeof(err)) != 0) {
		http_reply_error(req, 400, "ValidationError", "%s", err);
		goto out;
	}
	if (install(tel, a, &sr) != 0) {
		http_reply_abort(req);
		goto out;
	}
	http_reply_text(req, 200, "text/plain; charset=utf-8", "OK");
	announce(tel, a, sr.types);
out:
	json_object_put(root);
	free(body);
}

void
tel_emit(struct telemetry *tel, const char *type, struct json_object *record)
{
	struct json_object *ev = json_object_new_object();
	char when[40];
	const char *text;
	size_t len;
	int i;

	emu_iso_time(emu_epoch_ms(), when, sizeof(when));
	if (json_set(ev, "time", json_object_new_string(when)) != 0 ||
	    json_set(ev, "type", json_object_new_string(type)) != 0 ||
	    json_set(ev, "record", record) != 0) {
		json_object_put(ev);
		emu_warnx("telemetry: out of memory, %s not emitted", type);
		return;
	}
	text = http_json_text(ev);
	len = strlen(text);
	for (i = tel->first_live; i < tel->nsubs; i++) {
		if (tel->subs[i].types & T_PLATFORM)
			tsub_push(tel->subs[i].sub, text, len);
	}
	if (!tel->closed && tel->nhistory < HISTORY_MAX) {
		tel->history[tel->nhistory] = strdup(text);
		if (tel->history[tel->nhistory] != NULL)
			tel->nhistory++;
	}
	json_object_put(ev);
}

void
tel_emit_checked(struct telemetry *tel, const char *type, struct json_object *record, int bad)
{
	if (bad || record == NULL) {
		json_object_put(record);
		emu_warnx("telemetry: out of memory, %s not emitted", type);
		return;
	}
	tel_emit(tel, type, record);
}

void
tel_close(struct telemetry *tel)
{
	tel->closed = 1;
	free_history(tel);
}

void
tel_reset(struct telemetry *tel)
{
	int i;

	for (i = tel->first_live; i < tel->nsubs; i++)
		tsub_stop(tel->subs[i].sub);
	tel->first_live = tel->nsubs;
	tel->closed = 0;
	tel->paused = 0;
	free_history(tel);
}

void
tel_pause(struct telemetry *tel, int paused)
{
	int i;

	tel->paused = paused;
	for (i = tel->first_live; i < tel->nsubs; i++)
		tsub_pause(tel->subs[i].sub, paused);
}

void
tel_agent_gone(struct telemetry *tel, const struct agent *a)
{
	int i;

	for (i = tel->first_live; i < tel->nsubs; i++) {
		if (tel->subs[i].owner == a)
			tsub_stop(tel->subs[i].sub);
	}
}

struct json_object *
tel_stats_json(const struct telemetry *tel)
{
	struct json_object *arr = json_object_new_array();
	int i;

	for (i = 0; arr != NULL && i < tel->nsubs; i++) {
		struct json_object *o = json_object_new_object();
		struct tel_sub_stats st;
		int bad = 0;

		tsub_get_stats(tel->subs[i].sub, &st);
		bad |= json_set(o, "extension", json_object_new_string(tel->subs[i].owner->name));
		bad |= json_set(o, "uri", json_object_new_string(tel->subs[i].uri));
		bad |= json_set(o, "types", types_array(tel->subs[i].types));
		bad |= json_set(o, "delivered_batches", json_object_new_int64((int64_t)st.batches));
		bad |= json_set(o, "delivered_records", json_object_new_int64((int64_t)st.records));
		bad |= json_set(o, "failed_posts", json_object_new_int64((int64_t)st.failures));
		bad |= json_set(o, "dropped_records", json_object_new_int64((int64_t)st.dropped));
		bad |= json_set(o, "undelivered_records", json_object_new_int64((int64_t)st.queued));
		if (bad || json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}
