/* parse.h -- strict parsers for configuration values, with Go's vocabularies. */
#ifndef RELAY_PARSE_H
#define RELAY_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* strconv.ParseBool: 1 t T TRUE true True / 0 f F FALSE false False. 0 or -EINVAL. */
int	parse_bool(const char *s, bool *ret);
/* time.ParseDuration ("300ms", "1.5h", "-2m3s", "0"); nanoseconds. 0, -EINVAL or -ERANGE. */
int	parse_duration(const char *s, int64_t *ret_ns);
/* strconv.Atoi on 64 bits: optional sign, decimal digits only. 0, -EINVAL or -ERANGE. */
int	parse_int(const char *s, int64_t *ret);
/*
 * A byte size: decimal digits with an optional unit: B, K/KB (1000), KiB (1024),
 * M/MB, MiB, G/GB, GiB (case-insensitive). 0, -EINVAL or -ERANGE.
 */
int	parse_size(const char *s, uint64_t *ret);
/* Go's Duration.String(): "10s", "1m30s", "1.5s", "300ms", "0s". Writes into buf (>= 32 bytes). */
void	format_duration(int64_t ns, char *buf, size_t size);

#endif
