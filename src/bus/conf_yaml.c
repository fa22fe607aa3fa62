/* src/bus/conf_yaml.c — a YAML settings file to JSON, for edxbus_conf_load_yaml().
 *
 * libyaml's document API parses the whole file (aliases resolved to their anchors); the root
 * must be a mapping of setting names to values. Mappings become objects, sequences arrays, and
 * scalars are resolved the YAML 1.1 way Tutor and PyYAML users expect: quoted, literal and folded
 * scalars are always strings; a plain scalar is null (empty, ~, null), a boolean (true/false,
 * yes/no, on/off, in lower, Title or UPPER case), an integer (decimal, 0x hex, 0o octal), a
 * float (with a '.' or an exponent), and otherwise a string. Plain scalars are resolved even
 * under an explicit `!!str` tag (the document API does not say whether a tag was written).
 * .inf and .nan stay strings: JSON has no such numbers.
 *
 * Defences: nesting deeper than MAX_DEPTH and more than MAX_NODES values in total (an alias
 * bomb: each alias is expanded again) are errors. Every error is `FILE:LINE: what`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "conf_int.h"

#define MAX_DEPTH 64      /* deeper than any settings file; stops alias loops */
#define MAX_NODES 1000000 /* values built in total; stops exponential alias expansion */

struct yaml_ctx {
    yaml_document_t *doc;
    const char *path;
    size_t budget; /* values still allowed */
    char *errstr;
    size_t errstr_size;
};

static bool text_in(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static bool all_digits(const char *s, const char *digits)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (strchr(digits, *s) == NULL)
            return false;
    return true;
}

/* A plain scalar's value (see the file comment). Returns new; NULL when out of memory. */
static json_t *resolve_plain(const char *s, size_t len)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes",
                                        "YES",  "on",   "On",   "ON",  NULL};
    static const char *const falses[] = {"false", "False", "FALSE", "no",  "No",
                                         "NO",    "off",   "Off",   "OFF", NULL};
    if (strlen(s) != len) /* a NUL inside: only a string can hold it */
        return json_stringn(s, len);
    if (text_in(s, nulls))
        return json_null();
    if (text_in(s, trues))
        return json_true();
    if (text_in(s, falses))
        return json_false();

    const char *body = s + (*s == '-' || *s == '+');
    int base = 0;
    if (all_digits(body, "0123456789"))
        base = 10;
    else if (strncmp(body, "0x", 2) == 0 && all_digits(body + 2, "0123456789abcdefABCDEF"))
        base = 16;
    else if (strncmp(body, "0o", 2) == 0 && all_digits(body + 2, "01234567"))
        base = 8;
    if (base != 0) {
        char *end;
        errno = 0;
        long long v = strtoll(base == 10 ? s : body + 2, &end, base);
        if (errno == 0 && *end == '\0')
            return json_integer(*s == '-' && base != 10 ? -v : v);
        return json_stringn(s, len); /* out of range: leave it to the type check */
    }

    /* [-+]? (digits [. digits?] | . digits) ([eE] [-+]? digits)? with a '.' or an exponent */
    const char *p = body;
    size_t int_digits = strspn(p, "0123456789");
    p += int_digits;
    size_t frac_digits = 0;
    bool dot = *p == '.';
    if (dot) {
        p++;
        frac_digits = strspn(p, "0123456789");
        p += frac_digits;
    }
    bool exp = false;
    if ((*p == 'e' || *p == 'E') && int_digits + frac_digits > 0) {
        const char *q = p + 1 + (p[1] == '-' || p[1] == '+');
        size_t exp_digits = strspn(q, "0123456789");
        if (exp_digits > 0) {
            exp = true;
            p = q + exp_digits;
        }
    }
    if (*p == '\0' && (dot || exp) && int_digits + frac_digits > 0) {
        char *end;
        double d = strtod(s, &end);
        if (*end == '\0') {
            json_t *v = json_real(d); /* NULL for an overflow to inf */
            return v ? v : json_stringn(s, len);
        }
    }
    return json_stringn(s, len);
}

static json_t *fail_at(struct yaml_ctx *ctx, const yaml_node_t *node, const char *what)
{
    if (ctx->errstr_size)
        snprintf(ctx->errstr, ctx->errstr_size, "%s:%zu: %s", ctx->path, node->start_mark.line + 1,
                 what);
    return NULL;
}

static json_t *convert(struct yaml_ctx *ctx, yaml_node_t *node, int depth)
{
    if (depth > MAX_DEPTH)
        return fail_at(ctx, node, "values nested too deeply (an alias that contains itself?)");
    if (ctx->budget == 0)
        return fail_at(ctx, node, "too many values (aliases expanding without end?)");
    ctx->budget--;

    if (node->type == YAML_SCALAR_NODE) {
        const char *s = (const char *)node->data.scalar.value;
        size_t len = node->data.scalar.length;
        json_t *v = node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? resolve_plain(s, len)
                                                                       : json_stringn(s, len);
        return v ? v : fail_at(ctx, node, "out of memory");
    }
    if (node->type == YAML_SEQUENCE_NODE) {
        json_t *arr = json_array();
        if (arr == NULL)
            return fail_at(ctx, node, "out of memory");
        for (yaml_node_item_t *it = node->data.sequence.items.start;
             it < node->data.sequence.items.top; it++) {
            json_t *item = convert(ctx, yaml_document_get_node(ctx->doc, *it), depth + 1);
            if (item == NULL || json_array_append_new(arr, item) != 0) {
                json_decref(arr);
                return NULL;
            }
        }
        return arr;
    }
    if (node->type == YAML_MAPPING_NODE) {
        json_t *obj = json_object();
        if (obj == NULL)
            return fail_at(ctx, node, "out of memory");
        for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
             pair < node->data.mapping.pairs.top; pair++) {
            yaml_node_t *key = yaml_document_get_node(ctx->doc, pair->key);
            if (key->type != YAML_SCALAR_NODE) {
                json_decref(obj);
                return fail_at(ctx, key,
                               "a mapping key must be a plain name, not a list or "
                               "mapping");
            }
            json_t *value = convert(ctx, yaml_document_get_node(ctx->doc, pair->value), depth + 1);
            if (value == NULL || json_object_setn_new(obj, (const char *)key->data.scalar.value,
                                                      key->data.scalar.length, value) != 0) {
                json_decref(obj);
                return value ? fail_at(ctx, key, "a mapping key is not valid UTF-8") : NULL;
            }
        }
        return obj;
    }
    return fail_at(ctx, node, "empty node");
}

json_t *edxbus__conf_yaml_load(const char *path, json_t **lines, edxbus_err_t *err, char *errstr,
                               size_t errstr_size)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    json_t *out = NULL, *where = NULL;
    bool have_doc = false;
    struct yaml_ctx ctx = {&doc, path, MAX_NODES, errstr, errstr_size};

    *lines = NULL;
    *err = EDXBUS_ERR_CONF;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (errstr_size)
            edxbus_errf(errstr, errstr_size, "%s: cannot open: %s", path, strerror(errno));
        *err = EDXBUS_ERR_IO;
        return NULL;
    }
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        *err = EDXBUS_ERR_NOMEM;
        if (errstr_size)
            edxbus_errf(errstr, errstr_size, "%s: out of memory", path);
        return NULL;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        if (errstr_size)
            edxbus_errf(errstr, errstr_size, "%s:%zu: %s%s%s", path, parser.problem_mark.line + 1,
                        parser.problem ? parser.problem : "bad YAML", parser.context ? " " : "",
                        parser.context ? parser.context : "");
        goto out_parser;
    }
    have_doc = true;
    out = json_object();
    where = json_object();
    if (out == NULL || where == NULL) {
        *err = EDXBUS_ERR_NOMEM;
        goto fail;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root == NULL) /* an empty file: no settings */
        goto done;
    if (root->type != YAML_MAPPING_NODE) {
        fail_at(&ctx, root,
                "expected a mapping of setting names to values "
                "(EVENT_BUS_TOPIC_PREFIX: dev)");
        goto fail;
    }
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = yaml_document_get_node(&doc, pair->key);
        if (key->type != YAML_SCALAR_NODE) {
            fail_at(&ctx, key, "a setting name must be a plain name, not a list or mapping");
            goto fail;
        }
        json_t *value = convert(&ctx, yaml_document_get_node(&doc, pair->value), 1);
        if (value == NULL)
            goto fail;
        const char *name = (const char *)key->data.scalar.value;
        if (json_object_set_new(out, name, value) != 0 ||
            json_object_set_new(where, name, json_integer((json_int_t)key->start_mark.line + 1)) !=
                0) {
            fail_at(&ctx, key, "setting name is not valid UTF-8");
            goto fail;
        }
    }
done:
    *lines = where;
    *err = EDXBUS_OK;
    goto out_doc;
fail:
    json_decref(out);
    json_decref(where);
    out = NULL;
out_doc:
    if (have_doc)
        yaml_document_delete(&doc);
out_parser:
    yaml_parser_delete(&parser);
    fclose(f);
    return out;
}
