/*
 * libmodsecurity3 + OWASP CRS side-by-side harness for bench/webattack.sh.
 *
 * Usage: harness PARANOIA_LEVEL REQUESTS_FILE > RESULTS
 *
 * REQUESTS_FILE holds length-prefixed fields ("<decimal length>\n<bytes>\n"): for each request
 * its index, method, URI, HTTP version, the number of headers, each header's name and value, and
 * the body (written by `cargo run --example sidebyside -- export`). Every request runs through a
 * fresh transaction (connection, URI, headers, body) with the CRS in anomaly-scoring mode and
 * `SecRuleEngine On`, so a request is "flagged" when CRS's blocking evaluation (949110) disrupts
 * it. Output, one line per request: "<index> <flagged 0|1> <fired CRS ids, comma-separated, or ->"
 * and a final "# seconds <s> requests <n>" line: the CPU time spent in libmodsecurity calls (one
 * thread; CPU time rather than wall time, so that other work on a shared machine does not count).
 */
#include <modsecurity/modsecurity.h>
#include <modsecurity/rules_set.h>
#include <modsecurity/transaction.h>
#include <modsecurity/intervention.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_IDS 256

struct fired {
    long ids[MAX_IDS];
    int n;
};

/* The server log callback: one rule message per matched rule with `log`; keep its id. */
static void log_cb(void *data, const void *msg) {
    struct fired *f = data;
    const char *m = msg;
    const char *p = m ? strstr(m, "[id \"") : NULL;
    if (!f || !p || f->n >= MAX_IDS) return;
    long id = strtol(p + 5, NULL, 10);
    for (int i = 0; i < f->n; i++)
        if (f->ids[i] == id) return;
    f->ids[f->n++] = id;
}

/* Reads one "<len>\n<bytes>\n" field; returns a malloc'd, NUL-terminated buffer or NULL at EOF. */
static char *field(FILE *in, size_t *len) {
    size_t n = 0;
    int c, digits = 0;
    while ((c = getc(in)) != EOF && c != '\n') {
        if (c < '0' || c > '9') { fprintf(stderr, "harness: bad field length\n"); exit(2); }
        n = n * 10 + (size_t)(c - '0');
        digits++;
    }
    if (c == EOF && digits == 0) return NULL;
    char *buf = malloc(n + 1);
    if (!buf || fread(buf, 1, n, in) != n) { fprintf(stderr, "harness: truncated field\n"); exit(2); }
    buf[n] = 0;
    if (getc(in) != '\n') { fprintf(stderr, "harness: missing field terminator\n"); exit(2); }
    if (len) *len = n;
    return buf;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s PARANOIA_LEVEL REQUESTS_FILE\n", argv[0]); return 2; }
    int pl = atoi(argv[1]);
    FILE *in = fopen(argv[2], "rb");
    if (!in) { perror(argv[2]); return 2; }

    ModSecurity *ms = msc_init();
    msc_set_connector_info(ms, "ensuresec-bench-harness");
    msc_set_log_cb(ms, log_cb);
    RulesSet *rules = msc_create_rules_set();
    char conf[4096];
    snprintf(conf, sizeof conf,
        "SecRuleEngine On\n"
        "SecRequestBodyAccess On\n"
        "SecRequestBodyLimit 13107200\n"
        "SecRequestBodyNoFilesLimit 131072\n"
        "SecRequestBodyLimitAction ProcessPartial\n"
        "SecRequestBodyJsonDepthLimit 512\n"
        "SecArgumentSeparator &\n"
        "SecCookieFormat 0\n"
        "SecAuditEngine Off\n"
        "SecRule REQUEST_HEADERS:Content-Type \"^(?:application(?:/soap\\+|/)|text/)xml\" "
        "\"id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML\"\n"
        "SecRule REQUEST_HEADERS:Content-Type \"^application/json\" "
        "\"id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON\"\n"
        "SecDefaultAction \"phase:1,log,auditlog,pass\"\n"
        "SecDefaultAction \"phase:2,log,auditlog,pass\"\n"
        "SecAction \"id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=%d\"\n"
        "SecAction \"id:900990,phase:1,nolog,pass,t:none,setvar:tx.crs_setup_version=334\"\n"
        "Include /usr/share/modsecurity-crs/rules/*.conf\n", pl);
    const char *error = NULL;
    if (msc_rules_add(rules, conf, &error) < 0) {
        fprintf(stderr, "harness: loading CRS failed: %s\n", error ? error : "?");
        return 2;
    }

    double spent = 0;
    long count = 0;
    for (;;) {
        char *idx = field(in, NULL);
        if (!idx) break;
        char *method = field(in, NULL), *uri = field(in, NULL), *version = field(in, NULL);
        char *nh = field(in, NULL);
        int headers = atoi(nh);
        char **names = calloc(headers + 1, sizeof *names), **values = calloc(headers + 1, sizeof *values);
        size_t *nlen = calloc(headers + 1, sizeof *nlen), *vlen = calloc(headers + 1, sizeof *vlen);
        for (int i = 0; i < headers; i++) {
            names[i] = field(in, &nlen[i]);
            values[i] = field(in, &vlen[i]);
        }
        size_t body_len = 0;
        char *body = field(in, &body_len);
        const char *ver = strncmp(version, "HTTP/", 5) == 0 ? version + 5 : version;

        struct fired f = {.n = 0};
        ModSecurityIntervention it;
        memset(&it, 0, sizeof it);
        it.status = 200;
        int flagged = 0;
        double t0 = now();
        Transaction *t = msc_new_transaction(ms, rules, &f);
        msc_process_connection(t, "192.0.2.10", 50000, "127.0.0.1", 80);
        msc_process_uri(t, uri, method, ver);
        for (int i = 0; i < headers; i++)
            msc_add_n_request_header(t, (unsigned char *)names[i], nlen[i],
                                     (unsigned char *)values[i], vlen[i]);
        msc_process_request_headers(t);
        if (msc_intervention(t, &it) && it.disruptive) flagged = 1;
        if (!flagged) {
            msc_append_request_body(t, (unsigned char *)body, body_len);
            msc_process_request_body(t);
            if (msc_intervention(t, &it) && it.disruptive) flagged = 1;
        }
        msc_process_logging(t);
        msc_transaction_cleanup(t);
        spent += now() - t0;
        count++;
        free(it.url);
        free(it.log);

        printf("%s %d ", idx, flagged);
        int printed = 0;
        for (int i = 0; i < f.n; i++) {
            /* Only the detection rules, not the scoring and reporting ones. */
            if (f.ids[i] < 911000 || f.ids[i] >= 949000) continue;
            printf(printed++ ? ",%ld" : "%ld", f.ids[i]);
        }
        printf(printed ? "\n" : "-\n");

        for (int i = 0; i < headers; i++) { free(names[i]); free(values[i]); }
        free(names); free(values); free(nlen); free(vlen);
        free(idx); free(method); free(uri); free(version); free(nh); free(body);
    }
    printf("# seconds %.6f requests %ld\n", spent, count);
    msc_rules_cleanup(rules);
    msc_cleanup(ms);
    return 0;
}
