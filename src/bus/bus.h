/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.leanhost.Host1 on the user bus: the Manager object, one Project object
 * per known project, ObjectManager, WorkerRestarted. Reads facts through the
 * project API only; never computes them. The manager forwards registry
 * events here (registry → manager → bus), so this module is never called
 * from below. */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "config/config.h"
#include "project/project.h"

typedef struct BusService BusService;

#define BUS_SERVICE_NAME "org.leanhost.Host1"
#define BUS_MANAGER_PATH "/org/leanhost/Host1"
#define BUS_MANAGER_INTERFACE "org.leanhost.Host1.Manager"
#define BUS_PROJECT_PATH_PREFIX "/org/leanhost/Host1/project"
#define BUS_PROJECT_INTERFACE "org.leanhost.Host1.Project"
#define BUS_ERROR_PREFIX "org.leanhost.Host1.Error."

/* Connects to the user bus (or the bus named by use_system), registers the
 * objects and requests the name asynchronously. *ret is NULL (and 0 is
 * returned) when there is no bus: the daemon runs without D-Bus then. */
int bus_service_new(BusService **ret, sd_event *event, LhRegistry *registry, const LhConfig *config, bool use_system);
BusService *bus_service_free(BusService *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(BusService *, bus_service_free);

void bus_service_project_added(BusService *b, LhProject *p);
void bus_service_project_changed(BusService *b, LhProject *p, ProjectChange what);
void bus_service_project_removed(BusService *b, LhProject *p); /* InterfacesRemoved; p still valid */
void bus_service_worker_restarted(BusService *b, LhProject *p, const RestartEvent *ev);
void bus_service_workers_changed(BusService *b);
/* The five above as a RegistryObserver (userdata: the BusService). */
extern const RegistryObserver bus_registry_observer;

/* Added by the bus owner. */

/* Register the objects on an existing connection (a private peer pair in
 * tests); request_name asks for BUS_SERVICE_NAME asynchronously. The caller
 * keeps its reference; the service takes its own and attaches the connection
 * to event if it is not attached yet. */
int bus_service_attach(BusService **ret, sd_bus *bus, sd_event *event, LhRegistry *registry,
                       const LhConfig *config, bool request_name);
bool bus_service_has_name(const BusService *b);

/* /org/leanhost/Host1/project/<sd_bus_path_encode(id)> (malloc'd). */
int bus_project_path(const LhProject *p, char **ret);
/* LhError code "project_not_found" → "org.leanhost.Host1.Error.ProjectNotFound". */
int bus_error_name_from_code(const char *code, char *buf, size_t size);
