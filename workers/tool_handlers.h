#ifndef MAITRED_TOOL_HANDLERS_H
#define MAITRED_TOOL_HANDLERS_H

/*
 * The tools' implementations, which tool_run (workers/tools.c) calls after
 * checking args against the tool's schema. Each returns a new JSON result
 * and sets *status as workers/tools.h describes.
 */
#include <jansson.h>

#include "workers/tools.h"

typedef json_t *tool_handler(struct tool_ctx *ctx, json_t *args, int *status);

tool_handler tool_search_menu;          /* workers/tool_menu.c */
tool_handler tool_get_dish;
tool_handler tool_opening_hours;        /* workers/tool_hours.c */
tool_handler tool_restaurant_info;
tool_handler tool_check_availability;   /* workers/tool_availability.c */
tool_handler tool_create_reservation;   /* workers/tool_booking.c */
tool_handler tool_find_reservation;     /* workers/tool_lookup.c */
tool_handler tool_cancel_reservation;

#endif
