/* extapi.h -- the Extensions API (/2020-01-01/extension/...) and the extension table. */
#ifndef EMU_EXTAPI_H
#define EMU_EXTAPI_H

#include <stddef.h>

#include "emu.h"

struct evhttp_request;

/* HTTP handlers (called by the router). */
void	ext_handle_register(struct emu *emu, struct evhttp_request *req);
void	ext_handle_next(struct emu *emu, struct evhttp_request *req);
void	ext_handle_error(struct emu *emu, struct evhttp_request *req, int exit_error);

/*
 * A new extension record (state Started) of the given environment (the init
 * that starts it). NULL on OOM. path NULL: internal.
 */
struct agent *ext_agent_new(const char *name, const char *path, int environment);
void	ext_agent_free(struct agent *a);
/* Records an error on a; the oldest are kept when the list is full. */
void	ext_add_error(struct agent *a, const char *source, const char *type, const char *message);
/* Answers a's parked next with the current INVOKE (a becomes Running). */
void	ext_release_invoke(struct emu *emu, struct agent *a);
/* Answers a's parked next with SHUTDOWN (a becomes Running). */
void	ext_release_shutdown(struct emu *emu, struct agent *a);
const char *ext_state_name(enum agent_state st);
/*
 * Checks Lambda-Extension-Identifier as every call but register does:
 * writes the canonical id and returns 0, or answers req (403) and returns -1.
 */
int	ext_check_identifier(struct evhttp_request *req, char *id);
/* The registered extension with this canonical id, or NULL. */
struct agent *ext_find(struct emu *emu, const char *id);
/* "[INVOKE, SHUTDOWN]" */
void	ext_events_text(unsigned events, char *buf, size_t bufsz);

#endif
