/* rtapi.h -- the Runtime API (/2018-06-01/runtime/...): next, response, error, init/error. */
#ifndef EMU_RTAPI_H
#define EMU_RTAPI_H

#include "emu.h"

struct evhttp_request;

void	rt_handle_next(struct emu *emu, struct evhttp_request *req);
/* POST .../invocation/{id}/response (is_error 0) or .../{id}/error (1). */
void	rt_handle_result(struct emu *emu, struct evhttp_request *req, const char *id,
	    int is_error);
void	rt_handle_init_error(struct emu *emu, struct evhttp_request *req);
/* Answers the runtime's parked next with the current invoke (runtime becomes Running). */
void	rt_release_invoke(struct emu *emu);
const char *rt_state_name(enum rt_state st);

#endif
