/* util.h -- clocks, random identifiers, atomic files and diagnostics for the emulator. */
#ifndef EMU_UTIL_H
#define EMU_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic milliseconds (fractional), for durations. */
double	emu_mono_ms(void);
/* Wall-clock milliseconds since the Unix epoch, for deadlines and records. */
int64_t	emu_epoch_ms(void);
/* Wall-clock milliseconds since the Unix epoch, fractional (for the report's instants). */
double	emu_epoch_ms_f(void);
/* A random integer in [lo, hi] (lo when hi <= lo). */
long	emu_random_between(long lo, long hi);
/* Writes "2006-01-02T15:04:05.000Z" for epoch_ms into buf (>= 32 bytes). */
void	emu_iso_time(int64_t epoch_ms, char *buf, size_t bufsz);
/* Fills out (>= EMU_ID_LEN + 1 bytes) with a random lowercase UUID v4. 0 or -1. */
int	emu_uuid4(char *out);
/* Fills out with nhex random lowercase hex digits and a NUL. 0 or -1. */
int	emu_random_hex(char *out, size_t nhex);
/*
 * Parses a UUID as Go's uuid.Parse does (36-char form, 32 hex digits, braces
 * or urn:uuid: prefix) and writes the canonical lowercase form to out
 * (>= EMU_ID_LEN + 1 bytes). Returns 0, or -1 when s is not a UUID.
 */
int	emu_uuid_parse(const char *s, char *out);
/* Writes data to path through a temporary file and rename(2). 0 or -errno. */
int	emu_write_file_atomic(const char *path, const char *data, size_t len);
/*
 * snprintf for human-readable text (messages, labels): a result too long for
 * buf is cut visibly, ending in "...", instead of silently.
 */
void	emu_msg(char *buf, size_t bufsz, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* A diagnostic line on stderr, prefixed with the program name. */
void	emu_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Formats ms with two decimals, as Lambda prints durations. */
void	emu_fmt_ms(double ms, char *buf, size_t bufsz);

#endif
