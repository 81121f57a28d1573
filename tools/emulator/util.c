/* util.c -- clocks, random identifiers, atomic files and diagnostics for the emulator. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "emu.h"
#include "util.h"

double
emu_mono_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0.0;
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int64_t
emu_epoch_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
emu_epoch_ms_f(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0.0;
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

long
emu_random_between(long lo, long hi)
{
	uint32_t r = 0;

	if (hi <= lo)
		return lo;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)rand();
	return lo + (long)(r % (uint32_t)(hi - lo + 1));
}

void
emu_iso_time(int64_t epoch_ms, char *buf, size_t bufsz)
{
	time_t secs = (time_t)(epoch_ms / 1000);
	struct tm tm;
	int n;

	if (gmtime_r(&secs, &tm) == NULL) {
		emu_msg(buf, bufsz, "1970-01-01T00:00:00.000Z");
		return;
	}
	n = snprintf(buf, bufsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (int)(epoch_ms % 1000));
	if (n < 0 || (size_t)n >= bufsz)
		buf[0] = '\0';
}

static int
random_bytes(unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

static const char hexdig[] = "0123456789abcdef";

int
emu_uuid4(char *out)
{
	unsigned char b[16];
	size_t i, o = 0;

	if (random_bytes(b, sizeof(b)) != 0)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	for (i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hexdig[b[i] >> 4];
		out[o++] = hexdig[b[i] & 0x0f];
	}
	out[o] = '\0';
	return 0;
}

int
emu_random_hex(char *out, size_t nhex)
{
	unsigned char b[64];
	size_t i;

	if (nhex > 2 * sizeof(b) || random_bytes(b, (nhex + 1) / 2) != 0)
		return -1;
	for (i = 0; i < nhex; i++)
		out[i] = hexdig[(i % 2 == 0) ? b[i / 2] >> 4 : b[i / 2] & 0x0f];
	out[nhex] = '\0';
	return 0;
}

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int
emu_uuid_parse(const char *s, char *out)
{
	char hex[33];
	size_t len = strlen(s), i, n = 0, o = 0;
	const char *p = s;

	if (len == 45 && strncasecmp(s, "urn:uuid:", 9) == 0) {
		p = s + 9;
		len = 36;
	} else if (len == 38 && s[0] == '{' && s[37] == '}') {
		p = s + 1;
		len = 36;
	}
	if (len == 36) {
		for (i = 0; i < 36; i++) {
			if (i == 8 || i == 13 || i == 18 || i == 23) {
				if (p[i] != '-')
					return -1;
				continue;
			}
			if (!is_hex(p[i]))
				return -1;
			hex[n++] = p[i];
		}
	} else if (len == 32) {
		for (i = 0; i < 32; i++) {
			if (!is_hex(p[i]))
				return -1;
			hex[n++] = p[i];
		}
	} else {
		return -1;
	}
	for (i = 0; i < 32; i++) {
		char c = hex[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (i == 8 || i == 12 || i == 16 || i == 20)
			out[o++] = '-';
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
emu_write_file_atomic(const char *path, const char *data, size_t len)
{
	char tmp[4096];
	int fd, rc, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, data, len);
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0)
		(void)unlink(tmp);
	return rc;
}

void
emu_msg(char *buf, size_t bufsz, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (bufsz == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, bufsz, fmt, ap);
	va_end(ap);
	if (n < 0) {
		buf[0] = '\0';
	} else if ((size_t)n >= bufsz && bufsz > 4) {
		memcpy(buf + bufsz - 4, "...", 4);
	}
}

void
emu_warnx(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		memcpy(line + sizeof(line) - 4, "...", 4);
	fprintf(stderr, "%s: %s\n", EMU_PROG, line);
	fflush(stderr);
}

void
emu_fmt_ms(double ms, char *buf, size_t bufsz)
{
	int n;

	if (ms < 0)
		ms = 0;
	n = snprintf(buf, bufsz, "%.2f", ms);
	if (n < 0 || (size_t)n >= bufsz)
		buf[0] = '\0';
}
