/* tests/faults/expo_parser.h — a strict parser of the Prometheus text exposition format 0.0.4,
 * for the metrics tests: the whole of what /metrics serves must pass it.
 *
 * What it refuses (each with the line number): a line without its final newline; a comment
 * "# HELP"/"# TYPE" with a bad metric name, a second HELP or TYPE for one metric, a TYPE after
 * the metric's first sample or an unknown type; metric and label names outside
 * [a-zA-Z_:][a-zA-Z0-9_:]* / [a-zA-Z_][a-zA-Z0-9_]*, label names starting with "__", a label
 * given twice, a label value escape other than \\ \" \n, a raw newline in a value; a value that
 * is not a Go float (or +Inf, -Inf, NaN); a timestamp that is not an integer; the same series
 * twice; a metric whose lines are not all together; a counter whose name does not end in
 * _total; and for histograms: a sample other than _bucket/_sum/_count, a _bucket without le,
 * bounds not increasing, cumulative counts going down, no le="+Inf", no _sum or _count, and a
 * _count that differs from the +Inf bucket.
 */
#ifndef EDXBUS_TEST_EXPO_PARSER_H
#define EDXBUS_TEST_EXPO_PARSER_H

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Error texts are cut to their buffers on purpose: a long series name need not fit. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define EXPO_MAX_SAMPLES 4096
#define EXPO_MAX_FAMILIES 128

struct expo_sample {
    char name[128];
    char labels[512]; /* canonical: name="value" pairs sorted, unescaped values, ',' joined */
    char le[48];      /* the le label of a _bucket, else "" */
    char rest[512];   /* the labels without le (for histogram grouping) */
    double value;
};

struct expo_family {
    char name[128];
    char type[16];
    bool help, typed, closed, seen;
};

struct expo {
    struct expo_sample s[EXPO_MAX_SAMPLES];
    size_t n;
    struct expo_family f[EXPO_MAX_FAMILIES];
    size_t nf;
    char error[256];
};

static bool expo_name_ok(const char *s, size_t len, bool label)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = isalpha((unsigned char)c) || c == '_' || (!label && c == ':') ||
                  (i > 0 && isdigit((unsigned char)c));
        if (!ok)
            return false;
    }
    return true;
}

static bool expo_float(const char *s, double *v)
{
    if (!strcmp(s, "+Inf") || !strcmp(s, "Inf")) {
        *v = INFINITY;
        return true;
    }
    if (!strcmp(s, "-Inf")) {
        *v = -INFINITY;
        return true;
    }
    if (!strcmp(s, "NaN")) {
        *v = NAN;
        return true;
    }
    for (const char *c = s; *c; c++)
        if (!isdigit((unsigned char)*c) && !strchr("+-.eE", *c))
            return false;
    char *end = NULL;
    *v = strtod(s, &end);
    return s[0] != '\0' && *end == '\0';
}

static struct expo_family *expo_family(struct expo *e, const char *name)
{
    for (size_t i = 0; i < e->nf; i++)
        if (!strcmp(e->f[i].name, name))
            return &e->f[i];
    if (e->nf == EXPO_MAX_FAMILIES)
        return NULL;
    struct expo_family *f = &e->f[e->nf++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    snprintf(f->type, sizeof f->type, "untyped");
    return f;
}

/* The family a sample name belongs to: a histogram's _bucket/_sum/_count go to their base. */
static struct expo_family *expo_family_of(struct expo *e, const char *name, const char **suffix)
{
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    *suffix = "";
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(name), k = strlen(sfx[i]);
        if (n > k && !strcmp(name + n - k, sfx[i])) {
            char base[128];
            snprintf(base, sizeof base, "%.*s", (int)(n - k), name);
            for (size_t j = 0; j < e->nf; j++)
                if (!strcmp(e->f[j].name, base) && !strcmp(e->f[j].type, "histogram")) {
                    *suffix = sfx[i];
                    return &e->f[j];
                }
        }
    }
    return expo_family(e, name);
}

static int expo_cmp_pair(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

#define EXPO_FAIL(...)                                                                         \
    do {                                                                                       \
        char m_[200];                                                                          \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                                  \
        snprintf(e->error, sizeof e->error, "line %d: %s", lineno, m_);                        \
        return false;                                                                          \
    } while (0)

/* Parse one sample line into e->s[e->n]. */
static bool expo_sample_line(struct expo *e, const char *line, int lineno)
{
    const char *p = line;
    size_t nl = 0;
    while (p[nl] && p[nl] != '{' && p[nl] != ' ')
        nl++;
    if (!expo_name_ok(p, nl, false) || nl >= 128)
        EXPO_FAIL("bad metric name \"%.*s\"", (int)nl, p);
    if (e->n == EXPO_MAX_SAMPLES)
        EXPO_FAIL("too many samples");
    struct expo_sample *s = &e->s[e->n];
    memset(s, 0, sizeof *s);
    memcpy(s->name, p, nl);
    p += nl;
    char pairs[32][256];
    const char *pp[32];
    size_t np = 0;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            size_t ln = 0;
            while (p[ln] && p[ln] != '=')
                ln++;
            if (!expo_name_ok(p, ln, true) || ln >= 64)
                EXPO_FAIL("bad label name \"%.*s\"", (int)ln, p);
            if (ln >= 2 && p[0] == '_' && p[1] == '_')
                EXPO_FAIL("reserved label name \"%.*s\"", (int)ln, p);
            if (p[ln] != '=' || p[ln + 1] != '"')
                EXPO_FAIL("label %.*s: expected =\"", (int)ln, p);
            if (np == 32)
                EXPO_FAIL("too many labels");
            char val[200];
            size_t vn = 0;
            const char *v = p + ln + 2;
            for (;;) {
                if (*v == '\0' || *v == '\n')
                    EXPO_FAIL("unterminated label value");
                if (*v == '"')
                    break;
                char c = *v;
                if (c == '\\') {
                    v++;
                    if (*v == 'n')
                        c = '\n';
                    else if (*v == '\\' || *v == '"')
                        c = *v;
                    else
                        EXPO_FAIL("bad escape \\%c in a label value", *v ? *v : '0');
                }
                if (vn + 1 < sizeof val)
                    val[vn++] = c;
                v++;
            }
            val[vn] = '\0';
            snprintf(pairs[np], sizeof pairs[np], "%.*s=%s", (int)ln, p, val);
            for (size_t i = 0; i < np; i++) {
                size_t a = strcspn(pairs[i], "=");
                if (a == ln && !strncmp(pairs[i], p, ln))
                    EXPO_FAIL("label %.*s given twice", (int)ln, p);
            }
            if (ln == 2 && !strncmp(p, "le", 2))
                snprintf(s->le, sizeof s->le, "%.40s", val);
            pp[np] = pairs[np];
            np++;
            p = v + 1;
            if (*p == ',')
                p++;
            else if (*p != '}')
                EXPO_FAIL("expected , or } after a label");
        }
        p++;
    }
    if (*p != ' ')
        EXPO_FAIL("expected a space before the value");
    while (*p == ' ')
        p++;
    char val[64], ts[64] = "";
    if (sscanf(p, "%63s %63s", val, ts) < 1)
        EXPO_FAIL("no value");
    if (!expo_float(val, &s->value))
        EXPO_FAIL("bad value \"%s\"", val);
    if (ts[0]) {
        for (const char *c = ts + (ts[0] == '-'); *c; c++)
            if (!isdigit((unsigned char)*c))
                EXPO_FAIL("bad timestamp \"%s\"", ts);
    }
    qsort(pp, np, sizeof pp[0], expo_cmp_pair);
    for (size_t i = 0; i < np; i++) {
        size_t used = strlen(s->labels);
        snprintf(s->labels + used, sizeof s->labels - used, "%s%s", i ? "," : "", pp[i]);
        if (strncmp(pp[i], "le=", 3) != 0) {
            used = strlen(s->rest);
            snprintf(s->rest + used, sizeof s->rest - used, "%s%s", used ? "," : "", pp[i]);
        }
    }
    for (size_t i = 0; i < e->n; i++)
        if (!strcmp(e->s[i].name, s->name) && !strcmp(e->s[i].labels, s->labels))
            EXPO_FAIL("series %s{%s} given twice", s->name, s->labels);
    e->n++;
    return true;
}

/* Histogram rules, per label set of @p f. */
static bool expo_check_histogram(struct expo *e, const struct expo_family *f)
{
    int lineno = 0;
    char b[160], sum[160], cnt[160];
    snprintf(b, sizeof b, "%s_bucket", f->name);
    snprintf(sum, sizeof sum, "%s_sum", f->name);
    snprintf(cnt, sizeof cnt, "%s_count", f->name);
    for (size_t i = 0; i < e->n; i++) {
        const struct expo_sample *s = &e->s[i];
        bool first = true;
        if (strcmp(s->name, b) != 0 && strcmp(s->name, sum) != 0 && strcmp(s->name, cnt) != 0)
            continue;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(e->s[j].rest, s->rest) &&
                (!strcmp(e->s[j].name, b) || !strcmp(e->s[j].name, sum) ||
                 !strcmp(e->s[j].name, cnt)))
                first = false;
        if (!first)
            continue;
        double last_le = -INFINITY, last_count = 0, inf = -1, count = -1;
        bool has_sum = false;
        for (size_t j = i; j < e->n; j++) {
            const struct expo_sample *t = &e->s[j];
            if (strcmp(t->rest, s->rest) != 0)
                continue;
            if (!strcmp(t->name, b)) {
                double le;
                if (!t->le[0] || !expo_float(t->le, &le))
                    EXPO_FAIL("%s{%s}: a bucket needs a numeric le", b, t->labels);
                if (!(le > last_le))
                    EXPO_FAIL("%s{%s}: le not increasing", b, t->labels);
                if (t->value < last_count)
                    EXPO_FAIL("%s{%s}: cumulative count goes down", b, t->labels);
                last_le = le;
                last_count = t->value;
                if (isinf(le) && le > 0)
                    inf = t->value;
            } else if (!strcmp(t->name, sum)) {
                has_sum = true;
            } else if (!strcmp(t->name, cnt)) {
                count = t->value;
            }
        }
        if (inf < 0)
            EXPO_FAIL("%s{%s}: no le=\"+Inf\" bucket", f->name, s->rest);
        if (!has_sum || count < 0)
            EXPO_FAIL("%s{%s}: _sum or _count missing", f->name, s->rest);
        if (count != inf)
            EXPO_FAIL("%s{%s}: _count %g differs from the +Inf bucket %g", f->name, s->rest,
                      count, inf);
    }
    return true;
}

/** Parse the whole of @p text. False with e->error set on the first violation. */
static bool expo_parse(struct expo *e, const char *text)
{
    memset(e, 0, sizeof *e);
    int lineno = 0;
    struct expo_family *current = NULL;
    size_t len = strlen(text);
    if (len > 0 && text[len - 1] != '\n')
        EXPO_FAIL("the last line has no newline");
    for (const char *p = text; *p;) {
        lineno++;
        const char *nl = strchr(p, '\n');
        size_t n = (size_t)(nl - p);
        char line[2048];
        if (n >= sizeof line)
            EXPO_FAIL("line too long");
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl + 1;
        if (n == 0)
            continue;
        if (line[0] == '#') {
            char kind[8], name[160];
            int off = 0;
            if (sscanf(line, "# %7s %159s %n", kind, name, &off) < 2 ||
                (strcmp(kind, "HELP") != 0 && strcmp(kind, "TYPE") != 0))
                continue; /* a plain comment */
            if (!expo_name_ok(name, strlen(name), false))
                EXPO_FAIL("bad metric name in # %s", kind);
            struct expo_family *f = expo_family(e, name);
            if (f == NULL)
                EXPO_FAIL("too many metrics");
            if (!strcmp(kind, "HELP")) {
                if (f->help)
                    EXPO_FAIL("second HELP for %s", name);
                for (const char *c = line + off; *c; c++)
                    if (*c == '\\' && c[1] != '\\' && c[1] != 'n')
                        EXPO_FAIL("bad escape in HELP of %s", name);
                    else if (*c == '\\')
                        c++;
                f->help = true;
            } else {
                const char *t = line + off;
                if (f->typed)
                    EXPO_FAIL("second TYPE for %s", name);
                if (f->seen)
                    EXPO_FAIL("TYPE of %s after its samples", name);
                if (strcmp(t, "counter") && strcmp(t, "gauge") && strcmp(t, "histogram") &&
                    strcmp(t, "summary") && strcmp(t, "untyped"))
                    EXPO_FAIL("unknown type \"%s\"", t);
                if (!strcmp(t, "counter") &&
                    (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total") != 0))
                    EXPO_FAIL("counter %s does not end in _total", name);
                snprintf(f->type, sizeof f->type, "%s", t);
                f->typed = true;
            }
            if (current != NULL && current != f && current->seen)
                current->closed = true;
            if (f->closed)
                EXPO_FAIL("metric %s continues after another one", name);
            current = f;
            continue;
        }
        if (!expo_sample_line(e, line, lineno))
            return false;
        const char *suffix;
        struct expo_family *f = expo_family_of(e, e->s[e->n - 1].name, &suffix);
        if (f == NULL)
            EXPO_FAIL("too many metrics");
        if (!strcmp(f->type, "histogram") && suffix[0] == '\0')
            EXPO_FAIL("histogram %s has a plain sample", f->name);
        if (current != f) {
            if (current != NULL)
                current->closed = true;
            if (f->closed)
                EXPO_FAIL("metric %s continues after another one", f->name);
            current = f;
        }
        f->seen = true;
    }
    for (size_t i = 0; i < e->nf; i++)
        if (!strcmp(e->f[i].type, "histogram") && !expo_check_histogram(e, &e->f[i]))
            return false;
    return true;
}

/** The value of @p name{labels} (canonical form: sorted, "k=v" joined by ','), or NAN. */
static double expo_get(const struct expo *e, const char *name, const char *labels)
{
    for (size_t i = 0; i < e->n; i++)
        if (!strcmp(e->s[i].name, name) && !strcmp(e->s[i].labels, labels))
            return e->s[i].value;
    return NAN;
}

/** The TYPE of @p name, or "" when never declared. */
static const char *expo_type(const struct expo *e, const char *name)
{
    for (size_t i = 0; i < e->nf; i++)
        if (!strcmp(e->f[i].name, name) && e->f[i].typed)
            return e->f[i].type;
    return "";
}

#undef EXPO_FAIL
#endif /* EDXBUS_TEST_EXPO_PARSER_H */
