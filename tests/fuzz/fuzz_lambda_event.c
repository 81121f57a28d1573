/* fuzz_lambda_event.c -- fuzz target: the Extensions API event/next body (lambda_api.c parse_event). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

/*
 * Input: an event/next answer body up to the first NUL (the client keeps
 * it NUL-terminated). lambda_api.c is included to reach parse_event.
 * Properties:
 * - a body that is not a JSON object is an error, with a message, never an event;
 * - an object is an event: INVOKE or SHUTDOWN (any letter case) or other;
 * - requestId and shutdownReason are copied when they are strings, cut to
 *   fit and NUL-terminated, and left empty otherwise;
 * - deadlineMs is the number, or a string of decimal digits; anything else is 0.
 */

#include "../../modules/lambda/api_client.c"

#include <stdint.h>

#include "fuzz.h"

/* The string member `key` of o, or NULL. */
static const char *
member_string(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* dst holds src cut to size - 1 bytes ("" for NULL). */
static void
check_copy(const char *dst, size_t size, const char *src)
{
	size_t len = strnlen(dst, size);

	FUZZ_CHECK(len < size);
	if (src == NULL) {
		FUZZ_CHECK(len == 0);
		return;
	}
	FUZZ_CHECK(len == (strlen(src) < size ? strlen(src) : size - 1));
	FUZZ_CHECK(strncmp(dst, src, len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstring(data, size);
	struct lambda_result res;
	json_object *root, *dl;
	const char *type;
	int64_t want_deadline = 0;

	if (text == NULL)
		return 0;
	memset(&res, 0, sizeof(res));
	parse_event(text, &res);
	root = json_tokener_parse(text);
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		FUZZ_CHECK(!res.ok && res.error[0] != '\0' && res.event == LAMBDA_EV_NONE);
		goto out;
	}
	FUZZ_CHECK(res.ok && res.error[0] == '\0');
	type = member_string(root, "eventType");
	if (type != NULL && strcasecmp(type, "INVOKE") == 0)
		FUZZ_CHECK(res.event == LAMBDA_EV_INVOKE);
	else if (type != NULL && strcasecmp(type, "SHUTDOWN") == 0)
		FUZZ_CHECK(res.event == LAMBDA_EV_SHUTDOWN);
	else
		FUZZ_CHECK(res.event == LAMBDA_EV_OTHER);
	check_copy(res.request_id, sizeof(res.request_id), member_string(root, "requestId"));
	check_copy(res.shutdown_reason, sizeof(res.shutdown_reason), member_string(root, "shutdownReason"));
	if (json_object_object_get_ex(root, "deadlineMs", &dl)) {
		if (json_object_is_type(dl, json_type_string)) {
			const char *s = json_object_get_string(dl), *digits = s;
			char *end;

			digits += strspn(digits, " \t\n\v\f\r");
			digits += *digits == '+' || *digits == '-';
			errno = 0;
			if (*digits >= '0' && *digits <= '9') {
				long long v = strtoll(s, &end, 10);

				if (errno == 0 && *end == '\0')
					want_deadline = v;
			}
		} else {
			want_deadline = json_object_get_int64(dl);
		}
	}
	FUZZ_CHECK(res.deadline_ms == want_deadline);
out:
	json_object_put(root);
	free(text);
	return 0;
}
