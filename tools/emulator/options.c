/* options.c -- command-line parsing and validation for pyroscope-lambda-emulator. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "options.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

#define PROG "pyroscope-lambda-emulator"

enum {
	OPT_EXTENSIONS = 256, OPT_FUNCTION, OPT_LISTEN, OPT_PORT_FILE, OPT_INVOKES,
	OPT_GAP_MS, OPT_TIMEOUT_MS, OPT_INIT_TIMEOUT_MS, OPT_SHUTDOWN_MS,
	OPT_SHUTDOWN_REASON, OPT_FREEZE, OPT_TELEMETRY, OPT_RTDONE_DELAY, OPT_FAIL_NEXT, OPT_PAYLOAD,
	OPT_REPORT, OPT_QUIET, OPT_MANAGED, OPT_CONCURRENCY, OPT_HELP, OPT_VERSION
};

static const struct option long_options[] = {
	{ "extensions", required_argument, NULL, OPT_EXTENSIONS },
	{ "function", required_argument, NULL, OPT_FUNCTION },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "invokes", required_argument, NULL, OPT_INVOKES },
	{ "gap-ms", required_argument, NULL, OPT_GAP_MS },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT_MS },
	{ "init-timeout-ms", required_argument, NULL, OPT_INIT_TIMEOUT_MS },
	{ "shutdown-ms", required_argument, NULL, OPT_SHUTDOWN_MS },
	{ "shutdown-reason", required_argument, NULL, OPT_SHUTDOWN_REASON },
	{ "freeze", required_argument, NULL, OPT_FREEZE },
	{ "telemetry", required_argument, NULL, OPT_TELEMETRY },
	{ "runtime-done-delay-ms", required_argument, NULL, OPT_RTDONE_DELAY },
	{ "fail-next-after", required_argument, NULL, OPT_FAIL_NEXT },
	{ "payload", required_argument, NULL, OPT_PAYLOAD },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "managed-instances", no_argument, NULL, OPT_MANAGED },
	{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static const char usage_text[] =
"usage: " PROG " --function CMD [--extensions DIR] [options]\n"
"\n"
"A local AWS Lambda execution environment: starts every executable in DIR as\n"
"an external extension, then the function (/bin/sh -c CMD) as the runtime,\n"
"and drives them through the Extensions, Runtime and Telemetry APIs: init,\n"
"N invokes with the sandbox frozen between them, then SHUTDOWN.\n"
"An invoke timeout, a crash or a failed init resets the sandbox (SHUTDOWN,\n"
"reason timeout or failure); the next invoke then re-runs the whole init (new\n"
"processes, new identifiers) within the function timeout, as Lambda does.\n"
"\n"
"  --extensions DIR          external extensions (like /opt/extensions)\n"
"  --function CMD            the runtime, run with /bin/sh -c CMD (required)\n"
"  --listen HOST:PORT        API address (default 127.0.0.1:9001; port 0: any)\n"
"  --port-file FILE          write the bound port to FILE\n"
"  --invokes N               number of invokes (default 3)\n"
"  --gap-ms MS|LO-HI         frozen time between invokes, or a random time\n"
"                            in [LO, HI] before each (default 200)\n"
"  --timeout-ms MS           function timeout per invoke, a re-init included\n"
"                            (default 3000)\n"
"  --init-timeout-ms MS      init phase limit (default 10000)\n"
"  --shutdown-ms MS          shutdown window (default 2000; runtime gets 300,\n"
"                            500 with an internal extension; internal\n"
"                            extensions only: 500 in all, the runtime's)\n"
"  --shutdown-reason R       reason of the final SHUTDOWN (default spindown)\n"
"  --freeze sigstop|none     freeze the sandbox between invokes (default sigstop)\n"
"  --telemetry on|off|stub202  Telemetry API mode (default on)\n"
"  --runtime-done-delay-ms MS|never  delay platform.runtimeDone (default 0)\n"
"  --fail-next-after N       answer each extension's event/next with 500 after N calls\n"
"  --payload JSON            the invoke event (default {})\n"
"  --report FILE             write a JSON summary to FILE\n"
"  --quiet                   no platform lines or summary on stdout\n"
"  --managed-instances       Lambda Managed Instances: INVOKE registrations\n"
"                            refused (403), Telemetry schema 2025-01-29 only, no\n"
"                            freeze, no platform.runtimeDone, concurrent invokes,\n"
"                            shutdown: runtime SIGTERM and 600 ms, then SHUTDOWN\n"
"                            with the deadline 2 s after the start\n"
"  --concurrency N           invokes at once with --managed-instances (default 1;\n"
"                            the function gets AWS_LAMBDA_MAX_CONCURRENCY=N)\n"
"  --help, --version\n"
"\n"
"Exit status: 0 when Lambda would accept the run, 1 otherwise, 2 on usage errors.\n";

static int
bad_value(const char *opt, const char *value, const char *why)
{
	fprintf(stderr, "%s: invalid value '%s' for --%s (%s)\n", PROG, value, opt, why);
	return -1;
}

static int
parse_long(const char *opt, const char *text, long min, long max, long *out)
{
	char why[80];
	char *end = NULL;
	long v;

	emu_msg(why, sizeof(why), "expected an integer %ld..%ld", min, max);
	if (text[0] < '0' || text[0] > '9')
		return bad_value(opt, text, why);
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
		return bad_value(opt, text, why);
	*out = v;
	return 0;
}

/* MS, or LO-HI: a random gap in that range before each invoke. */
static int
parse_gap(const char *text, struct emu_options *opt)
{
	const char *dash = strchr(text, '-');
	char lo[32];
	size_t n;

	if (dash == NULL || dash == text) {
		if (parse_long("gap-ms", text, 0, 86400000L, &opt->gap_ms) != 0)
			return -1;
		opt->gap_max_ms = opt->gap_ms;
		return 0;
	}
	n = (size_t)(dash - text);
	if (n >= sizeof(lo))
		return bad_value("gap-ms", text, "expected MS or LO-HI");
	memcpy(lo, text, n);
	lo[n] = '\0';
	if (parse_long("gap-ms", lo, 0, 86400000L, &opt->gap_ms) != 0 ||
	    parse_long("gap-ms", dash + 1, 0, 86400000L, &opt->gap_max_ms) != 0)
		return -1;
	if (opt->gap_max_ms < opt->gap_ms)
		return bad_value("gap-ms", text, "LO must not exceed HI");
	return 0;
}

static int
parse_listen(const char *text, struct emu_options *opt)
{
	unsigned char addr[16];
	const char *host = text, *colon;
	size_t len;
	int family = AF_INET;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL || close[1] != ':')
			return bad_value("listen", text, "expected HOST:PORT or [IPV6]:PORT");
		host = text + 1;
		len = (size_t)(close - host);
		colon = close + 1;
		family = AF_INET6;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL)
			return bad_value("listen", text, "expected HOST:PORT");
		len = (size_t)(colon - text);
	}
	if (len == 0 || len >= sizeof(opt->listen_host))
		return bad_value("listen", text, "bad host");
	memcpy(opt->listen_host, host, len);
	opt->listen_host[len] = '\0';
	if (inet_pton(family, opt->listen_host, addr) != 1)
		return bad_value("listen", text, "the host must be a numeric IP address");
	if (colon[1] == '\0')
		return bad_value("listen", text, "missing port");
	if (parse_long("listen", colon + 1, 0, 65535, &opt->listen_port) != 0)
		return -1;
	return 0;
}

static int
parse_reason(const char *text, struct emu_options *opt)
{
	size_t n = strlen(text);

	if (n == 0 || n > 64 || strspn(text, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
		return bad_value("shutdown-reason", text, "expected 1..64 of [A-Za-z0-9._-]");
	opt->shutdown_reason = text;
	return 0;
}

static int
parse_payload(const char *text, struct emu_options *opt)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj;
	size_t n = strlen(text);
	int ok;

	if (tok == NULL)
		return bad_value("payload", text, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, (int)n);
	ok = n > 0 && n < INT_MAX && json_tokener_get_error(tok) == json_tokener_success &&
	    (size_t)json_tokener_get_parse_end(tok) + strspn(text + json_tokener_get_parse_end(tok),
	    " \t\r\n") == n;
	json_object_put(obj);
	json_tokener_free(tok);
	if (!ok)
		return bad_value("payload", text, "not a JSON document");
	opt->payload = text;
	return 0;
}

static int
parse_dir(const char *text, struct emu_options *opt)
{
	struct stat st;

	if (stat(text, &st) != 0)
		return bad_value("extensions", text, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return bad_value("extensions", text, "not a directory");
	opt->extensions_dir = text;
	return 0;
}

static int
apply_option(int c, const char *arg, struct emu_options *opt)
{
	switch (c) {
	case OPT_EXTENSIONS:
		return parse_dir(arg, opt);
	case OPT_FUNCTION:
		if (arg[0] == '\0')
			return bad_value("function", arg, "empty command");
		opt->function_cmd = arg;
		return 0;
	case OPT_LISTEN:
		return parse_listen(arg, opt);
	case OPT_PORT_FILE:
		opt->port_file = arg;
		return 0;
	case OPT_INVOKES:
		return parse_long("invokes", arg, 0, 1000000L, &opt->invokes);
	case OPT_GAP_MS:
		return parse_gap(arg, opt);
	case OPT_TIMEOUT_MS:
		return parse_long("timeout-ms", arg, 1, 900000L, &opt->timeout_ms);
	case OPT_INIT_TIMEOUT_MS:
		return parse_long("init-timeout-ms", arg, 1, 900000L, &opt->init_timeout_ms);
	case OPT_SHUTDOWN_MS:
		return parse_long("shutdown-ms", arg, 0, 600000L, &opt->shutdown_ms);
	case OPT_SHUTDOWN_REASON:
		return parse_reason(arg, opt);
	case OPT_FREEZE:
		if (strcmp(arg, "sigstop") == 0)
			opt->freeze = FREEZE_SIGSTOP;
		else if (strcmp(arg, "none") == 0)
			opt->freeze = FREEZE_NONE;
		else
			return bad_value("freeze", arg, "expected sigstop or none");
		return 0;
	case OPT_TELEMETRY:
		if (strcmp(arg, "on") == 0)
			opt->telemetry = TELEMETRY_ON;
		else if (strcmp(arg, "off") == 0)
			opt->telemetry = TELEMETRY_OFF;
		else if (strcmp(arg, "stub202") == 0)
			opt->telemetry = TELEMETRY_STUB202;
		else
			return bad_value("telemetry", arg, "expected on, off or stub202");
		return 0;
	case OPT_RTDONE_DELAY:
		if (strcmp(arg, "never") == 0) {
			opt->runtime_done_delay_ms = RTDONE_NEVER;
			return 0;
		}
		return parse_long("runtime-done-delay-ms", arg, 0, 3600000L,
		    &opt->runtime_done_delay_ms);
	case OPT_FAIL_NEXT:
		return parse_long("fail-next-after", arg, 0, 1000000L, &opt->fail_next_after);
	case OPT_PAYLOAD:
		return parse_payload(arg, opt);
	case OPT_REPORT:
		opt->report_file = arg;
		return 0;
	case OPT_QUIET:
		opt->quiet = 1;
		return 0;
	case OPT_MANAGED:
		opt->managed = 1;
		return 0;
	case OPT_CONCURRENCY:
		return parse_long("concurrency", arg, 1, 64, &opt->concurrency);
	default:
		return -1;
	}
}

static void
set_defaults(struct emu_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	memcpy(opt->listen_host, "127.0.0.1", sizeof("127.0.0.1"));
	opt->listen_port = 9001;
	opt->invokes = 3;
	opt->gap_ms = 200;
	opt->gap_max_ms = 200;
	opt->timeout_ms = 3000;
	opt->init_timeout_ms = 10000;
	opt->shutdown_ms = 2000;
	opt->shutdown_reason = "spindown";
	opt->freeze = FREEZE_SIGSTOP;
	opt->telemetry = TELEMETRY_ON;
	opt->runtime_done_delay_ms = 0;
	opt->fail_next_after = -1;
	opt->payload = "{}";
	opt->concurrency = 1;
}

int
options_parse(int argc, char **argv, struct emu_options *opt)
{
	int c;

	set_defaults(opt);
	opterr = 0;
	optind = 1;
	for (;;) {
		c = getopt_long(argc, argv, ":", long_options, NULL);
		if (c == -1)
			break;
		if (c == OPT_HELP) {
			fputs(usage_text, stdout);
			return 1;
		}
		if (c == OPT_VERSION) {
			printf("%s %s\n", PROG, PACKAGE_VERSION);
			return 1;
		}
		if (c == ':') {
			fprintf(stderr, "%s: option '%s' needs a value\n", PROG, argv[optind - 1]);
			return -1;
		}
		if (c == '?') {
			fprintf(stderr, "%s: unknown option '%s'\n", PROG, argv[optind - 1]);
			return -1;
		}
		if (apply_option(c, optarg, opt) != 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", PROG, argv[optind]);
		return -1;
	}
	if (opt->function_cmd == NULL) {
		fprintf(stderr, "%s: missing --function CMD (see --help)\n", PROG);
		return -1;
	}
	if (opt->concurrency > 1 && !opt->managed) {
		fprintf(stderr, "%s: --concurrency needs --managed-instances\n", PROG);
		return -1;
	}
	return 0;
}
