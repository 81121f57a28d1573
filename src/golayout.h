/* golayout.h -- format a time with a Go reference layout ("2006-01-02T15:04:05Z07:00"). */
#ifndef RELAY_GOLAYOUT_H
#define RELAY_GOLAYOUT_H

#include <stddef.h>
#include <time.h>

/* Go's time.RFC3339, the default timestamp layout of the original extension. */
#define GOLAYOUT_RFC3339 "2006-01-02T15:04:05Z07:00"

/*
 * Format the broken-down local time `tm` (with tm_gmtoff and tm_zone) plus
 * `nsec` nanoseconds as Go's time.Format(layout) would. Writes at most `size`
 * bytes including the NUL into `buf`; returns the length the full result has
 * (like snprintf), or -1 on bad arguments.
 */
int	golayout_format(char *buf, size_t size, const char *layout, const struct tm *tm, long nsec);

#endif
