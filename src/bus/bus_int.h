/* src/bus/bus_int.h — what the bus's own modules share (signal.c, bus.c, producer.c,
 * consumer.c, worker.c, dlq.c). Not API: nothing outside src/bus/ includes it.
 *
 * The bus owns one edxbus_signal per catalog entry, in catalog order (sorted by type string, so
 * a signal is found by binary search). An edxbus_event lives on the sender's stack for one
 * dispatch: the data and the Avro body are each either borrowed from the sender or made on
 * first use (decoded/encoded lazily) and freed by edxbus__event_fini().
 */
#ifndef EDXBUS_BUS_INT_H
#define EDXBUS_BUS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/bus.h"
#include "edxbus/consumer.h"
#include "edxbus/producer.h"
#include "edxbus/routing.h"
#include "edxbus/signal.h"

struct edxbus__receiver {
    char *name;
    edxbus_receiver_fn fn;
    void *opaque;
    edxbus_detach_fn on_detach; /* or NULL: told when the bus is destroyed first */
};

struct edxbus_signal {
    edxbus_bus_t *bus;
    const edxbus_event_type_t *et;
    struct edxbus__receiver *recv; /* in connection order */
    size_t nrecv, caprecv;
    bool enabled;
};

struct edxbus_event {
    const edxbus_event_type_t *et;
    const json_t *data; /* borrowed, or data_owned, or NULL until asked for */
    json_t *data_owned;
    const uint8_t *value; /* borrowed, or value_buf.data, or NULL until asked for */
    size_t value_len;
    struct edxbus_buf value_buf;
    const struct edxbus_metadata *md;
    bool from_bus;
    const struct edxbus_msg *msg; /* the consumed message, or NULL */
    unsigned attempt;
    bool lazy_failed; /* a lazy decode/encode failed once: don't retry it per receiver */
};

struct edxbus_bus {
    edxbus_conf_t *conf;
    edxbus_catalog_t *cat;
    struct edxbus_signal *signals; /* one per catalog entry, same order */
    size_t nsignals;
    edxbus_producer_t *prod;   /* NULL: inactive */
    char *producer_problem;    /* why inactive although events are routed, or NULL */
    edxbus_routing_t *routing; /* EVENT_BUS_PRODUCER_CONFIG, or NULL */
};

/** Release what @p ev made lazily. */
void edxbus__event_fini(struct edxbus_event *ev);

/** Call the receivers of @p sig on @p ev. @p done (may be NULL) has one flag per receiver:
 *  receivers already done are skipped, and each one that succeeds is marked done (the worker's
 *  retries call only the failed ones). @p report is reset first except its results/cap. */
edxbus_err_t edxbus__signal_dispatch(edxbus_signal_t *sig, struct edxbus_event *ev, unsigned flags,
                                     bool *done, struct edxbus_send_report *report, char *errstr,
                                     size_t errstr_size);

/** Find the signal of an event type descriptor (NULL when not of this bus's catalog). */
edxbus_signal_t *edxbus__bus_signal_of(edxbus_bus_t *bus, const edxbus_event_type_t *et);

/** The name the producer's receiver has in reports. */
#define PRODUCER_RECEIVER_NAME "event-bus-producer"

/** The producer's receiver: sends to every enabled route of the event's type. */
edxbus_err_t edxbus__producer_receiver(const edxbus_event_t *ev, void *opaque, char *errstr,
                                       size_t errstr_size);

/** The bridge's send (bridge.c): produce @p ev, an event consumed from another bus, to
 *  @p topic with its original metadata, Avro body and key (the key's schema from the event
 *  type's key field, for brokers that register it). What edxbus_producer_send() refuses for
 *  events from the bus, on purpose. Errors as edxbus_producer_send(). */
edxbus_err_t edxbus__producer_forward(edxbus_producer_t *prod, const edxbus_event_t *ev,
                                      const char *topic, char *errstr, size_t errstr_size);

/** The bridge's HTTP destination (bridge_http.c): a receiver POSTing each event to @p url
 *  (borrowed until close) as a CloudEvent, with the auth and timeout settings of @p conf.
 *  Errors: EDXBUS_ERR_CONF for a URL that is not http(s). */
edxbus_err_t edxbus__bridge_http_open(const edxbus_conf_t *conf, const char *url,
                                      edxbus_receiver_fn *fn, void **opaque, char *errstr,
                                      size_t errstr_size);
/** Give the destination the worker that runs it (its retry and dead-letter policy for POSTs
 *  answered after the receiver returned); with more than one request in flight it sets the
 *  worker's before-ack call, which waits for every POST of the batch. */
void edxbus__bridge_http_attach(void *opaque, edxbus_consumer_t *cons);
/** Free it (NULL: nothing); returns how many events the endpoint accepted. */
uint64_t edxbus__bridge_http_close(void *opaque);
/** Whether @p mode is a value of EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE (NULL: the default). */
bool edxbus__bridge_http_mode_is_valid(const char *mode);

/** What the HTTP destination takes from --to and the settings. */
struct edxbus__http_dest_settings {
    char display[256];  /* the URL without user:password, control bytes as '?', for messages */
    const char *token;  /* EVENT_BUS_BRIDGE_HTTP_TOKEN, borrowed from the conf; NULL: none */
    const char *basic;  /* EVENT_BUS_BRIDGE_HTTP_BASIC_AUTH "user:password"; NULL: none */
    long timeout_ms;    /* EVENT_BUS_BRIDGE_HTTP_TIMEOUT */
    size_t in_flight;   /* EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT, 1..256 */
    bool structured;    /* EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE is "structured" */
};

/** Read and check @p url (http(s), a host, no space or control byte) and the destination's
 *  settings into @p out. No secret (the URL's password, the token, the basic auth) is ever
 *  written to @p errstr or out->display. Errors: EDXBUS_ERR_CONF, one line (see
 *  edxbus__bridge_http_auth_check()). fuzz/fuzz_http_dest.c holds it to that. */
edxbus_err_t edxbus__bridge_http_settings(const edxbus_conf_t *conf, const char *url,
                                          struct edxbus__http_dest_settings *out, char *errstr,
                                          size_t errstr_size);

/** The destination's settings alone (for config check): a token or basic auth holding a
 *  space or control byte (a header injection), basic auth without ':', both set, more than 256
 *  requests in flight, an unknown content mode. Errors: EDXBUS_ERR_CONF with one line that
 *  never shows a secret. */
edxbus_err_t edxbus__bridge_http_auth_check(const edxbus_conf_t *conf, char *errstr,
                                            size_t errstr_size);

/** Full topic of @p topic under EVENT_BUS_TOPIC_PREFIX of @p conf, by edxbus_routing_full_topic().
 *  Returns new (free()); NULL when out of memory. */
char *edxbus__full_topic(const edxbus_conf_t *conf, const char *topic);

#define EDXBUS__KEY_NAME_MAX 256 /* bytes, with the NUL, of one name of an event_key_field */

/** The dotted-path rule of event_key_field, shared by the walk through the event data
 *  (edxbus_routing_key()) and the one through the event's schema (producer.c): reads the name
 *  at *@p pos (start with *@p pos == @p path) into @p name, moves *@p pos past it and its dot,
 *  and sets *@p last when it was the final name.
 *  Errors: EDXBUS_ERR_INVALID_ARG for an empty path, an empty name (`"a..b": empty name at
 *  byte 2`, `"a.": empty name at the end`) or a name of EDXBUS__KEY_NAME_MAX bytes or more. */
edxbus_err_t edxbus__key_path_next(const char *path, const char **pos,
                                   char name[EDXBUS__KEY_NAME_MAX], bool *last, char *errstr,
                                   size_t errstr_size);

/** Add every directory of EVENT_BUS_SCHEMA_PATH of @p conf (one, several separated by ':', or
 *  a JSON list) to @p cat. Errors: the catalog's, with one line in @p errstr. */
edxbus_err_t edxbus__load_schema_dirs(edxbus_catalog_t *cat, const edxbus_conf_t *conf,
                                      char *errstr, size_t errstr_size);

/** The backend's name in capitals for EVENT_BUS_<BACKEND>_... settings ("SQLITE"). */
void edxbus__backend_setting(char *out, size_t out_size, const struct edxbus_backend_ops *ops,
                             const char *suffix);

/** Produce a dead letter of @p msg to "<msg->topic>-dlq" through @p ops/@p be. */
edxbus_err_t edxbus__dlq_send(const struct edxbus_backend_ops *ops, void *be,
                              const struct edxbus_msg *msg, const char *group, unsigned attempts,
                              const char *error, char *errstr, size_t errstr_size);

/** Wall clock, ms since the epoch. */
int64_t edxbus__now_ms(void);

/** Sleep @p ms milliseconds, in slices, returning early when *@p stop becomes non-zero
 *  (@p stop may be NULL). Returns false when stopped early. */
bool edxbus__sleep_ms(int64_t ms, const volatile sig_atomic_t *stop);

/** Write printf-style text into @p errstr (NULL or size 0: nothing). */
void edxbus__errf(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** What an event_key_field names in an event's schema (key_field.c). */
enum edxbus__key_kind { EDXBUS__KEY_BAD, EDXBUS__KEY_STRING, EDXBUS__KEY_LONG };

/** Resolve the dotted @p path in @p et's schema. Returns the key's kind; for a string or long,
 *  *@p schema_text returns new the field's schema as json.dumps(sort_keys=True) writes it
 *  (free()). EDXBUS__KEY_BAD with one line in @p errstr naming the path: no such field, a
 *  nullable field on the way or at the end, a field that is not a record on the way, or a last
 *  field that is neither a string nor a long. */
enum edxbus__key_kind edxbus__key_field_resolve(const edxbus_event_type_t *et, const char *path,
                                               char **schema_text, char *errstr,
                                               size_t errstr_size);

#endif /* EDXBUS_BUS_INT_H */
