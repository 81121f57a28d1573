/* fdio.h -- whole reads and writes on a file descriptor, retried across EINTR and short counts. */
#ifndef RELAY_FDIO_H
#define RELAY_FDIO_H

#include <stddef.h>

/* Write all len bytes. 0, or -1 (errno set; 0 bytes written counts as EIO). */
int	fd_write_all(int fd, const void *buf, size_t len);
/* Read exactly len bytes. 0, or -1 on error or end of file. */
int	fd_read_all(int fd, void *buf, size_t len);

#endif
