/* tcp.c -- how the relay tunes its TCP sockets and bufferevents, in one place. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>

#include "tcp.h"

#define SINGLE_IO_MAX	(256 << 10)

int
tcp_nodelay(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0 ? 0 : -errno;
}

void
tcp_tune_bufferevent(struct bufferevent *bev)
{
	bufferevent_set_max_single_read(bev, SINGLE_IO_MAX);
	bufferevent_set_max_single_write(bev, SINGLE_IO_MAX);
}
