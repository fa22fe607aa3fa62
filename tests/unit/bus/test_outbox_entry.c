/* tests/unit/bus/test_outbox_entry.c — outbox entries read back from a hostile outbox file: the
 * headers column (edxbus__sq_headers_decode) and the destination taken from it
 * (edxbus__outbox_unwrap). Lengths past the end, 0xFFFFFFFF lengths, a column cut inside a
 * length, empty names and values, a name holding a NUL, a destination without its NUL, a
 * destination header given twice, more headers than the room given: each either decodes to
 * what it says or is refused as corrupt, and never reads outside the column. The libFuzzer
 * target fuzz/fuzz_outbox_entry.c checks the same invariants on random columns.
 */
#include <string.h>

#include "backends/sqlite/sqlite_int.h"
#include "bus/outbox_int.h"
#include "test.h"

static struct edxbus_buf col;

static void put(const char *name, size_t nlen, const char *value, size_t vlen)
{
    uint8_t len[4];
    for (int i = 0; i < 4; i++)
        len[i] = (uint8_t)(nlen >> (8 * i));
    edxbus_buf_append(&col, len, 4);
    edxbus_buf_append(&col, name, nlen);
    for (int i = 0; i < 4; i++)
        len[i] = (uint8_t)(vlen >> (8 * i));
    edxbus_buf_append(&col, len, 4);
    edxbus_buf_append(&col, value, vlen);
}

static const char *decode(struct edxbus_slot *s, size_t *n)
{
    struct edxbus_msg m = {0};
    edxbus_buf_reset(&s->data);
    ASSERT_TRUE(edxbus_buf_reserve(&s->data, col.len + 1) == EDXBUS_OK);
    const char *bad = edxbus__sq_headers_decode(s, &m, col.data, col.len);
    *n = m.nheaders;
    return bad;
}

static void slot_fini(struct edxbus_slot *s)
{
    edxbus_buf_fini(&s->data);
    free(s->headers);
    memset(s, 0, sizeof *s);
}

TEST(test_lengths_past_the_end_are_corrupt)
{
    static const uint8_t cases[][12] = {
        {0xff, 0xff, 0xff, 0xff, 'x'},             /* name length 4 GiB */
        {3, 0, 0, 0, 'a', 'b'},                    /* name cut */
        {1, 0, 0, 0, 'a', 0xff, 0xff, 0xff, 0x7f}, /* value length past the end */
        {1, 0, 0, 0, 'a', 2, 0},                   /* cut inside the value length */
        {0, 0},                                    /* cut inside the name length */
    };
    static const size_t lens[] = {5, 6, 9, 7, 2};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        struct edxbus_slot s = {0};
        edxbus_buf_reset(&col);
        edxbus_buf_append(&col, cases[i], lens[i]);
        size_t n = 99;
        const char *bad = decode(&s, &n);
        ASSERT_TRUE(bad != NULL);
        ASSERT_EQ_STR(bad, "the headers column is corrupt");
        ASSERT_EQ_INT(n, 0);
        slot_fini(&s);
    }
}

TEST(test_odd_but_whole_headers_decode_as_they_are)
{
    struct edxbus_slot s = {0};
    edxbus_buf_reset(&col);
    put("", 0, "", 0);
    put("na\0me", 5, "v", 1);
    put(EDXBUS_OUTBOX_HDR_TOPIC, strlen(EDXBUS_OUTBOX_HDR_TOPIC), "dev-t1", 6); /* no NUL */
    size_t n = 0;
    ASSERT_TRUE(decode(&s, &n) == NULL);
    ASSERT_EQ_INT(n, 3);
    ASSERT_EQ_STR(s.headers[0].name, "");
    ASSERT_EQ_INT(s.headers[0].len, 0);
    ASSERT_EQ_STR(s.headers[1].name, "na"); /* a NUL inside a name ends it */
    ASSERT_EQ_INT(s.headers[1].len, 1);
    struct edxbus_msg row = {.topic = EDXBUS_OUTBOX_TOPIC, .headers = s.headers, .nheaders = n};
    struct edxbus_msg out;
    struct edxbus_header rest[1];
    const char *key_schema = "unchanged";
    /* A destination without its NUL is not one: the entry names no destination. */
    ASSERT_TRUE(!edxbus__outbox_unwrap(&row, &out, rest, 1, &key_schema));
    ASSERT_TRUE(out.topic == NULL && key_schema == NULL);
    ASSERT_EQ_INT(out.nheaders, 1); /* the room given, not more */
    slot_fini(&s);
}

TEST(test_destination_key_schema_and_others)
{
    struct edxbus_slot s = {0};
    edxbus_buf_reset(&col);
    put("error", 5, "boom", 4);
    put(EDXBUS_OUTBOX_HDR_TOPIC, strlen(EDXBUS_OUTBOX_HDR_TOPIC), "first\0", 6);
    put(EDXBUS_OUTBOX_HDR_KEY_SCHEMA, strlen(EDXBUS_OUTBOX_HDR_KEY_SCHEMA), "\"string\"\0", 9);
    put(EDXBUS_OUTBOX_HDR_TOPIC, strlen(EDXBUS_OUTBOX_HDR_TOPIC), "dev-t\0x\0", 8);
    size_t n = 0;
    ASSERT_TRUE(decode(&s, &n) == NULL);
    ASSERT_EQ_INT(n, 4);
    struct edxbus_msg row = {.topic = EDXBUS_OUTBOX_TOPIC, .headers = s.headers, .nheaders = n};
    struct edxbus_msg out;
    struct edxbus_header rest[4];
    const char *key_schema = NULL;
    ASSERT_TRUE(edxbus__outbox_unwrap(&row, &out, rest, 4, &key_schema));
    ASSERT_EQ_STR(out.topic, "dev-t"); /* the last one, up to its first NUL */
    ASSERT_EQ_STR(key_schema, "\"string\"");
    ASSERT_EQ_INT(out.nheaders, 1);
    ASSERT_EQ_STR(out.headers[0].name, "error");
    slot_fini(&s);
}

int main(void)
{
    RUN(test_lengths_past_the_end_are_corrupt);
    RUN(test_odd_but_whole_headers_decode_as_they_are);
    RUN(test_destination_key_schema_and_others);
    edxbus_buf_fini(&col);
    return test_report();
}
