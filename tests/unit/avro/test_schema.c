/* Schema parsing (src/avro/schema.c): every type, names and namespaces, references, recursion,
 * defaults, and for each class of invalid schema an error line that names the place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro/avro_int.h"
#include "test.h"

static char errstr[EDXBUS_ERRSTR_SIZE];

static edxbus_avro_schema_t *parse(const char *text)
{
    errstr[0] = '\0';
    edxbus_avro_schema_t *schema =
        edxbus_avro_schema_parse(text, strlen(text), errstr, sizeof errstr);
    if (schema == NULL)
        fprintf(stderr, "  (parse error: %s)\n", errstr);
    return schema;
}

/* Parse @p text, expecting failure; returns the error line (static), or NULL if it parsed. */
static const char *parse_err(const char *text)
{
    errstr[0] = '\0';
    edxbus_avro_schema_t *schema =
        edxbus_avro_schema_parse(text, strlen(text), errstr, sizeof errstr);
    if (schema != NULL) {
        edxbus_avro_schema_destroy(schema);
        fprintf(stderr, "  (parsed, but should not have: %s)\n", text);
        return NULL;
    }
    if (strchr(errstr, '\n') != NULL || strncmp(errstr, "schema: ", 8) != 0)
        return "(error not one line starting with \"schema: \")";
    return errstr;
}

/* A record R with one field "f" of type @p type (JSON text) and the given extra field
 * attributes, e.g. record_with("\"int\"", ", \"default\": 1"). */
static const char *record_with(const char *type, const char *extra)
{
    static char text[2048];
    snprintf(text, sizeof text,
             "{\"type\": \"record\", \"name\": \"R\", \"fields\": [{\"name\": \"f\", "
             "\"type\": %s%s}]}",
             type, extra);
    return text;
}

/* ---------------------------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------------------------- */

TEST(test_every_primitive_parses_in_both_forms)
{
    static const char *names[] = {"null",  "boolean", "int",   "long",
                                  "float", "double",  "bytes", "string"};
    for (int i = 0; i < 8; i++) {
        char text[128];
        snprintf(text, sizeof text, "\"%s\"", names[i]);
        edxbus_avro_schema_t *schema = parse(text);
        ASSERT_TRUE(schema != NULL);
        ASSERT_EQ_INT(schema->root->type, EDXBUS_AVRO_NULL + i);
        ASSERT_TRUE(schema->root->name == NULL);
        edxbus_avro_schema_destroy(schema);

        snprintf(text, sizeof text, "{\"type\": \"%s\", \"logicalType\": \"x\", \"extra\": [1]}",
                 names[i]);
        schema = parse(text);
        ASSERT_TRUE(schema != NULL);
        ASSERT_EQ_INT(schema->root->type, EDXBUS_AVRO_NULL + i);
        ASSERT_EQ_STR(edxbus__avro_type_name(schema->root->type), names[i]);
        edxbus_avro_schema_destroy(schema);
    }
}

TEST(test_record_with_all_attributes)
{
    edxbus_avro_schema_t *schema = parse(
        "{\"type\": \"record\", \"name\": \"UserData\", \"namespace\": \"org.x\", \"doc\": \"a "
        "user\", \"aliases\": [\"Person\", \"old.User\"], \"fields\": ["
        "{\"name\": \"id\", \"type\": \"long\", \"doc\": \"the id\", \"aliases\": [\"uid\"], "
        "\"order\": \"descending\"},"
        "{\"name\": \"name\", \"type\": [\"null\", \"string\"], \"default\": null},"
        "{\"name\": \"tags\", \"type\": {\"type\": \"array\", \"items\": \"string\"}, "
        "\"default\": [\"a\", \"b\"]}]}");
    ASSERT_TRUE(schema != NULL);
    struct edxbus_avro_node *rec = schema->root;
    ASSERT_EQ_INT(rec->type, EDXBUS_AVRO_RECORD);
    ASSERT_EQ_STR(rec->name, "org.x.UserData");
    ASSERT_EQ_STR(rec->doc, "a user");
    ASSERT_EQ_STR(rec->aliases[0], "org.x.Person");
    ASSERT_EQ_STR(rec->aliases[1], "old.User");
    ASSERT_TRUE(rec->aliases[2] == NULL);
    ASSERT_EQ_UINT(rec->u.record.nfields, 3);

    struct edxbus_avro_field *id = edxbus__avro_record_field(rec, "id");
    ASSERT_TRUE(id == &rec->u.record.fields[0]);
    ASSERT_EQ_STR(id->doc, "the id");
    ASSERT_EQ_STR(id->aliases[0], "uid");
    ASSERT_TRUE(id->aliases[1] == NULL);
    ASSERT_EQ_INT(id->type->type, EDXBUS_AVRO_LONG);
    ASSERT_TRUE(id->default_value == NULL);
    ASSERT_TRUE(id->check == NULL);

    struct edxbus_avro_field *name = edxbus__avro_record_field(rec, "name");
    ASSERT_EQ_INT(name->type->type, EDXBUS_AVRO_UNION);
    ASSERT_EQ_UINT(name->type->u.uni.nbranches, 2);
    ASSERT_EQ_INT(name->type->u.uni.branches[0]->type, EDXBUS_AVRO_NULL);
    ASSERT_EQ_INT(name->type->u.uni.branches[1]->type, EDXBUS_AVRO_STRING);
    ASSERT_TRUE(json_is_null(name->default_value));
    ASSERT_TRUE(name->doc == NULL && name->aliases == NULL);

    struct edxbus_avro_field *tags = edxbus__avro_record_field(rec, "tags");
    ASSERT_EQ_INT(tags->type->type, EDXBUS_AVRO_ARRAY);
    ASSERT_EQ_INT(tags->type->u.array.items->type, EDXBUS_AVRO_STRING);
    ASSERT_EQ_UINT(json_array_size(tags->default_value), 2);

    ASSERT_TRUE(edxbus__avro_record_field(rec, "nope") == NULL);
    ASSERT_TRUE(edxbus__avro_record_field(id->type, "id") == NULL);
    ASSERT_TRUE(edxbus__avro_schema_lookup(schema, "org.x.UserData") == rec);
    ASSERT_TRUE(edxbus__avro_schema_lookup(schema, "UserData") == NULL);
    edxbus_avro_schema_destroy(schema);
}

TEST(test_empty_record)
{
    edxbus_avro_schema_t *schema = parse("{\"type\": \"record\", \"name\": \"E\", \"fields\": []}");
    ASSERT_TRUE(schema != NULL);
    ASSERT_EQ_UINT(schema->root->u.record.nfields, 0);
    edxbus_avro_schema_destroy(schema);
}

TEST(test_enum_array_map_fixed)
{
    edxbus_avro_schema_t *schema = parse(
        "{\"type\": \"record\", \"name\": \"T\", \"fields\": ["
        "{\"name\": \"suit\", \"type\": {\"type\": \"enum\", \"name\": \"Suit\", \"symbols\": "
        "[\"SPADES\", \"HEARTS\", \"_x9\"], \"default\": \"HEARTS\", \"doc\": \"d\"}},"
        "{\"name\": \"counts\", \"type\": {\"type\": \"map\", \"values\": \"long\"}},"
        "{\"name\": \"hashes\", \"type\": {\"type\": \"array\", \"items\": "
        "{\"type\": \"fixed\", \"name\": \"Md5\", \"size\": 16}}},"
        "{\"name\": \"empty\", \"type\": {\"type\": \"fixed\", \"name\": \"Zero\", \"size\": "
        "0}}]}");
    ASSERT_TRUE(schema != NULL);
    struct edxbus_avro_node *suit = schema->root->u.record.fields[0].type;
    ASSERT_EQ_INT(suit->type, EDXBUS_AVRO_ENUM);
    ASSERT_EQ_STR(suit->name, "Suit");
    ASSERT_EQ_STR(suit->doc, "d");
    ASSERT_EQ_UINT(suit->u.enm.nsymbols, 3);
    ASSERT_EQ_STR(suit->u.enm.symbols[2], "_x9");
    ASSERT_EQ_STR(suit->u.enm.default_symbol, "HEARTS");

    struct edxbus_avro_node *counts = schema->root->u.record.fields[1].type;
    ASSERT_EQ_INT(counts->type, EDXBUS_AVRO_MAP);
    ASSERT_EQ_INT(counts->u.map.values->type, EDXBUS_AVRO_LONG);

    struct edxbus_avro_node *md5 = schema->root->u.record.fields[2].type->u.array.items;
    ASSERT_EQ_INT(md5->type, EDXBUS_AVRO_FIXED);
    ASSERT_EQ_UINT(md5->u.fixed.size, 16);
    ASSERT_TRUE(edxbus__avro_schema_lookup(schema, "Md5") == md5);
    ASSERT_EQ_UINT(edxbus__avro_schema_lookup(schema, "Zero")->u.fixed.size, 0);
    edxbus_avro_schema_destroy(schema);
}

TEST(test_unions)
{
    edxbus_avro_schema_t *schema =
        parse("[\"null\", \"int\", \"string\", {\"type\": \"array\", \"items\": \"int\"}, "
              "{\"type\": \"map\", \"values\": \"int\"}, {\"type\": \"record\", \"name\": \"A\", "
              "\"fields\": []}, {\"type\": \"record\", \"name\": \"B\", \"fields\": []}, "
              "{\"type\": \"fixed\", \"name\": \"F\", \"size\": 2}]");
    ASSERT_TRUE(schema != NULL);
    ASSERT_EQ_INT(schema->root->type, EDXBUS_AVRO_UNION);
    ASSERT_EQ_UINT(schema->root->u.uni.nbranches, 8);
    ASSERT_EQ_STR(schema->root->u.uni.branches[6]->name, "B");
    edxbus_avro_schema_destroy(schema);

    /* The specification does not forbid an empty union. */
    schema = parse("[]");
    ASSERT_TRUE(schema != NULL);
    ASSERT_EQ_UINT(schema->root->u.uni.nbranches, 0);
    edxbus_avro_schema_destroy(schema);
}

/* ---------------------------------------------------------------------------------------------
 * Names, namespaces, references
 * ------------------------------------------------------------------------------------------- */

TEST(test_namespace_inheritance)
{
    edxbus_avro_schema_t *schema = parse(
        "{\"type\": \"record\", \"name\": \"Outer\", \"namespace\": \"a.b\", \"fields\": ["
        "{\"name\": \"inherits\", \"type\": {\"type\": \"enum\", \"name\": \"E\", "
        "\"symbols\": [\"X\"]}},"
        "{\"name\": \"explicit\", \"type\": {\"type\": \"record\", \"name\": \"In\", "
        "\"namespace\": \"c\", \"fields\": [{\"name\": \"deep\", \"type\": {\"type\": "
        "\"fixed\", \"name\": \"D\", \"size\": 1}}]}},"
        "{\"name\": \"dotted\", \"type\": {\"type\": \"record\", \"name\": \"x.y.Dot\", "
        "\"namespace\": \"ignored\", \"fields\": [{\"name\": \"z\", \"type\": {\"type\": \"enum\", "
        "\"name\": \"Z\", \"symbols\": []}}]}},"
        "{\"name\": \"nullns\", \"type\": {\"type\": \"record\", \"name\": \"Top\", "
        "\"namespace\": \"\", \"fields\": [{\"name\": \"t\", \"type\": {\"type\": \"fixed\", "
        "\"name\": \"T2\", \"size\": 1}}]}}]}");
    ASSERT_TRUE(schema != NULL);
    ASSERT_EQ_STR(schema->root->name, "a.b.Outer");
    ASSERT_TRUE(edxbus__avro_schema_lookup(schema, "a.b.E") != NULL);
    ASSERT_TRUE(edxbus__avro_schema_lookup(schema, "c.In") != NULL);
    ASSERT_TRUE(edxbus__avro_schema_lookup(schema, "c.D") != NULL);
    ASSERT_TRUE(edxbus__avro_schema_lookup(schema, "x.y.Dot") != NULL);
    ASSERT_TRUE(edxbus__avro_schema_lookup(schema, "x.y.Z") != NULL);
    ASSERT_TRUE(edxbus__avro_schema_lookup(schema, "Top") != NULL);
    ASSERT_TRUE(edxbus__avro_schema_lookup(schema, "T2") != NULL);
    ASSERT_TRUE(edxbus__avro_schema_lookup(schema, "a.b.Top") == NULL);
    edxbus_avro_schema_destroy(schema);
}

/* Unqualified references look in the enclosing namespace first, then take the name as given. */
TEST(test_reference_resolution)
{
    edxbus_avro_schema_t *schema =
        parse("{\"type\": \"record\", \"name\": \"Root\", \"fields\": ["
              "{\"name\": \"global\", \"type\": {\"type\": \"enum\", \"name\": \"X\", \"symbols\": "
              "[\"G\"]}},"
              "{\"name\": \"inner\", \"type\": {\"type\": \"record\", \"name\": \"Inner\", "
              "\"namespace\": \"a\", \"fields\": ["
              "{\"name\": \"before\", \"type\": \"X\"},"
              "{\"name\": \"local\", \"type\": {\"type\": \"enum\", \"name\": \"X\", \"symbols\": "
              "[\"L\"]}},"
              "{\"name\": \"after\", \"type\": \"X\"},"
              "{\"name\": \"full\", \"type\": \"Root\"},"
              "{\"name\": \"obj\", \"type\": {\"type\": \"X\"}}]}}]}");
    ASSERT_TRUE(schema != NULL);
    struct edxbus_avro_node *global = edxbus__avro_schema_lookup(schema, "X");
    struct edxbus_avro_node *local = edxbus__avro_schema_lookup(schema, "a.X");
    struct edxbus_avro_node *inner = edxbus__avro_schema_lookup(schema, "a.Inner");
    ASSERT_TRUE(global != NULL && local != NULL && inner != NULL && global != local);
    ASSERT_TRUE(edxbus__avro_record_field(inner, "before")->type == global);
    ASSERT_TRUE(edxbus__avro_record_field(inner, "local")->type == local);
    ASSERT_TRUE(edxbus__avro_record_field(inner, "after")->type == local);
    ASSERT_TRUE(edxbus__avro_record_field(inner, "full")->type == schema->root);
    ASSERT_TRUE(edxbus__avro_record_field(inner, "obj")->type == local);
    edxbus_avro_schema_destroy(schema);
}

TEST(test_recursive_record)
{
    edxbus_avro_schema_t *schema =
        parse("{\"type\": \"record\", \"name\": \"Node\", \"namespace\": \"list\", \"fields\": ["
              "{\"name\": \"value\", \"type\": \"long\"},"
              "{\"name\": \"next\", \"type\": [\"null\", \"Node\"], \"default\": null},"
              "{\"name\": \"children\", \"type\": {\"type\": \"array\", \"items\": \"list.Node\"}, "
              "\"default\": []}]}");
    ASSERT_TRUE(schema != NULL);
    struct edxbus_avro_node *node = schema->root;
    ASSERT_TRUE(node->u.record.fields[1].type->u.uni.branches[1] == node);
    ASSERT_TRUE(node->u.record.fields[2].type->u.array.items == node);
    edxbus_avro_schema_destroy(schema);
}

/* The catalog: every one of the 72 generated schemas must parse. */
TEST(test_every_catalog_schema_parses)
{
    FILE *f = fopen(EDXBUS_TEST_DATA_DIR "/schemas_generated.jsonl", "r");
    char *line = NULL;
    size_t cap = 0;
    int rows = 0, parsed = 0;

    ASSERT_TRUE(f != NULL);
    while (getline(&line, &cap, f) > 0) {
        json_t *row = json_loads(line, 0, NULL);
        const char *text = json_string_value(json_object_get(row, "schema_string"));
        edxbus_avro_schema_t *schema = text ? parse(text) : NULL;
        rows++;
        if (schema != NULL && schema->root->type == EDXBUS_AVRO_RECORD &&
            strstr(schema->root->name, ".CloudEvent") != NULL)
            parsed++;
        else
            fprintf(stderr, "  catalog row %d did not parse: %s\n", rows, errstr);
        edxbus_avro_schema_destroy(schema);
        json_decref(row);
    }
    free(line);
    fclose(f);
    ASSERT_EQ_INT(rows, 72);
    ASSERT_EQ_INT(parsed, 72);
}

/* ---------------------------------------------------------------------------------------------
 * Defaults
 * ------------------------------------------------------------------------------------------- */

TEST(test_valid_defaults)
{
    static const char *ok[][2] = {
        {"\"null\"", "null"},
        {"\"boolean\"", "false"},
        {"\"int\"", "-2147483648"},
        {"\"int\"", "2147483647"},
        {"\"long\"", "-9223372036854775808"},
        {"\"float\"", "1"},
        {"\"double\"", "-1.5e300"},
        {"\"bytes\"", "\"\\u0000\\u00ff\""},
        {"\"string\"", "\"caf\\u00e9 \\ud83d\\ude00\""},
        {"{\"type\": \"fixed\", \"name\": \"F\", \"size\": 2}", "\"\\u00ffa\""},
        {"{\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"A\", \"B\"]}", "\"B\""},
        {"{\"type\": \"array\", \"items\": \"int\"}", "[1, 2, 3]"},
        {"{\"type\": \"map\", \"values\": \"string\"}", "{\"k\": \"v\"}"},
        {"[\"null\", \"string\"]", "null"},
        {"[\"string\", \"null\"]", "\"x\""},
        {"[{\"type\": \"array\", \"items\": \"long\"}, \"null\"]", "[7]"},
        {"{\"type\": \"record\", \"name\": \"In\", \"fields\": [{\"name\": \"a\", \"type\": "
         "\"int\"}, {\"name\": \"b\", \"type\": \"string\", \"default\": \"x\"}]}",
         "{\"a\": 1}"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char extra[256];
        snprintf(extra, sizeof extra, ", \"default\": %s", ok[i][1]);
        edxbus_avro_schema_t *schema = parse(record_with(ok[i][0], extra));
        if (schema == NULL)
            TEST_FAIL_("default %s for %s rejected: %s", ok[i][1], ok[i][0], errstr);
        json_t *want = json_loads(ok[i][1], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        ASSERT_TRUE(json_equal(schema->root->u.record.fields[0].default_value, want));
        json_decref(want);
        edxbus_avro_schema_destroy(schema);
    }
}

TEST(test_invalid_defaults)
{
    static const char *bad[][3] = {
        {"\"null\"", "0", "default does not match null: got integer"},
        {"\"string\"", "null", "default does not match string: got null"},
        {"\"boolean\"", "\"true\"", "does not match boolean"},
        {"\"int\"", "2147483648", "default 2147483648 is out of range for int"},
        {"\"int\"", "1.5", "does not match int: got number"},
        {"\"long\"", "\"1\"", "does not match long: got string"},
        {"\"double\"", "\"NaN\"", "does not match double"},
        {"\"bytes\"", "\"\\u0100\"", "not a byte"},
        {"{\"type\": \"fixed\", \"name\": \"F\", \"size\": 2}", "\"abc\"",
         "has 3 bytes, fixed F needs 2"},
        {"{\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"A\"]}", "\"Z\"",
         "\"Z\" is not a symbol of enum E"},
        {"{\"type\": \"array\", \"items\": \"int\"}", "[1, \"x\"]",
         "default at [1] does not match int"},
        {"{\"type\": \"map\", \"values\": \"int\"}", "{\"k\": null}",
         "default at [\"k\"] does not match int"},
        /* Avro 1.11: a union's default must match its FIRST branch. */
        {"[\"null\", \"string\"]", "\"x\"", "does not match null: got string"},
        {"[\"string\", \"null\"]", "null", "does not match string: got null"},
        {"{\"type\": \"record\", \"name\": \"In\", \"fields\": [{\"name\": \"a\", \"type\": "
         "\"int\"}]}",
         "{}", "default is missing a, which has no default"},
        {"{\"type\": \"record\", \"name\": \"In\", \"fields\": [{\"name\": \"a\", \"type\": "
         "{\"type\": \"array\", \"items\": \"int\"}}]}",
         "{\"a\": [true]}", "default at a[0] does not match int: got boolean"},
        {"{\"type\": \"record\", \"name\": \"In\", \"fields\": []}", "[]",
         "does not match record In: got array"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char extra[256];
        snprintf(extra, sizeof extra, ", \"default\": %s", bad[i][1]);
        const char *err = parse_err(record_with(bad[i][0], extra));
        ASSERT_CONTAINS(err, "schema: R.fields[0] \"f\": ");
        ASSERT_CONTAINS(err, bad[i][2]);
    }
}

TEST(test_enum_default)
{
    ASSERT_CONTAINS(parse_err("{\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"A\"], "
                              "\"default\": \"B\"}"),
                    "schema: E: enum default \"B\" is not one of its symbols");
    ASSERT_CONTAINS(parse_err("{\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"A\"], "
                              "\"default\": 0}"),
                    "enum default integer is not one of its symbols");
}

/* from_json borrows its input: the schema keeps its own copy of each default. */
TEST(test_from_json_copies_defaults)
{
    json_t *json = json_loads("{\"type\": \"record\", \"name\": \"R\", \"fields\": [{\"name\": "
                              "\"f\", \"type\": {\"type\": \"array\", \"items\": \"int\"}, "
                              "\"default\": [1]}]}",
                              0, NULL);
    ASSERT_TRUE(json != NULL);
    edxbus_avro_schema_t *schema = edxbus_avro_schema_from_json(json, errstr, sizeof errstr);
    ASSERT_TRUE(schema != NULL);
    json_t *def = schema->root->u.record.fields[0].default_value;
    ASSERT_TRUE(def !=
                json_object_get(json_array_get(json_object_get(json, "fields"), 0), "default"));
    json_decref(json);
    ASSERT_EQ_INT(json_integer_value(json_array_get(def, 0)), 1);
    edxbus_avro_schema_destroy(schema);
}

/* ---------------------------------------------------------------------------------------------
 * Errors: each names the place
 * ------------------------------------------------------------------------------------------- */

TEST(test_error_invalid_json)
{
    ASSERT_CONTAINS(parse_err("{\n  \"type\": \"record\",\n  \"name\": ,\n}"),
                    "schema: invalid JSON at line 3 column");
    ASSERT_CONTAINS(parse_err(""), "schema: invalid JSON");
    /* Duplicate keys are ambiguous: parsers disagree on which one wins. */
    ASSERT_CONTAINS(parse_err("{\"type\": \"int\", \"type\": \"long\"}"), "duplicate");
    /* The length is honoured: the text need not be NUL-terminated. */
    edxbus_avro_schema_t *schema =
        edxbus_avro_schema_parse("\"int\"garbage", 5, errstr, sizeof errstr);
    ASSERT_TRUE(schema != NULL);
    edxbus_avro_schema_destroy(schema);
}

TEST(test_error_unknown_type)
{
    ASSERT_CONTAINS(
        parse_err("{\"type\": \"record\", \"name\": \"CloudEvent\", \"fields\": ["
                  "{\"name\": \"a\", \"type\": \"int\"}, {\"name\": \"b\", \"type\": \"int\"}, "
                  "{\"name\": \"mode\", \"type\": \"strng\"}]}"),
        "schema: CloudEvent.fields[2] \"mode\": unknown type \"strng\"");
    ASSERT_CONTAINS(parse_err("\"strng\""), "schema: unknown type \"strng\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"Nope\"}"), "unknown type \"Nope\"");
    /* "error" is a record only inside protocols. */
    ASSERT_CONTAINS(parse_err("{\"type\": \"error\", \"name\": \"E\", \"fields\": []}"),
                    "unknown type \"error\"");
    /* A name must be defined before it is used. */
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"name\": \"R\", \"fields\": ["
                              "{\"name\": \"a\", \"type\": \"Later\"},"
                              "{\"name\": \"b\", \"type\": {\"type\": \"fixed\", \"name\": "
                              "\"Later\", \"size\": 1}}]}"),
                    "schema: R.fields[0] \"a\": unknown type \"Later\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"array\", \"items\": {\"type\": \"map\", "
                              "\"values\": [\"null\", \"lng\"]}}"),
                    "schema: items.values.union[1]: unknown type \"lng\"");
}

TEST(test_error_type_shape)
{
    ASSERT_CONTAINS(parse_err("42"), "schema: a type must be a name, an object or an array, "
                                     "got integer");
    ASSERT_CONTAINS(parse_err("{\"name\": \"x\"}"), "schema: missing \"type\"");
    ASSERT_CONTAINS(parse_err("{\"type\": {\"type\": \"int\"}}"),
                    "schema: \"type\" must be a string, got object");
    ASSERT_CONTAINS(parse_err(record_with("null", "")),
                    "schema: R.fields[0] \"f\": a type must be a name");
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"name\": \"R\", \"fields\": [{\"name\": "
                              "\"f\"}]}"),
                    "schema: R.fields[0] \"f\": field is missing \"type\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"name\": \"R\", \"fields\": [\"int\"]}"),
                    "schema: R.fields[0]: a field must be an object, got string");
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"name\": \"R\", \"fields\": [{\"type\": "
                              "\"int\"}]}"),
                    "schema: R.fields[0]: field is missing \"name\"");
    ASSERT_CONTAINS(parse_err(record_with("\"int\"", ", \"order\": \"up\"")),
                    "schema: R.fields[0] \"f\": \"order\" must be");
    ASSERT_CONTAINS(parse_err(record_with("\"int\"", ", \"aliases\": \"g\"")),
                    "schema: R.fields[0] \"f\": \"aliases\" must be an array");
    ASSERT_CONTAINS(parse_err(record_with("\"int\"", ", \"aliases\": [\"a.b\"]")),
                    "invalid alias \"a.b\"");
}

TEST(test_error_missing_parts)
{
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"fields\": []}"),
                    "schema: record is missing \"name\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"enum\", \"symbols\": []}"),
                    "schema: enum is missing \"name\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"fixed\", \"size\": 1}"),
                    "schema: fixed is missing \"name\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"name\": 5, \"fields\": []}"),
                    "record \"name\" must be a string, got integer");
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"name\": \"R\"}"),
                    "schema: R: record is missing \"fields\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"name\": \"R\", \"fields\": {}}"),
                    "schema: R: \"fields\" must be an array, got object");
    ASSERT_CONTAINS(parse_err("{\"type\": \"enum\", \"name\": \"E\"}"),
                    "schema: E: enum is missing \"symbols\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"array\"}"), "schema: array is missing \"items\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"map\"}"), "schema: map is missing \"values\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"fixed\", \"name\": \"F\"}"),
                    "schema: F: fixed is missing \"size\"");
}

TEST(test_error_fixed_size)
{
    ASSERT_CONTAINS(parse_err("{\"type\": \"fixed\", \"name\": \"F\", \"size\": -1}"),
                    "schema: F: \"size\" must be a non-negative integer");
    ASSERT_CONTAINS(parse_err("{\"type\": \"fixed\", \"name\": \"F\", \"size\": \"16\"}"),
                    "\"size\" must be a non-negative integer, got string");
    ASSERT_CONTAINS(parse_err("{\"type\": \"fixed\", \"name\": \"F\", \"size\": 16.0}"),
                    "got number");
    ASSERT_CONTAINS(parse_err("{\"type\": \"fixed\", \"name\": \"F\", \"size\": 4294967296}"),
                    "schema: F: \"size\" 4294967296 is too large");
}

TEST(test_error_bad_names)
{
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"name\": \"1abc\", \"fields\": []}"),
                    "schema: invalid record name \"1abc\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"name\": \"a-b\", \"fields\": []}"),
                    "invalid record name \"a-b\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"name\": \"a..b\", \"fields\": []}"),
                    "invalid record name \"a..b\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"enum\", \"name\": \"\", \"symbols\": []}"),
                    "invalid enum name \"\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"fixed\", \"name\": \"F\", \"namespace\": \"a..b\", "
                              "\"size\": 1}"),
                    "fixed F: invalid namespace \"a..b\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"fixed\", \"name\": \"F\", \"namespace\": 3, "
                              "\"size\": 1}"),
                    "fixed F: \"namespace\" must be a string, got integer");
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"name\": \"R\", \"fields\": [{\"name\": "
                              "\"a.b\", \"type\": \"int\"}]}"),
                    "schema: R.fields[0] \"a.b\": invalid field name \"a.b\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"A\", "
                              "\"9\"]}"),
                    "schema: E: invalid symbol \"9\"");
    ASSERT_CONTAINS(parse_err("{\"type\": \"enum\", \"name\": \"E\", \"symbols\": [1]}"),
                    "schema: E: symbols[0] must be a string, got integer");
    /* openedx-events writes hyphens in namespaces; they are tolerated there only. */
    edxbus_avro_schema_t *schema = parse("{\"type\": \"record\", \"name\": \"R\", "
                                         "\"namespace\": \"org.x.redemption-reversed.v1\", "
                                         "\"fields\": []}");
    ASSERT_TRUE(schema != NULL);
    ASSERT_EQ_STR(schema->root->name, "org.x.redemption-reversed.v1.R");
    edxbus_avro_schema_destroy(schema);
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"name\": \"R\", \"namespace\": \"-x\", "
                              "\"fields\": []}"),
                    "invalid namespace \"-x\"");
}

/* Error lines stay one line even when they quote names holding control characters. */
TEST(test_error_is_one_line)
{
    const char *err = parse_err("{\"type\": \"record\", \"name\": \"R\", \"fields\": [{\"name\": "
                                "\"a\\nb\", \"type\": \"int\"}]}");
    ASSERT_CONTAINS(err, "invalid field name \"a?b\"");
}

TEST(test_error_duplicates)
{
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"name\": \"UserData\", \"fields\": ["
                              "{\"name\": \"id\", \"type\": \"long\"},"
                              "{\"name\": \"id\", \"type\": \"string\"}]}"),
                    "schema: UserData.fields[1] \"id\": duplicate field \"id\" in record "
                    "UserData");
    ASSERT_CONTAINS(parse_err("{\"type\": \"enum\", \"name\": \"E\", \"symbols\": [\"A\", "
                              "\"B\", \"A\"]}"),
                    "schema: E: duplicate symbol \"A\" in enum E");
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"name\": \"R\", \"namespace\": \"n\", "
                              "\"fields\": [{\"name\": \"a\", \"type\": {\"type\": \"fixed\", "
                              "\"name\": \"R\", \"size\": 1}}]}"),
                    "schema: R.fields[0] \"a\": redefinition of fixed \"n.R\"");
    /* Same short name in another namespace is a different type. */
    edxbus_avro_schema_t *schema =
        parse("{\"type\": \"record\", \"name\": \"R\", \"namespace\": "
              "\"n\", \"fields\": [{\"name\": \"a\", \"type\": "
              "{\"type\": \"fixed\", \"name\": \"m.R\", \"size\": 1}}]}");
    ASSERT_TRUE(schema != NULL);
    edxbus_avro_schema_destroy(schema);
}

TEST(test_error_primitive_redefinition)
{
    ASSERT_CONTAINS(parse_err("{\"type\": \"record\", \"name\": \"string\", \"fields\": []}"),
                    "schema: record name \"string\" is a primitive type name");
    ASSERT_CONTAINS(parse_err("{\"type\": \"fixed\", \"name\": \"a.int\", \"size\": 4}"),
                    "fixed name \"a.int\" is a primitive type name");
    ASSERT_CONTAINS(parse_err("{\"type\": \"enum\", \"name\": \"null\", \"namespace\": \"x\", "
                              "\"symbols\": []}"),
                    "enum name \"null\" is a primitive type name");
}

TEST(test_error_unions)
{
    ASSERT_CONTAINS(parse_err(record_with("[\"null\", [\"int\"]]", "")),
                    "schema: R.fields[0] \"f\".union[1]: a union may not directly contain "
                    "another union");
    ASSERT_CONTAINS(parse_err(record_with("[\"string\", \"int\", {\"type\": \"string\"}]", "")),
                    "schema: R.fields[0] \"f\".union[2]: union already has a \"string\" branch "
                    "(union[0])");
    ASSERT_CONTAINS(parse_err("[{\"type\": \"array\", \"items\": \"int\"}, {\"type\": \"array\", "
                              "\"items\": \"long\"}]"),
                    "schema: union[1]: union already has a \"array\" branch");
    ASSERT_CONTAINS(parse_err("[{\"type\": \"map\", \"values\": \"int\"}, {\"type\": \"map\", "
                              "\"values\": \"long\"}]"),
                    "union already has a \"map\" branch");
    ASSERT_CONTAINS(parse_err("[{\"type\": \"enum\", \"name\": \"E\", \"symbols\": []}, \"E\"]"),
                    "schema: union[1]: union already has a branch named \"E\" (union[0])");
    /* Two different named types of the same kind are fine. */
    edxbus_avro_schema_t *schema = parse("[{\"type\": \"enum\", \"name\": \"E\", \"symbols\": "
                                         "[]}, {\"type\": \"enum\", \"name\": \"F\", \"symbols\": "
                                         "[]}]");
    ASSERT_TRUE(schema != NULL);
    edxbus_avro_schema_destroy(schema);
}

/* Hostile nesting: the parser stops at EDXBUS_AVRO_MAX_DEPTH instead of exhausting the stack. */
TEST(test_error_depth_cap)
{
    static char text[32768];
    size_t len = 0;
    int levels = 1000; /* 25 bytes each */

    for (int i = 0; i < levels; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "{\"type\":\"array\",\"items\":");
    len += (size_t)snprintf(text + len, sizeof text - len, "\"int\"");
    for (int i = 0; i < levels; i++)
        text[len++] = '}';
    text[len] = '\0';
    ASSERT_TRUE(len < sizeof text - 1);
    ASSERT_CONTAINS(parse_err(text), "nested deeper than 64 levels");

    /* 60 levels are fine. */
    len = 0;
    for (int i = 0; i < 60; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "{\"type\":\"map\",\"values\":");
    len += (size_t)snprintf(text + len, sizeof text - len, "\"int\"");
    for (int i = 0; i < 60; i++)
        text[len++] = '}';
    text[len] = '\0';
    edxbus_avro_schema_t *schema = parse(text);
    ASSERT_TRUE(schema != NULL);
    edxbus_avro_schema_destroy(schema);
}

TEST(test_null_arguments)
{
    edxbus_avro_schema_destroy(NULL);
    ASSERT_TRUE(edxbus_avro_schema_parse("\"x\"", 3, NULL, 0) == NULL);
    ASSERT_TRUE(edxbus_avro_schema_parse(NULL, 0, errstr, sizeof errstr) == NULL);
    ASSERT_TRUE(edxbus_avro_schema_from_json(NULL, errstr, sizeof errstr) == NULL);
    ASSERT_CONTAINS(errstr, "schema: ");
    /* A tiny buffer is truncated, never overrun. */
    char small[8];
    ASSERT_TRUE(edxbus_avro_schema_parse("\"strng\"", 7, small, sizeof small) == NULL);
    ASSERT_EQ_STR(small, "schema:");
    ASSERT_EQ_STR(edxbus__avro_type_name(EDXBUS_AVRO_FIXED), "fixed");
    ASSERT_EQ_STR(edxbus__avro_type_name((edxbus_avro_type_t)99), "unknown");
}

int main(void)
{
    RUN(test_every_primitive_parses_in_both_forms);
    RUN(test_record_with_all_attributes);
    RUN(test_empty_record);
    RUN(test_enum_array_map_fixed);
    RUN(test_unions);
    RUN(test_namespace_inheritance);
    RUN(test_reference_resolution);
    RUN(test_recursive_record);
    RUN(test_every_catalog_schema_parses);
    RUN(test_valid_defaults);
    RUN(test_invalid_defaults);
    RUN(test_enum_default);
    RUN(test_from_json_copies_defaults);
    RUN(test_error_invalid_json);
    RUN(test_error_unknown_type);
    RUN(test_error_type_shape);
    RUN(test_error_missing_parts);
    RUN(test_error_fixed_size);
    RUN(test_error_bad_names);
    RUN(test_error_is_one_line);
    RUN(test_error_duplicates);
    RUN(test_error_primitive_redefinition);
    RUN(test_error_unions);
    RUN(test_error_depth_cap);
    RUN(test_null_arguments);
    return test_report();
}
