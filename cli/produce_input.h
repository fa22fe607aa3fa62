/* cli/produce_input.h — the events of `edxbus produce --data`, read as a stream.
 *
 * --data JSON is one event. --data @FILE is either one JSON object (it may span lines) or JSON
 * lines, one event per line (blank lines are skipped); --data @- reads standard input, which is
 * first copied to an unnamed temporary file so that it can be read twice (once to check every
 * line, once to send). Only one line is held in memory at a time, so memory does not grow with
 * the file; a file holding one object spread over lines is read whole (up to
 * PRODUCE_INPUT_MAX_OBJECT bytes).
 *
 *     struct produce_input in;
 *     if (produce_input_open(cli, arg, &in) != CLI_OK) ...reported
 *     while ((r = produce_input_next(&in, &ev, why, sizeof why)) != PRODUCE_INPUT_END) ...
 *     produce_input_rewind(cli, &in);   ...and again
 *     produce_input_close(&in);
 */
#ifndef EDXBUS_CLI_PRODUCE_INPUT_H
#define EDXBUS_CLI_PRODUCE_INPUT_H

#include <jansson.h>
#include <stdio.h>

#include "cli.h"

/* A file holding one JSON object over several lines is read whole up to this size. */
#define PRODUCE_INPUT_MAX_OBJECT (64u << 20)

struct produce_input {
    char name[256]; /* for messages: the file name, "standard input", or "" for --data JSON */
    FILE *f;        /* JSON lines (NULL: the one event is in `one`) */
    json_t *one;    /* --data JSON, or a file holding one object */
    bool one_done;  /* `one` was returned since the last rewind */
    char *line;     /* getline() buffer */
    size_t line_cap;
    size_t lineno;     /* number of the line last returned (JSON lines) */
    uint64_t bytes;    /* bytes read since the last rewind (progress) */
    uint64_t size;     /* file size in bytes, 0 when unknown */
};

enum {
    PRODUCE_INPUT_EVENT = 0, /* *out holds a new reference to the event's data */
    PRODUCE_INPUT_END = 1,   /* no more events */
    PRODUCE_INPUT_BAD = 2,   /* this line is not a JSON object: why is set, reading may go on */
    PRODUCE_INPUT_IO = 3,    /* the input could not be read: why is set, stop */
};

/** Open the input named by the --data argument @p arg. Returns CLI_OK, or an exit code after
 *  reporting (bad JSON in --data JSON, a file that cannot be opened or spooled). */
int produce_input_open(struct cli *cli, const char *arg, struct produce_input *in);

/** The next event (PRODUCE_INPUT_*). @p why gets one line for BAD and IO. */
int produce_input_next(struct produce_input *in, json_t **out, char *why, size_t why_size);

/** Start again from the first event. Returns CLI_OK or an exit code after reporting. */
int produce_input_rewind(struct cli *cli, struct produce_input *in);

/** Release everything (the temporary copy of standard input is deleted). */
void produce_input_close(struct produce_input *in);

#endif /* EDXBUS_CLI_PRODUCE_INPUT_H */
