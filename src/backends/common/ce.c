/* src/backends/common/ce.c — the metadata as CloudEvents headers (backend_util.h), the way
 * edx-event-bus-kafka writes and reads them (WIRE.md §4), for every broker that carries
 * headers (Kafka; NATS with the same names and text forms, so tools read both alike).
 *
 * Writing: the three fixed headers, then the seven metadata ones in the reference's order with
 * the canonical text forms; a small cache keeps the text of the last whole second, minorversion
 * and sourcelib, because printf-formatting them was most of the cost of a Kafka send. A miss
 * formats them with edxbus_metadata_field_text / _format_time, so the bytes never differ.
 *
 * Reading follows the reference's _get_metadata_from_headers: ce_type must appear exactly once
 * and ce_id at least once; any metadata header present more than once makes the record
 * unusable; a missing one takes EventsMetadata's default; an empty value is kept as it is (and
 * is refused only when the field cannot be empty, e.g. a time).
 */
#include <stdio.h>
#include <string.h>

#include "edxbus/backend_util.h"

#define CE_META 7 /* the metadata headers, after the three fixed ones */

/* Wire header name -> EventsMetadata field name, in wire order. */
static const char *const header_names[CE_META] = {
    "ce_type", "ce_id", "ce_source", "ce_time", "ce_minorversion", "sourcehost", "sourcelib",
};
static const char *const meta_names[CE_META] = {
    "event_type", "id", "source", "time", "minorversion", "sourcehost", "sourcelib",
};

/* ------------------------------------------------------------------------------------------ */
/* Writing */

/* Format @p name of @p md the canonical way into @p out (@p size bytes at most). */
static edxbus_err_t field_text(const struct edxbus_metadata *md, const char *name,
                               struct edxbus_buf *scratch, char *out, size_t size, size_t *len)
{
    edxbus_buf_reset(scratch);
    edxbus_err_t err = edxbus_metadata_field_text(md, name, scratch);
    if (err == EDXBUS_OK && scratch->len >= size)
        err = EDXBUS_ERR_INVALID_ARG;
    if (err != EDXBUS_OK)
        return err;
    if (scratch->len > 0)
        memcpy(out, scratch->data, scratch->len);
    *len = scratch->len;
    return EDXBUS_OK;
}

/* md->time_us as edxbus_metadata_format_time writes it ("…T10:20:30[.ffffff]+00:00") into
 * w->time_text: the whole-second part from the cache, the fraction by hand, as "%06" would. */
static edxbus_err_t time_text(const struct edxbus_metadata *md, struct edxbus_ce_writer *w,
                              size_t *len)
{
    if (md->time_us < EDXBUS_METADATA_TIME_MIN_US || md->time_us > EDXBUS_METADATA_TIME_MAX_US)
        return EDXBUS_ERR_INVALID_ARG;
    int64_t second = md->time_us / 1000000, frac = md->time_us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        second--;
    }
    if (!w->has_second || w->second != second) {
        /* Whole seconds are in range too: both ends of the range are whole seconds apart. */
        char text[EDXBUS_METADATA_TIME_TEXT_MAX];
        edxbus_err_t err = edxbus_metadata_format_time(second * 1000000, text, sizeof text);
        if (err != EDXBUS_OK)
            return err;
        size_t n = strlen(text);
        if (n < 6 || memcmp(text + n - 6, "+00:00", 6) != 0)
            return EDXBUS_ERR_INVALID_ARG;
        w->second_len = n - 6;
        memcpy(w->second_text, text, w->second_len);
        w->second = second;
        w->has_second = true;
    }
    char *out = w->time_text;
    size_t n = w->second_len;
    memcpy(out, w->second_text, n);
    if (frac != 0) {
        out[n++] = '.';
        for (int i = 5; i >= 0; i--, frac /= 10)
            out[n + (size_t)i] = (char)('0' + frac % 10);
        n += 6;
    }
    memcpy(out + n, "+00:00", 6);
    *len = n + 6;
    return EDXBUS_OK;
}

static void set_header(struct edxbus_header *h, const char *name, const void *value, size_t len)
{
    h->name = name;
    h->value = len ? value : (const uint8_t *)"";
    h->len = len;
}

edxbus_err_t edxbus_ce_write(struct edxbus_ce_writer *w, const struct edxbus_metadata *md,
                             char *errstr, size_t errstr_size)
{
    size_t when_len = 0;
    const char *failed = NULL;
    edxbus_err_t err = time_text(md, w, &when_len);
    if (err != EDXBUS_OK)
        failed = "time";
    if (failed == NULL && (!w->has_minor || w->minor != md->minorversion)) {
        err = field_text(md, "minorversion", &w->scratch, w->minor_text, sizeof w->minor_text,
                         &w->minor_len);
        w->minor = md->minorversion;
        w->has_minor = err == EDXBUS_OK;
        if (err != EDXBUS_OK)
            failed = "minorversion";
    }
    if (failed == NULL &&
        (!w->has_lib || w->nlib != md->nsourcelib || md->nsourcelib > EDXBUS_SOURCELIB_MAX ||
         memcmp(w->lib, md->sourcelib, md->nsourcelib * sizeof md->sourcelib[0]) != 0)) {
        err =
            field_text(md, "sourcelib", &w->scratch, w->lib_text, sizeof w->lib_text, &w->lib_len);
        w->has_lib = err == EDXBUS_OK;
        if (err != EDXBUS_OK) {
            failed = "sourcelib";
        } else {
            memcpy(w->lib, md->sourcelib, md->nsourcelib * sizeof md->sourcelib[0]);
            w->nlib = md->nsourcelib;
        }
    }
    if (failed != NULL) {
        edxbus_errf(errstr, errstr_size, "metadata field %s: %s", failed, edxbus_err2str(err));
        return EDXBUS_ERR_INVALID_ARG;
    }
    struct edxbus_header *h = w->headers;
    set_header(&h[0], "ce_specversion", "1.0", 3);
    set_header(&h[1], "content-type", "application/avro", 16);
    set_header(&h[2], "ce_datacontenttype", "application/avro", 16);
    /* In header_names order; the text fields are sent as they are (NUL-terminated arrays). */
    const char *vals[CE_META] = {
        md->event_type, md->id,         md->source,  w->time_text,
        w->minor_text,  md->sourcehost, w->lib_text,
    };
    size_t lens[CE_META] = {
        strlen(md->event_type), strlen(md->id),         strlen(md->source), when_len,
        w->minor_len,           strlen(md->sourcehost), w->lib_len,
    };
    for (int i = 0; i < CE_META; i++)
        set_header(&h[3 + i], header_names[i], vals[i], lens[i]);
    return EDXBUS_OK;
}

void edxbus_ce_writer_fini(struct edxbus_ce_writer *w)
{
    edxbus_buf_fini(&w->scratch);
}

/* ------------------------------------------------------------------------------------------ */
/* Reading */

/* The metadata header @p name is (its index in header_names), CE_FIXED for one of the three
 * fixed headers, -1 for any other: told apart by a letter, then one string comparison. */
#define CE_FIXED CE_META
static int header_index(const char *name)
{
    int k;
    if (name[0] == 'c' && name[1] == 'e' && name[2] == '_') {
        switch (name[3]) {
        case 't':
            k = name[4] == 'y' ? 0 : 3;
            break;
        case 'i':
            k = 1;
            break;
        case 's':
            if (strcmp(name, "ce_specversion") == 0)
                return CE_FIXED;
            k = 2;
            break;
        case 'm':
            k = 4;
            break;
        case 'd':
            return strcmp(name, "ce_datacontenttype") == 0 ? CE_FIXED : -1;
        default:
            return -1;
        }
    } else if (strncmp(name, "source", 6) == 0) {
        k = name[6] == 'h' ? 5 : 6;
    } else {
        return strcmp(name, "content-type") == 0 ? CE_FIXED : -1;
    }
    return strcmp(name, header_names[k]) == 0 ? k : -1;
}

bool edxbus_ce_read_header(struct edxbus_ce_reader *r, const char *name, const void *value,
                           size_t len)
{
    int k = header_index(name);
    if (k < 0 || k == CE_FIXED)
        return k == CE_FIXED;
    if (r->counts[k]++ == 0) {
        r->vals[k] = value;
        r->lens[k] = len;
    }
    return true;
}

bool edxbus_ce_read_finish(struct edxbus_ce_reader *r, struct edxbus_metadata *md,
                           const char *service_name, char *why, size_t why_size)
{
    _Static_assert(sizeof r->counts / sizeof r->counts[0] == CE_META, "one count per header");
    memset(md, 0, sizeof *md);
    if (r->counts[0] != 1) {
        snprintf(why, why_size,
                 r->counts[0] == 0 ? "no ce_type header"
                                   : "the ce_type header appears more than once");
        return false;
    }
    for (int k = 1; k < CE_META; k++)
        if (r->counts[k] > 1) {
            snprintf(why, why_size, "the %s header appears more than once", header_names[k]);
            return false;
        }
    if (r->counts[1] == 0) {
        snprintf(why, why_size, "no ce_id header");
        return false;
    }
    char type[EDXBUS_METADATA_TEXT_MAX];
    /* A header value can be null (NULL, length 0): memchr must not see it. */
    if (r->vals[0] == NULL || r->lens[0] >= sizeof type ||
        memchr(r->vals[0], '\0', r->lens[0]) != NULL) {
        snprintf(why, why_size, "the ce_type header is not a usable event type");
        return false;
    }
    memcpy(type, r->vals[0], r->lens[0]);
    type[r->lens[0]] = '\0';
    char err[EDXBUS_ERRSTR_SIZE];
    bool all = true;
    for (int k = 0; k < CE_META; k++)
        all = all && r->counts[k] == 1;
    if (!all && edxbus_metadata_generate(md, type, 0, service_name, err, sizeof err) != EDXBUS_OK) {
        snprintf(why, why_size, "cannot make default metadata: %.150s", err);
        return false;
    }
    for (int k = 0; k < CE_META; k++) {
        if (r->counts[k] == 0)
            continue;
        if (edxbus_metadata_set_field(md, meta_names[k], r->vals[k] ? r->vals[k] : "", r->lens[k],
                                      err, sizeof err) != EDXBUS_OK) {
            snprintf(why, why_size, "header %s: %.170s", header_names[k], err);
            return false;
        }
    }
    return true;
}
