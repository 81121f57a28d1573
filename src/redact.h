/* redact.h -- secrets taken out of text that came from the remote, before it is logged. */
#ifndef RELAY_REDACT_H
#define RELAY_REDACT_H

#include <stddef.h>

#include "request.h"
#include "settings.h"

#define REDACTED "[redacted]"

/*
 * Copy in[0..len) into out (NUL-terminated, at most size - 1 bytes), with
 * every secret the remote may have echoed replaced by REDACTED: the
 * configured token, basic-auth password, remote URL password, proxy
 * credentials and every
 * PYROSCOPE_HTTP_HEADERS value; and the values of the request's own secret
 * headers (Authorization and the like, see hdr_is_secret), whole and word by
 * word. Control bytes become '.'.
 */
void	redact(const struct relay_settings *cfg, const struct relay_req *rr, const char *in, size_t len,
	    char *out, size_t size);

#endif
