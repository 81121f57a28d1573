/* tcp.h -- how the relay tunes its TCP sockets and bufferevents, in one place. */
#ifndef RELAY_TCP_H
#define RELAY_TCP_H

struct bufferevent;

/*
 * Turn Nagle's algorithm off on fd: a request or answer goes out whole at
 * once, instead of its last segment waiting for the peer's delayed ACK (~40
 * ms). Sockets accepted from a listener that has it inherit it (Linux). 0 or
 * -errno.
 */
int	tcp_nodelay(int fd);
/*
 * A listening socket (non-blocking, close-on-exec, SO_REUSEADDR, Nagle off)
 * on the IP literal `ip` and `port` (0: a free one), without a resolver: fd,
 * or -1 with errno (EINVAL when ip is not an IP literal).
 */
int	tcp_listen(const char *ip, int port);
/* The local port fd is bound to, or -1. */
int	tcp_local_port(int fd);
/*
 * Let one read or write move up to 256 KiB (libevent's default is 16 KiB), so
 * that an upload goes out in as few system calls as the socket takes.
 */
void	tcp_tune_bufferevent(struct bufferevent *bev);

#endif
