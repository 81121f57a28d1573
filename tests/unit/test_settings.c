/* test_settings.c -- environment to settings: defaults, fallbacks, problems, unsendable cases. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "tap.h"

/* A fake environment: NULL-terminated name/value pairs. */
static const char *const *fake_env;

static const char *
fake_getenv(const char *name)
{
	for (const char *const *p = fake_env; p != NULL && p[0] != NULL; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

static void
load(struct relay_settings *s, const char *const *env)
{
	fake_env = env;
	if (settings_load(s, fake_getenv) < 0) {
		printf("Bail out! settings_load failed\n");
		exit(1);
	}
}

/* True if some problem text contains `needle`. */
static int
has_problem(const struct relay_settings *s, const char *needle)
{
	for (size_t i = 0; i < s->nproblems; i++)
		if (strstr(s->problems[i].text, needle) != NULL)
			return 1;
	return 0;
}

static void
test_defaults(void)
{
	struct relay_settings s;
	const char *const env[] = { NULL };

	load(&s, env);
	is_int(s.nproblems, 0, "defaults: no problem");
	ok(s.unsendable == NULL, "defaults: sendable");
	is_str(s.remote.display, "https://profiles-prod-001.grafana.net", "defaults: remote");
	is_int(s.timeout_ns, 10000000000LL, "defaults: timeout 10s");
	is_int(s.num_workers, 5, "defaults: 5 workers");
	is_int(s.log_level, LOG_INFO, "defaults: level info");
	is_int(s.log_format, LOG_FORMAT_TEXT, "defaults: text");
	is_str(s.log_timestamp_format, "2006-01-02T15:04:05Z07:00", "defaults: RFC 3339 layout");
	is_int(s.nlisten, 2, "defaults: two listen addresses");
	is_str(s.listen[0].host, "127.0.0.1", "defaults: IPv4 loopback");
	is_str(s.listen[1].host, "::1", "defaults: IPv6 loopback");
	is_int(s.listen[1].port, 4040, "defaults: port 4040");
	ok(!s.dev_mode && !s.self_profiling, "defaults: booleans false");
	ok(s.max_body_bytes <= s.queue_max_bytes, "defaults: a body fits the queue");
	settings_clear(&s);
}

static void
test_original_semantics(void)
{
	struct relay_settings s;
	const char *const env[] = {
		"PYROSCOPE_TIMEOUT", "0", "PYROSCOPE_NUM_WORKERS", "0",
		"PYROSCOPE_DEV_MODE", "True", "PYROSCOPE_FLUSH_ON_INVOKE", "1",
		"PYROSCOPE_LOG_LEVEL", "WARN", "PYROSCOPE_LOG_FORMAT", "json",
		"PYROSCOPE_REMOTE_ADDRESS", "", "PYROSCOPE_LOG_MSG_FIELD_NAME", "message",
		NULL
	};

	load(&s, env);
	is_int(s.nproblems, 0, "0 timeout/workers and empty values are not problems");
	is_int(s.timeout_ns, 10000000000LL, "timeout 0 means 10s");
	is_int(s.num_workers, 5, "workers 0 means 5");
	ok(s.dev_mode && s.nproblems == 0, "Go booleans True and 1");
	is_int(s.log_level, LOG_WARNING, "level WARN, case-insensitive");
	is_int(s.log_format, LOG_FORMAT_JSON, "json format");
	is_str(s.remote.host, "profiles-prod-001.grafana.net", "empty remote means the default");
	is_str(s.log_msg_key, "message", "msg key renamed");
	settings_clear(&s);
}

static void
test_invalid_values_fall_back(void)
{
	struct relay_settings s;
	const char *const env[] = {
		"PYROSCOPE_TIMEOUT", "abc", "PYROSCOPE_NUM_WORKERS", "-3",
		"PYROSCOPE_DEV_MODE", "yes", "PYROSCOPE_LOG_LEVEL", "verbose",
		"PYROSCOPE_LOG_FORMAT", "xml", "PYROSCOPE_LISTEN_ADDRESS", "4040",
		"PYROSCOPE_MAX_BODY_SIZE", "lots",
		NULL
	};

	load(&s, env);
	ok(has_problem(&s, "PYROSCOPE_TIMEOUT: invalid duration 'abc'") && has_problem(&s, "using '10s'"),
	    "bad duration named with value and fallback");
	is_int(s.timeout_ns, 10000000000LL, "bad duration falls back to 10s");
	ok(has_problem(&s, "PYROSCOPE_NUM_WORKERS: invalid number '-3'"), "negative workers refused");
	is_int(s.num_workers, 5, "bad workers fall back to 5");
	ok(has_problem(&s, "PYROSCOPE_DEV_MODE: invalid boolean 'yes'"), "bad boolean reported");
	ok(!s.dev_mode, "bad boolean is false");
	ok(has_problem(&s, "PYROSCOPE_LOG_LEVEL: unknown level 'verbose'"), "bad level reported");
	is_int(s.log_level, LOG_INFO, "bad level is info");
	ok(has_problem(&s, "PYROSCOPE_LOG_FORMAT: unknown format 'xml'"), "bad format reported");
	ok(has_problem(&s, "PYROSCOPE_LISTEN_ADDRESS: invalid list '4040'"), "bad listen reported");
	is_int(s.nlisten, 2, "bad listen falls back to the loopback defaults");
	ok(has_problem(&s, "PYROSCOPE_MAX_BODY_SIZE: invalid size 'lots'"), "bad size reported");
	ok(s.unsendable == NULL, "none of these stops sending");
	settings_clear(&s);
}

static void
test_negative_timeout(void)
{
	struct relay_settings s;
	const char *const env[] = { "PYROSCOPE_TIMEOUT", "-1s", NULL };

	load(&s, env);
	ok(has_problem(&s, "PYROSCOPE_TIMEOUT"), "negative timeout is a problem (no unbounded uploads)");
	is_int(s.timeout_ns, 10000000000LL, "negative timeout falls back to 10s");
	settings_clear(&s);
}

static void
test_remote_unusable(void)
{
	struct relay_settings s;
	const char *const env[] = { "PYROSCOPE_REMOTE_ADDRESS", "ftp://user:s3cret@host", NULL };

	load(&s, env);
	ok(s.unsendable != NULL, "bad remote makes sending impossible");
	ok(has_problem(&s, "PYROSCOPE_REMOTE_ADDRESS: unusable address"), "bad remote reported");
	ok(!has_problem(&s, "s3cret"), "the password is never in a problem text");
	settings_clear(&s);
}

static void
test_custom_headers(void)
{
	struct relay_settings s;
	const char *const good[] = {
		"PYROSCOPE_HTTP_HEADERS", "{\"X-Team\":\"payments\",\"X-Env\":\"prod\"}", NULL
	};
	const char *const crlf[] = {
		"PYROSCOPE_HTTP_HEADERS", "{\"X-A\":\"a\\r\\nX-B: b\"}", NULL
	};
	const char *const owned[] = {
		"PYROSCOPE_HTTP_HEADERS", "{\"Content-Length\":\"1\"}", NULL
	};
	const char *const number[] = { "PYROSCOPE_HTTP_HEADERS", "{\"X-A\":1}", NULL };
	const char *const broken[] = { "PYROSCOPE_HTTP_HEADERS", "{\"X-A\":", NULL };
	const char *const empty[] = { "PYROSCOPE_HTTP_HEADERS", "{}", NULL };
	/* json-c would cut these at the NUL: "X-Nul: abc", "X-A: v" */
	const char *const nul_value[] = { "PYROSCOPE_HTTP_HEADERS", "{\"X-Nul\":\"abc\\u0000def\"}", NULL };
	const char *const nul_name[] = { "PYROSCOPE_HTTP_HEADERS", "{\"X-A\\u0000Evil\":\"v\"}", NULL };
	/* a backslash, then "u0000": no NUL */
	const char *const backslash[] = { "PYROSCOPE_HTTP_HEADERS", "{\"X-A\":\"\\\\u0000\"} \n", NULL };
	const char *const trailing[] = { "PYROSCOPE_HTTP_HEADERS", "{\"X-A\":\"v\"} {\"X-B\":\"w\"}", NULL };
	const char *const comma[] = { "PYROSCOPE_HTTP_HEADERS", "{\"X-A\":\"v\",}", NULL };

	load(&s, good);
	is_int(s.nheaders, 2, "two custom headers");
	is_str(s.headers[0].name, "X-Team", "first header name");
	is_str(s.headers[0].value, "payments", "first header value");
	ok(s.unsendable == NULL && s.nproblems == 0, "good headers: no problem");
	settings_clear(&s);

	load(&s, crlf);
	ok(s.unsendable != NULL && has_problem(&s, "control character"), "CR/LF in a value refused");
	settings_clear(&s);
	load(&s, owned);
	ok(s.unsendable != NULL && has_problem(&s, "set by the relay itself"), "relay-owned name refused");
	settings_clear(&s);
	load(&s, number);
	ok(s.unsendable != NULL && has_problem(&s, "not a string"), "non-string value refused");
	settings_clear(&s);
	load(&s, broken);
	ok(s.unsendable != NULL && has_problem(&s, "not a JSON object"), "broken JSON refused");
	settings_clear(&s);
	load(&s, empty);
	ok(s.unsendable == NULL && s.nheaders == 0, "{} is fine");
	settings_clear(&s);
	load(&s, nul_value);
	ok(s.unsendable != NULL && s.nheaders == 0 && has_problem(&s, "NUL"), "a NUL in a value refused, not cut");
	settings_clear(&s);
	load(&s, nul_name);
	ok(s.unsendable != NULL && s.nheaders == 0 && has_problem(&s, "NUL"), "a NUL in a name refused, not cut");
	settings_clear(&s);
	load(&s, backslash);
	ok(s.unsendable == NULL && s.nheaders == 1, "an escaped backslash before u0000 is no NUL");
	is_str(s.headers[0].value, "\\u0000", "the value keeps its backslash");
	settings_clear(&s);
	load(&s, trailing);
	ok(s.unsendable != NULL && s.nheaders == 0 && has_problem(&s, "not a JSON object"),
	    "text after the object refused, as Go's encoding/json does");
	settings_clear(&s);
	load(&s, comma);
	ok(s.unsendable != NULL && has_problem(&s, "not a JSON object"), "a trailing comma refused");
	settings_clear(&s);
}

static void
test_secrets_not_echoed(void)
{
	struct relay_settings s;
	const char *const env[] = { "PYROSCOPE_AUTH_TOKEN", "tok\nen-SECRET", NULL };

	load(&s, env);
	ok(s.unsendable != NULL, "token with a newline makes sending impossible");
	ok(!has_problem(&s, "SECRET"), "the token is not echoed");
	ok(has_problem(&s, "PYROSCOPE_AUTH_TOKEN"), "the variable is named");
	settings_clear(&s);
}

static void
test_listen_and_limits(void)
{
	struct relay_settings s;
	const char *const env[] = {
		"PYROSCOPE_LISTEN_ADDRESS", "0.0.0.0:4040, [::]:4041",
		"PYROSCOPE_QUEUE_MAX_BYTES", "1MiB", "PYROSCOPE_MAX_BODY_SIZE", "2MiB",
		"PYROSCOPE_QUEUE_MAX_PROFILES", "10", NULL
	};

	load(&s, env);
	is_int(s.nlisten, 2, "two addresses");
	is_str(s.listen[0].host, "0.0.0.0", "opt-in wildcard");
	is_str(s.listen[1].host, "::", "IPv6 wildcard in brackets");
	is_int(s.listen[1].port, 4041, "second port");
	is_int(s.queue_max_bytes, 1 << 20, "queue bytes with a unit");
	is_int(s.max_body_bytes, 1 << 20, "body limit clamped to the queue budget");
	ok(has_problem(&s, "larger than PYROSCOPE_QUEUE_MAX_BYTES"), "clamp reported");
	is_int(s.queue_max_profiles, 10, "queue profiles");
	settings_clear(&s);
}

static void
test_lambda_memory_budget(void)
{
	struct relay_settings s;
	const char *const small[] = { "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128", NULL };
	const char *const big[] = { "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024", NULL };
	const char *const huge[] = { "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "10240", NULL };
	const char *const explicit[] = { "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128",
		"PYROSCOPE_QUEUE_MAX_BYTES", "20MiB", NULL };

	load(&s, small);
	is_int(s.queue_max_bytes, 4 << 20, "128 MB function: 4 MiB queue budget");
	is_int(s.max_body_bytes, 4 << 20, "and the body limit follows it");
	settings_clear(&s);
	load(&s, big);
	is_int(s.queue_max_bytes, 1024ULL * (1 << 20) * 3 / 100, "1024 MB function: 3%");
	settings_clear(&s);
	load(&s, huge);
	is_int(s.queue_max_bytes, 64 << 20, "capped at 64 MiB");
	settings_clear(&s);
	load(&s, explicit);
	is_int(s.queue_max_bytes, 20 << 20, "an explicit budget wins");
	settings_clear(&s);
}

static void
test_flush_and_retry(void)
{
	struct relay_settings s;
	const char *const good[] = { "PYROSCOPE_FLUSH_STRATEGY", "background", "PYROSCOPE_FLUSH_TIMEOUT", "250ms",
		"PYROSCOPE_RETRY_MAX_ATTEMPTS", "1", "PYROSCOPE_RETRY_MAX_AGE", "30s", NULL };
	const char *const bad[] = { "PYROSCOPE_FLUSH_STRATEGY", "sometimes", "PYROSCOPE_FLUSH_TIMEOUT", "0",
		"PYROSCOPE_RETRY_MAX_ATTEMPTS", "0", "PYROSCOPE_RETRY_MAX_AGE", "-1s", NULL };

	load(&s, good);
	is_int(s.flush_strategy, FLUSH_BACKGROUND, "background strategy");
	is_int(s.flush_timeout_ns, 250000000, "flush timeout");
	is_int(s.retry_max_attempts, 1, "retries off");
	is_int(s.retry_max_age_ns, 30000000000LL, "retry age");
	is_int(s.nproblems, 0, "no problem");
	settings_clear(&s);
	load(&s, bad);
	is_int(s.flush_strategy, FLUSH_ADAPTIVE, "bad strategy: adaptive");
	ok(has_problem(&s, "PYROSCOPE_FLUSH_STRATEGY: unknown strategy 'sometimes'") && has_problem(&s, "using 'adaptive'"),
	    "bad strategy named with the fallback");
	is_int(s.flush_timeout_ns, 1000000000, "bad flush timeout: 1s");
	is_int(s.retry_max_attempts, 5, "bad attempts: 5");
	is_int(s.retry_max_age_ns, 300000000000LL, "bad age: 5m");
	is_int(s.nproblems, 4, "four problems");
	settings_clear(&s);
}

static void
test_lambda_labels(void)
{
	struct relay_settings s;
	const char *const off[] = { "AWS_LAMBDA_FUNCTION_NAME", "fn", "AWS_LAMBDA_FUNCTION_VERSION", "3",
		"AWS_REGION", "eu-west-1", NULL };
	const char *const on[] = { "PYROSCOPE_LAMBDA_LABELS", "true", "AWS_LAMBDA_FUNCTION_NAME", "fn",
		"AWS_LAMBDA_FUNCTION_VERSION", "$LATEST", "AWS_REGION", "eu-west-1", NULL };
	const char *const go_true[] = { "PYROSCOPE_LAMBDA_LABELS", "T", "AWS_REGION", "", NULL };
	const char *const go_false[] = { "PYROSCOPE_LAMBDA_LABELS", "0", "AWS_REGION", "r", NULL };
	const char *const bad[] = { "PYROSCOPE_LAMBDA_LABELS", "yes", "AWS_REGION", "r", NULL };

	load(&s, off);
	ok(!s.lambda_labels && s.lambda_function_name == NULL && s.lambda_function_version == NULL &&
	    s.lambda_region == NULL, "lambda labels: off by default, the Lambda variables not read");
	settings_clear(&s);
	load(&s, on);
	ok(s.lambda_labels, "PYROSCOPE_LAMBDA_LABELS=true: on");
	is_str(s.lambda_function_name, "fn", "AWS_LAMBDA_FUNCTION_NAME read");
	is_str(s.lambda_function_version, "$LATEST", "AWS_LAMBDA_FUNCTION_VERSION read, unchanged");
	is_str(s.lambda_region, "eu-west-1", "AWS_REGION read");
	is_int(s.nproblems, 0, "lambda labels: no problem");
	settings_clear(&s);
	load(&s, go_true);
	ok(s.lambda_labels && s.lambda_region == NULL && s.lambda_function_name == NULL,
	    "T is true (Go ParseBool); empty or unset Lambda variables are NULL");
	settings_clear(&s);
	load(&s, go_false);
	ok(!s.lambda_labels && s.lambda_region == NULL, "0 is false");
	settings_clear(&s);
	load(&s, bad);
	ok(!s.lambda_labels && s.lambda_region == NULL, "yes: invalid, false");
	ok(has_problem(&s, "PYROSCOPE_LAMBDA_LABELS: invalid boolean 'yes'"), "yes: a problem naming the variable");
	settings_clear(&s);
}

static void
test_adaptive_flush(void)
{
	struct relay_settings s;
	const char *const none[] = { NULL };
	const char *const tuned[] = { "PYROSCOPE_FLUSH_ADAPTIVE_INTERVAL", "2500ms", "PYROSCOPE_FLUSH_ADAPTIVE_WARMUP", "12",
		"PYROSCOPE_FLUSH_STRATEGY", "adaptive", NULL };
	const char *const bad[] = { "PYROSCOPE_FLUSH_ADAPTIVE_INTERVAL", "0", "PYROSCOPE_FLUSH_ADAPTIVE_WARMUP", "0", NULL };
	const char *const worse[] = { "PYROSCOPE_FLUSH_ADAPTIVE_INTERVAL", "-1s", "PYROSCOPE_FLUSH_ADAPTIVE_WARMUP", "5x", NULL };
	const char *const names[] = { "end-of-invoke", "start-of-invoke", "background", "adaptive" };
	const enum flush_strategy want[] = { FLUSH_END_OF_INVOKE, FLUSH_START_OF_INVOKE, FLUSH_BACKGROUND, FLUSH_ADAPTIVE };
	const char *const on_invoke[] = { "PYROSCOPE_FLUSH_ON_INVOKE", "true", NULL };
	const char *const on_invoke_bg[] = { "PYROSCOPE_FLUSH_ON_INVOKE", "true", "PYROSCOPE_FLUSH_STRATEGY", "background", NULL };
	const char *const lmi[] = { "AWS_LAMBDA_INITIALIZATION_TYPE", "lambda-managed-instances", NULL };
	const char *const on_demand[] = { "AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand", NULL };

	load(&s, none);
	is_int(s.flush_strategy, FLUSH_ADAPTIVE, "default strategy: adaptive");
	is_str(settings_flush_strategy_name(s.flush_strategy), "adaptive", "named adaptive");
	is_int(s.flush_busy_interval_ns, 1000000000LL, "default busy interval: 1s");
	is_int(s.flush_warmup_invokes, 5, "default warm-up: 5 invokes");
	ok(!s.managed_instances, "not Managed Instances by default");
	settings_clear(&s);
	load(&s, tuned);
	is_int(s.flush_busy_interval_ns, 2500000000LL, "busy interval set (Go duration)");
	is_int(s.flush_warmup_invokes, 12, "warm-up set");
	is_int(s.nproblems, 0, "no problem");
	settings_clear(&s);
	load(&s, bad);
	ok(has_problem(&s, "PYROSCOPE_FLUSH_ADAPTIVE_INTERVAL: invalid duration '0'") && has_problem(&s, "using '1s'"),
	    "interval 0 refused, with the fallback");
	ok(has_problem(&s, "PYROSCOPE_FLUSH_ADAPTIVE_WARMUP: invalid number '0' (want 1 to 1000000), using '5'"),
	    "warm-up 0 refused, with the range and the fallback");
	is_int(s.flush_busy_interval_ns, 1000000000LL, "bad interval: 1s");
	is_int(s.flush_warmup_invokes, 5, "bad warm-up: 5");
	ok(s.unsendable == NULL, "neither stops sending");
	settings_clear(&s);
	load(&s, worse);
	is_int(s.nproblems, 2, "a negative interval and a non-number warm-up are problems");
	settings_clear(&s);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *const env[] = { "PYROSCOPE_FLUSH_STRATEGY", names[i], NULL };
		char desc[64];

		snprintf(desc, sizeof(desc), "strategy by name: %s", names[i]);
		load(&s, env);
		ok(s.flush_strategy == want[i] && s.nproblems == 0 &&
		    strcmp(settings_flush_strategy_name(s.flush_strategy), names[i]) == 0, desc);
		settings_clear(&s);
	}
	load(&s, on_invoke);
	ok(s.flush_strategy == FLUSH_ADAPTIVE && s.nproblems == 0, "PYROSCOPE_FLUSH_ON_INVOKE=true keeps the default");
	settings_clear(&s);
	load(&s, on_invoke_bg);
	is_int(s.flush_strategy, FLUSH_BACKGROUND, "an explicit strategy wins over PYROSCOPE_FLUSH_ON_INVOKE");
	settings_clear(&s);
	load(&s, lmi);
	ok(s.managed_instances, "AWS_LAMBDA_INITIALIZATION_TYPE=lambda-managed-instances: Managed Instances");
	settings_clear(&s);
	load(&s, on_demand);
	ok(!s.managed_instances && s.nproblems == 0, "on-demand: not Managed Instances");
	settings_clear(&s);
}

int
main(void)
{
	test_defaults();
	test_original_semantics();
	test_invalid_values_fall_back();
	test_negative_timeout();
	test_remote_unusable();
	test_custom_headers();
	test_secrets_not_echoed();
	test_listen_and_limits();
	test_lambda_memory_budget();
	test_flush_and_retry();
	test_lambda_labels();
	test_adaptive_flush();
	return done_testing();
}
