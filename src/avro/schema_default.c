/* src/avro/schema_default.c — does a field's "default" fit the field's type?
 *
 * The parser (schema.c) calls edxbus__avro_default_check() for every default it meets, so the
 * encoder can later write a default without checking it again. The rules are the Avro 1.11
 * ones: null for null, booleans, integers within int's 32 bits, any number for float and
 * double, strings for string, strings of code points U+0000..U+00FF for bytes and fixed (with
 * exactly `size` of them for fixed), a symbol for an enum, arrays and objects checked item by
 * item, an object for a record whose every field is given or has its own default, and for a
 * union a value of its FIRST branch.
 *
 * The walk is bounded by the default value (each level consumes one level of JSON; a union
 * never holds a union directly) and capped at EDXBUS_AVRO_MAX_DEPTH besides.
 * A record still being parsed (a recursive reference) is checked on the fields known so far.
 *
 * To add a type: add its case to check_default().
 */
#include <stdio.h>
#include <string.h>

#include "avro/schema_int.h"

const char *edxbus__avro_json_cstr(const json_t *json)
{
    const char *s = json_string_value(json);
    if (s == NULL || strlen(s) != json_string_length(json))
        return NULL;
    return s;
}

const char *edxbus__avro_json_kind(const json_t *json)
{
    switch (json_typeof(json)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return edxbus__avro_json_cstr(json) ? "string" : "string holding \\u0000";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "value";
}

/* Code points of UTF-8 @p s if every one is below 256 (bytes and fixed defaults are strings
 * whose code points are the bytes); -1 otherwise. jansson strings are valid UTF-8. */
static long long byte_string_length(const char *s, size_t len)
{
    long long n = 0;
    for (size_t i = 0; i < len; n++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            i++;
        } else if ((c == 0xc2 || c == 0xc3) && i + 1 < len) {
            i += 2;
        } else {
            return -1;
        }
    }
    return n;
}

/* Does @p value fit @p node as a default? On mismatch writes why (with the path inside the
 * default) to @p why and returns false. */
static bool check_default(const struct edxbus_avro_node *node, const json_t *value, int depth,
                          char *where, size_t where_len, char *why, size_t why_size)
{
    const char *at = where[0] ? " at " : "";
    bool ok = false;

    if (depth > EDXBUS_AVRO_MAX_DEPTH) {
        snprintf(why, why_size, "default nested deeper than %d levels", EDXBUS_AVRO_MAX_DEPTH);
        return false;
    }
    switch (node->type) {
    case EDXBUS_AVRO_NULL:
        ok = json_is_null(value);
        break;
    case EDXBUS_AVRO_BOOLEAN:
        ok = json_is_boolean(value);
        break;
    case EDXBUS_AVRO_INT:
        if (json_is_integer(value)) {
            json_int_t v = json_integer_value(value);
            if (v < INT32_MIN || v > INT32_MAX) {
                snprintf(why, why_size,
                         "default%s%s %" JSON_INTEGER_FORMAT " is out of range "
                         "for int",
                         at, where, v);
                return false;
            }
            ok = true;
        }
        break;
    case EDXBUS_AVRO_LONG:
        ok = json_is_integer(value);
        break;
    case EDXBUS_AVRO_FLOAT:
    case EDXBUS_AVRO_DOUBLE:
        ok = json_is_number(value);
        break;
    case EDXBUS_AVRO_STRING:
        ok = json_is_string(value);
        break;
    case EDXBUS_AVRO_BYTES:
    case EDXBUS_AVRO_FIXED:
        if (json_is_string(value)) {
            long long n = byte_string_length(json_string_value(value), json_string_length(value));
            if (n < 0) {
                snprintf(why, why_size,
                         "default%s%s has a character above \\u00ff, which is not "
                         "a byte",
                         at, where);
                return false;
            }
            if (node->type == EDXBUS_AVRO_FIXED && (size_t)n != node->u.fixed.size) {
                snprintf(why, why_size, "default%s%s has %lld bytes, fixed %s needs %zu", at, where,
                         n, node->name, node->u.fixed.size);
                return false;
            }
            ok = true;
        }
        break;
    case EDXBUS_AVRO_ENUM:
        if (json_is_string(value)) {
            for (size_t i = 0; i < node->u.enm.nsymbols; i++) {
                if (edxbus__avro_json_cstr(value) &&
                    strcmp(node->u.enm.symbols[i], edxbus__avro_json_cstr(value)) == 0)
                    return true;
            }
            snprintf(why, why_size, "default%s%s \"%s\" is not a symbol of enum %s", at, where,
                     json_string_value(value), node->name);
            return false;
        }
        break;
    case EDXBUS_AVRO_UNION:
        /* Avro 1.11: a union's default is a value of its first branch. */
        if (node->u.uni.nbranches == 0) {
            snprintf(why, why_size, "an empty union cannot have a default");
            return false;
        }
        return check_default(node->u.uni.branches[0], value, depth + 1, where, where_len, why,
                             why_size);
    case EDXBUS_AVRO_ARRAY:
        if (json_is_array(value)) {
            size_t len = strlen(where);
            for (size_t i = 0; i < json_array_size(value); i++) {
                snprintf(where + len, where_len - len, "[%zu]", i);
                if (!check_default(node->u.array.items, json_array_get(value, i), depth + 1, where,
                                   where_len, why, why_size))
                    return false;
            }
            where[len] = '\0';
            ok = true;
        }
        break;
    case EDXBUS_AVRO_MAP:
        if (json_is_object(value)) {
            size_t len = strlen(where);
            const char *key;
            json_t *item;
            json_object_foreach((json_t *)value, key, item)
            {
                snprintf(where + len, where_len - len, "[\"%s\"]", key);
                if (!check_default(node->u.map.values, item, depth + 1, where, where_len, why,
                                   why_size))
                    return false;
            }
            where[len] = '\0';
            ok = true;
        }
        break;
    case EDXBUS_AVRO_RECORD:
        if (json_is_object(value)) {
            size_t len = strlen(where);
            for (size_t i = 0; i < node->u.record.nfields; i++) {
                const struct edxbus_avro_field *field = &node->u.record.fields[i];
                const json_t *item = json_object_get(value, field->name);
                if (field->type == NULL) /* still being parsed (a recursive reference) */
                    continue;
                snprintf(where + len, where_len - len, "%s%s", len ? "." : "", field->name);
                if (item == NULL) {
                    if (field->default_value != NULL)
                        continue;
                    snprintf(why, why_size, "default is missing %s, which has no default", where);
                    return false;
                }
                if (!check_default(field->type, item, depth + 1, where, where_len, why, why_size))
                    return false;
            }
            where[len] = '\0';
            ok = true;
        }
        break;
    }
    if (!ok) {
        const char *tname = node->name ? node->name : edxbus__avro_type_name(node->type);
        snprintf(why, why_size, "default%s%s does not match %s%s%s: got %s", at, where,
                 node->name ? edxbus__avro_type_name(node->type) : "", node->name ? " " : "", tname,
                 edxbus__avro_json_kind(value));
    }
    return ok;
}

bool edxbus__avro_default_check(const struct edxbus_avro_node *node, const json_t *value, char *why,
                                size_t why_size)
{
    char where[128] = "";
    return check_default(node, value, 0, where, sizeof where, why, why_size);
}
