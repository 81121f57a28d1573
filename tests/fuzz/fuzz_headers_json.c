/* fuzz_headers_json.c -- fuzz target: PYROSCOPE_HTTP_HEADERS, the custom headers JSON (settings.c). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Input: the value of PYROSCOPE_HTTP_HEADERS up to the first NUL; nothing
 * else is set. The loader's verdict is checked against the documented rule,
 * applied here member by member: the value is used when it is strict JSON
 * (as Go reads it: nothing after the object) holding no NUL (an escaped
 * "\u0000": json-c would cut a name there), an object of at most 64 string
 * members, each a valid header name that the relay does not own, with a
 * valid value of at most 8192 bytes. Then the headers are those members in
 * order; otherwise it is a problem, and nothing can be sent.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "hdr.h"
#include "settings.h"

#define MAX_VALUE	8192

static const char *headers_json;

static const char *
fuzz_getenv(const char *name)
{
	return strcmp(name, "PYROSCOPE_HTTP_HEADERS") == 0 ? headers_json : NULL;
}

/* Does a JSON string in the text hold an escaped NUL? (Outside strings a backslash is no JSON.) */
static bool
has_escaped_nul(const char *s)
{
	bool in_string = false;

	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] == '"') {
			in_string = !in_string;
		} else if (in_string && s[i] == '\\') {
			if (strncmp(s + i + 1, "u0000", 5) == 0)
				return true;
			if (s[i + 1] != '\0')
				i++;
		}
	}
	return false;
}

static json_object *
parse_strict(const char *s)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *root;

	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, s, -1);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	return root;
}

/* The documented rule for one member. */
static bool
member_usable(const char *key, json_object *val)
{
	const char *v;

	if (!json_object_is_type(val, json_type_string))
		return false;
	v = json_object_get_string(val);
	if (strlen(v) != (size_t)json_object_get_string_len(val))
		return false;	/* a NUL, as the loader must have refused */
	return hdr_name_valid(key) && !hdr_is_relay_owned(key) && hdr_value_valid(v) &&
	    strlen(v) <= MAX_VALUE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relay_settings s;
	json_object *root;
	bool usable;
	size_t n = 0;
	char *json = fuzz_cstring(data, size);

	if (json == NULL)
		return 0;
	headers_json = json;
	FUZZ_CHECK(settings_load(&s, fuzz_getenv) == 0);
	root = json[0] != '\0' ? parse_strict(json) : NULL;
	usable = json[0] == '\0' || (root != NULL && json_object_is_type(root, json_type_object) &&
	    !has_escaped_nul(json));
	if (root != NULL && json_object_is_type(root, json_type_object)) {
		json_object_object_foreach(root, key, val) {
			if (!member_usable(key, val))
				usable = false;
			n++;
		}
		if (n > SETTINGS_MAX_HEADERS)
			usable = false;
	}
	if (usable) {
		FUZZ_CHECK(s.unsendable == NULL && s.nproblems == 0);
		FUZZ_CHECK(s.nheaders == n);
		if (root != NULL) {
			size_t i = 0;

			json_object_object_foreach(root, key, val) {
				FUZZ_CHECK(strcmp(s.headers[i].name, key) == 0);
				FUZZ_CHECK(strcmp(s.headers[i].value, json_object_get_string(val)) == 0);
				i++;
			}
		}
	} else {
		FUZZ_CHECK(s.unsendable != NULL && s.nproblems > 0);
		FUZZ_CHECK(strstr(s.problems[s.nproblems - 1].text, "PYROSCOPE_HTTP_HEADERS") != NULL);
	}
	json_object_put(root);
	settings_clear(&s);
	free(json);
	return 0;
}
