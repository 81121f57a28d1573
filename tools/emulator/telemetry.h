/* telemetry.h -- the Telemetry API (PUT /2022-07-01/telemetry) and the platform event stream. */
#ifndef EMU_TELEMETRY_H
#define EMU_TELEMETRY_H

#include "emu.h"

struct evhttp_request;
struct json_object;

/* NULL on OOM. */
struct telemetry *tel_new(struct emu *emu);
void	tel_free(struct telemetry *tel);
/* PUT /2022-07-01/telemetry, following --telemetry (on, off, stub202). */
void	tel_handle_subscribe(struct emu *emu, struct evhttp_request *req);
/*
 * Emits a platform record now: {"time","type","record"} to every subscriber
 * of "platform" (and, during init, to later ones). Consumes record.
 */
void	tel_emit(struct telemetry *tel, const char *type, struct json_object *record);
/* tel_emit, unless building record failed (bad): then it is freed and a warning logged. */
void	tel_emit_checked(struct telemetry *tel, const char *type, struct json_object *record,
	    int bad);
/* Init is over: later subscriptions get 403 Telemetry.SubscriptionClosed. */
void	tel_close(struct telemetry *tel);
/*
 * The sandbox was reset: every subscriber stops (kept for the report) and
 * subscription opens again for the next init.
 */
void	tel_reset(struct telemetry *tel);
/* The sandbox froze (1) or thawed (0): delivery pauses meanwhile. */
void	tel_pause(struct telemetry *tel, int paused);
/* a's process is gone: stop delivering to its listener. */
void	tel_agent_gone(struct telemetry *tel, const struct agent *a);
/* Delivery statistics per subscriber, for the report (new reference). */
struct json_object *tel_stats_json(const struct telemetry *tel);

#endif
