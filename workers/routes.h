#ifndef MAITRED_ROUTES_H
#define MAITRED_ROUTES_H

#include "workers/http.h"

/* Called with a request's headers: finds the route, checks the method, the
 * admin token and the body's announced size and type. Returns 0 to go on
 * reading the body, or -1 when req->reply holds an error to send now. */
int routes_begin(struct http_request *req);

/* Called once the whole body is in: runs the route, which replies at once
 * or defers. */
enum MHD_Result routes_dispatch(struct http_request *req);

/* The route handlers (each fills req->reply or defers). */
void route_page(struct http_request *req);
void route_readyz(struct http_request *req);
void route_metrics(struct http_request *req);
void route_stats(struct http_request *req);
void route_menu(struct http_request *req);
void route_menu_item(struct http_request *req);
void route_availability(struct http_request *req);
void route_reservation_create(struct http_request *req);
void route_reservation_get(struct http_request *req);
void route_reservation_delete(struct http_request *req);

/* Parses req->body as a JSON object. Returns it, or NULL with a 400 or 415
 * reply already set. */
json_t *routes_json_body(struct http_request *req);

#endif
