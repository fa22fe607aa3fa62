/* include/edxbus/edxbus.h — the whole public API of edxbus in one include.
 *
 * Read the headers in this order: error.h and buf.h (the conventions), conf.h (settings),
 * metadata.h (the envelope), avro.h and catalog.h (payloads), signal.h and bus.h (events in a
 * process), routing.h, producer.h and consumer.h (events on a broker), typed.h and the
 * generated events.h (events as C structs), backend.h and backend_util.h (writing a broker).
 * This header includes every one of them.
 *
 * Build a program against the installed library with pkg-config (the one command every
 * example uses):
 *
 *     cc app.c $(pkg-config --cflags --libs edxbus) -o app
 *
 * or from CMake: find_package(edxbus) and target_link_libraries(app PRIVATE edxbus::edxbus).
 *
 * EDXBUS_VERSION is the version these headers describe; edxbus_version() the version of the
 * library actually linked. A program can compare them at start-up to catch a mismatch:
 *
 *     if (strcmp(edxbus_version(), EDXBUS_VERSION) != 0) ... headers and library differ
 *
 * Thread rule: each header states its own.
 */
#ifndef EDXBUS_EDXBUS_H
#define EDXBUS_EDXBUS_H

#include "edxbus/admin.h"
#include "edxbus/arena.h"
#include "edxbus/avro.h"
#include "edxbus/backend.h"
#include "edxbus/backend_util.h"
#include "edxbus/bridge.h"
#include "edxbus/buf.h"
#include "edxbus/bus.h"
#include "edxbus/catalog.h"
#include "edxbus/conf.h"
#include "edxbus/consumer.h"
#include "edxbus/doctor.h"
#include "edxbus/error.h"
#include "edxbus/json.h"
#include "edxbus/metrics.h"
#include "edxbus/metadata.h"
#include "edxbus/outbox.h"
#include "edxbus/producer.h"
#include "edxbus/routing.h"
#include "edxbus/signal.h"
#include "edxbus/tail.h"
#include "edxbus/typed.h"

/* The typed API of the catalog (a struct, a send and a connect per event), generated at build
 * time and installed beside this header. Inside edxbus's own build, the layers below the typed
 * one compile before it exists and go without it. */
#if defined(__has_include)
#if __has_include("edxbus/events.h")
#include "edxbus/events.h"
#endif
#else
#include "edxbus/events.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define EDXBUS_VERSION_MAJOR 0
#define EDXBUS_VERSION_MINOR 1
#define EDXBUS_VERSION_PATCH 0
#define EDXBUS_VERSION "0.1.0"

/** The version of the linked library ("0.1.0"). Static storage. */
EDXBUS_API const char *edxbus_version(void);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_EDXBUS_H */
