/* keepout sites import|info|list|export|query: builds and inspects the site store. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "commands.h"
#include "keepout/keepout.h"
#include "output.h"

static void help(FILE *fp) {
    fprintf(
        fp,
        "usage: keepout sites <action> [options] ...\n\n"
        "actions:\n"
        "  import [options] SOURCE...  add or update sites from OGR sources (GeoJSON, GPKG,\n"
        "                              Shapefile, CSV with lat/lon or WKT columns, KML, OSM\n"
        "                              XML/PBF) and UAS zone files (ED-269 JSON, ED-318 GeoJSON)\n"
        "      --category C     category of every site (default: from the data)\n"
        "      --buffer M       buffer of every site in metres (default: the category's)\n"
        "      --where SQL      OGR attribute filter\n"
        "      --name-field F   field holding the site name\n"
        "      --source LABEL   source name (default: the file's base name)\n"
        "      --preset osm     OSM power plants, substations, generators, bridges, dams,\n"
        "                       pipelines (docs/OSM_PRESET.md)\n"
        "      --preset-file F  OSM preset rows (CSV: tags,category,kinds,buffer) tried\n"
        "                       before the built-in ones; implies --preset osm\n"
        "      --prefilter      with the preset: cut the OSM file down with osmium\n"
        "                       tags-filter first (same sites; for large extracts)\n"
        "      --all-zones      UAS zones of every reason, not only SENSITIVE/PRIVACY\n"
        "      --allow-empty    a source that gives no site is not an error\n"
        "  info [--format text|json]   counts per category and source, version, extent\n"
        "  list [--category C] [--format table|csv|jsonl]   the sites\n"
        "  export [-f DRIVER] [--category C] [--buffered] OUTPUT   through OGR, the format\n"
        "                              from OUTPUT's extension (.geojson, .gpkg, .fgb, .shp, "
        ".csv)\n"
        "  index [STORE]               write the store's index file (STORE.koidx), as every\n"
        "                              import does: for a store made or changed elsewhere\n"
        "  query --ring 'lon lat,lon lat,...' --camera lon,lat [--packed]   sites a\n"
        "                              footprint shows (JSON lines)\n\n"
        "common options:\n"
        "  --db DB       the site store (default $KEEPOUT_SITES, then the sample store)\n"
        "  -q, --quiet   no messages on standard error;  -v, --verbose  every message\n"
        "  -h, --help    this text\n\n"
        "Every feature read is counted as imported, updated, rejected (with a reason) or\n"
        "skipped; a source that fails leaves the store as it was. Exit status 2 if a source\n"
        "could not be imported, gave no site (unless --allow-empty), or the store is\n"
        "unusable.\n");
}

typedef struct opts {
    const char *db;
    ko_import_options imp;
    const char *format;
    const char *category;
    const char *driver;
    const char *ring;
    const char *camera;
    int buffered, packed, quiet, verbose;
} opts;

static int parse_double(const char *s, double *v) {
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && isfinite(*v);
}

static int progress_cb(double complete, const char *msg, void *user) {
    (void)msg;
    int *last = user;
    int pct = (int)(complete * 100);
    if (pct / 10 != *last / 10) {
        fprintf(stderr, "%d%%%s", pct, pct >= 100 ? "\n" : "..");
        *last = pct;
    }
    return 1;
}

static void print_messages(const char *m, int verbose) {
    if (!m) return;
    size_t shown = 0, total = 0;
    for (const char *p = m; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int skipped = len > 0 && strstr(p, ": skipped: ") && strstr(p, ": skipped: ") < p + len;
        total++;
        if (verbose || (!skipped && shown < 40)) {
            fprintf(stderr, "  %.*s\n", (int)len, p);
            shown++;
        }
        p += len + (e ? 1 : 0);
    }
    if (shown < total) fprintf(stderr, "  (%zu more messages; -v shows all)\n", total - shown);
}

static int do_import(ko_context *ctx, opts *o, int argc, char **argv) {
    if (optind >= argc) {
        fprintf(stderr, "keepout sites import: no source given\n");
        return EXIT_USAGE;
    }
    ko_sites *s = NULL;
    if (ko_sites_open(ctx, o->db, KO_SITES_CREATE, &s) != KO_OK) {
        fprintf(stderr, "keepout sites: %s\n", ko_errmsg(ctx));
        return EXIT_USAGE;
    }
    int rc = EXIT_CLEAR;
    int last = -1;
    if (!o->quiet && o->verbose) {
        o->imp.progress = progress_cb;
        o->imp.progress_user = &last;
    }
    for (int i = optind; i < argc; i++) {
        ko_import_report rep = {0};
        last = -1;
        ko_status st = ko_sites_import(s, argv[i], &o->imp, &rep);
        if (st != KO_OK) {
            fprintf(stderr, "keepout sites import: %s: %s (nothing imported from it)\n", argv[i],
                    ko_errmsg(ctx));
            rc = EXIT_USAGE;
        }
        if (!o->quiet) {
            fprintf(stderr,
                    "%s: read %zu, imported %zu, updated %zu, repaired %zu, rejected %zu, "
                    "skipped %zu\n",
                    argv[i], rep.read, rep.imported, rep.updated, rep.repaired, rep.rejected,
                    rep.skipped);
            if (rep.unbuilt)
                fprintf(stderr,
                        "  %zu object(s) of the file could not be built (nodes or members "
                        "missing from it): not in the store\n",
                        rep.unbuilt);
            if (rep.stale)
                fprintf(stderr,
                        "  %zu site(s) of this source in the store were not in this import "
                        "(kept)\n",
                        rep.stale);
            print_messages(rep.messages, o->verbose);
        }
        ko_import_report_clear(&rep);
    }
    ko_sites_close(s);
    return rc;
}

static int do_info(ko_sites *s, opts *o) {
    char *js = NULL;
    if (ko_sites_info_json(s, &js) != KO_OK) return EXIT_USAGE;
    if (o->format && !strcmp(o->format, "json")) {
        out_json_write(stdout, js);
        putchar('\n');
        ko_free(js);
        return EXIT_CLEAR;
    }
    json_object *root = json_tokener_parse(js);
    ko_free(js);
    if (!root) return EXIT_USAGE;
    json_object *v;
    fputs("store:          ", stdout);
    out_text(stdout, o->db, -1);
    putchar('\n');
    if (json_object_object_get_ex(root, "sites", &v))
        printf("sites:          %s\n", json_object_get_string(v));
    if (json_object_object_get_ex(root, "store_version", &v))
        printf("store version:  %s\n", json_object_get_string(v));
    json_object *st;
    if (json_object_object_get_ex(root, "index", &v) && json_object_object_get_ex(v, "state", &st))
        printf("index file:     %s\n", json_object_get_string(st));
    if (json_object_object_get_ex(root, "extent", &v) && v)
        printf("extent:         %.6f %.6f %.6f %.6f (lon/lat, buffered)\n",
               json_object_get_double(json_object_array_get_idx(v, 0)),
               json_object_get_double(json_object_array_get_idx(v, 1)),
               json_object_get_double(json_object_array_get_idx(v, 2)),
               json_object_get_double(json_object_array_get_idx(v, 3)));
    static const char *const groups[] = {"by_category", "by_source"};
    for (int g = 0; g < 2; g++) {
        printf("%s:\n", g ? "per source" : "per category");
        if (!json_object_object_get_ex(root, groups[g], &v)) continue;
        json_object_object_foreach(v, key, val) {
            char *k = out_clean(key); /* categories and source labels come from outside */
            printf("  %-32s %8s\n", k ? k : "?", json_object_get_string(val));
            ko_free(k);
        }
    }
    printf("categories (name, buffer_m, min_gsd_m):\n");
    if (json_object_object_get_ex(root, "categories", &v))
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *c = json_object_array_get_idx(v, i), *n, *b, *m;
            json_object_object_get_ex(c, "name", &n);
            json_object_object_get_ex(c, "buffer_m", &b);
            json_object_object_get_ex(c, "min_gsd_m", &m);
            char *name = out_clean(json_object_get_string(n));
            printf("  %-16s %8.1f %8.2f\n", name ? name : "?", json_object_get_double(b),
                   json_object_get_double(m));
            ko_free(name);
        }
    json_object_put(root);
    return EXIT_CLEAR;
}

static void csv_cell(const char *raw) {
    char *clean = out_clean(raw); /* names from outside: no control character reaches a
                                     terminal or a spreadsheet */
    const char *s = clean ? clean : "?";
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, stdout);
        ko_free(clean);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') putchar('"');
        putchar(*s);
    }
    putchar('"');
    ko_free(clean);
}

static int list_row(const ko_site_record *r, void *user) {
    const char *fmt = user;
    if (!strcmp(fmt, "csv")) {
        printf("%lld,", (long long)r->id);
        csv_cell(r->source);
        putchar(',');
        csv_cell(r->source_id);
        putchar(',');
        csv_cell(r->name);
        putchar(',');
        csv_cell(r->category);
        printf(",%g,%g\n", r->buffer_m, r->min_gsd_m);
    } else if (!strcmp(fmt, "jsonl")) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(r->id));
        json_object_object_add(o, "source", json_object_new_string(r->source));
        json_object_object_add(o, "source_id", json_object_new_string(r->source_id));
        json_object_object_add(o, "name", r->name ? json_object_new_string(r->name) : NULL);
        json_object_object_add(o, "category", json_object_new_string(r->category));
        json_object_object_add(o, "buffer_m", json_object_new_double(r->buffer_m));
        json_object_object_add(o, "min_gsd_m", json_object_new_double(r->min_gsd_m));
        json_object *a = json_tokener_parse(r->attributes_json);
        json_object_object_add(o, "attributes", a);
        out_json_write(stdout, json_object_to_json_string_ext(
                                   o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        putchar('\n');
        json_object_put(o);
    } else {
        char *cat = out_clean(r->category); /* padded, not cut, as before */
        printf("%8lld  %-12s ", (long long)r->id, cat ? cat : "?");
        ko_free(cat);
        const char *cells[] = {r->source, r->source_id, r->name ? r->name : ""};
        const int widths[] = {24, 18, 32};
        for (int k = 0; k < 3; k++) {
            out_text(stdout, cells[k], widths[k]);
            putchar(' ');
        }
        printf("%6.0f %5.2f\n", r->buffer_m, r->min_gsd_m);
    }
    return !ferror(stdout);
}

static int do_list(ko_sites *s, ko_context *ctx, opts *o) {
    const char *fmt = o->format ? o->format : "table";
    if (strcmp(fmt, "table") != 0 && strcmp(fmt, "csv") != 0 && strcmp(fmt, "jsonl") != 0 &&
        strcmp(fmt, "json") != 0) {
        fprintf(stderr, "keepout sites list: --format must be table, csv or jsonl\n");
        return EXIT_USAGE;
    }
    if (!strcmp(fmt, "json")) fmt = "jsonl";
    if (!strcmp(fmt, "csv")) printf("id,source,source_id,name,category,buffer_m,min_gsd_m\n");
    if (!strcmp(fmt, "table"))
        printf("%8s  %-12s %-24s %-18s %-32s %6s %5s\n", "id", "category", "source", "source_id",
               "name", "buf_m", "gsd_m");
    if (ko_sites_foreach(s, o->category, 0, list_row, (void *)fmt) != KO_OK) {
        fprintf(stderr, "keepout sites list: %s\n", ko_errmsg(ctx));
        return EXIT_USAGE;
    }
    return EXIT_CLEAR;
}

/* keepout sites index [--db] [STORE]: the index file of a store made or changed elsewhere. */
static int do_index(ko_context *ctx, opts *o, int argc, char **argv) {
    if (optind + 1 < argc) {
        fprintf(stderr, "keepout sites index: give one STORE\n");
        return EXIT_USAGE;
    }
    const char *db = optind < argc ? argv[optind] : o->db;
    if (!db) {
        fprintf(stderr, "keepout sites index: no store given\n");
        return EXIT_USAGE;
    }
    struct stat sb;
    if (stat(db, &sb) != 0) { /* the store is opened for writing: never create one here */
        fprintf(stderr, "keepout sites index: %s: no such site store\n", db);
        return EXIT_USAGE;
    }
    ko_sites *s = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t n = 0;
    if (ko_sites_open(ctx, db, KO_SITES_CREATE, &s) != KO_OK || ko_sites_write_index(s) != KO_OK ||
        ko_sites_count(s, &n) != KO_OK) {
        fprintf(stderr, "keepout sites index: %s\n", ko_errmsg(ctx));
        ko_sites_close(s);
        return EXIT_USAGE;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!o->quiet)
        fprintf(stderr, "%s.koidx: %lld sites indexed in %.2f s\n", db, (long long)n,
                (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    ko_sites_close(s);
    return EXIT_CLEAR;
}

int cmd_sites(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        help(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_CLEAR;
    }
    const char *action = argv[1];
    opts o = {0};
    ko_import_options_init(&o.imp);
    static const struct option longopts[] = {{"db", required_argument, NULL, 'D'},
                                             {"category", required_argument, NULL, 'c'},
                                             {"buffer", required_argument, NULL, 'b'},
                                             {"where", required_argument, NULL, 'w'},
                                             {"name-field", required_argument, NULL, 'n'},
                                             {"source", required_argument, NULL, 's'},
                                             {"preset", required_argument, NULL, 'p'},
                                             {"preset-file", required_argument, NULL, 'T'},
                                             {"prefilter", no_argument, NULL, 'O'},
                                             {"all-zones", no_argument, NULL, 'Z'},
                                             {"allow-empty", no_argument, NULL, 'E'},
                                             {"format", required_argument, NULL, 'F'},
                                             {"buffered", no_argument, NULL, 'B'},
                                             {"ring", required_argument, NULL, 'r'},
                                             {"camera", required_argument, NULL, 'C'},
                                             {"packed", no_argument, NULL, 'P'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    double v;
    optind = 1;
    argc--, argv++;
    while ((c = getopt_long(argc, argv, "f:qvh", longopts, NULL)) != -1) {
        switch (c) {
            case 'D':
                o.db = optarg;
                break;
            case 'c':
                o.imp.category = optarg;
                o.category = optarg;
                break;
            case 'b':
                if (!parse_double(optarg, &v) || v < 0) {
                    fprintf(stderr, "keepout sites: --buffer needs metres >= 0\n");
                    return EXIT_USAGE;
                }
                o.imp.buffer_m = v;
                break;
            case 'w':
                o.imp.where = optarg;
                break;
            case 'n':
                o.imp.name_field = optarg;
                break;
            case 's':
                o.imp.source_label = optarg;
                break;
            case 'p':
                if (strcmp(optarg, "osm") != 0) {
                    fprintf(stderr, "keepout sites: the only preset is 'osm'\n");
                    return EXIT_USAGE;
                }
                o.imp.preset_osm = 1;
                break;
            case 'T':
                o.imp.preset_file = optarg;
                o.imp.preset_osm = 1;
                break;
            case 'O':
                o.imp.prefilter = 1;
                break;
            case 'Z':
                o.imp.all_zones = 1;
                break;
            case 'E':
                o.imp.allow_empty = 1;
                break;
            case 'F':
                o.format = optarg;
                break;
            case 'f':
                o.driver = optarg;
                break;
            case 'B':
                o.buffered = 1;
                break;
            case 'r':
                o.ring = optarg;
                break;
            case 'C':
                o.camera = optarg;
                break;
            case 'P':
                o.packed = 1;
                break;
            case 'q':
                o.quiet = 1;
                break;
            case 'v':
                o.verbose = 1;
                break;
            case 'h':
                help(stdout);
                return EXIT_CLEAR;
            default:
                help(stderr);
                return EXIT_USAGE;
        }
    }
    if (!o.db) o.db = ko_sites_default(1);
    ko_context *ctx = NULL;
    if (ko_context_create(&ctx) != KO_OK) {
        fprintf(stderr, "keepout sites: cannot create a context (out of memory?)\n");
        return EXIT_USAGE;
    }
    int rc = EXIT_USAGE;
    if (!strcmp(action, "query")) {
        rc = sites_query_run(o.db, o.ring, o.camera, o.packed, o.quiet);
    } else if (!strcmp(action, "import")) {
        rc = do_import(ctx, &o, argc, argv);
    } else if (!strcmp(action, "index")) {
        rc = do_index(ctx, &o, argc, argv);
    } else if (!strcmp(action, "info") || !strcmp(action, "list") || !strcmp(action, "export")) {
        ko_sites *s = NULL;
        if (ko_sites_open(ctx, o.db, KO_SITES_READONLY | KO_SITES_ALLOW_EMPTY, &s) != KO_OK) {
            fprintf(stderr, "keepout sites: %s\n", ko_errmsg(ctx));
        } else if (!strcmp(action, "info")) {
            rc = do_info(s, &o);
        } else if (!strcmp(action, "list")) {
            rc = do_list(s, ctx, &o);
        } else if (optind + 1 != argc) {
            fprintf(stderr, "keepout sites export: give exactly one OUTPUT\n");
        } else if (ko_sites_export(s, argv[optind], o.driver, o.category, o.buffered) != KO_OK) {
            fprintf(stderr, "keepout sites export: %s\n", ko_errmsg(ctx));
        } else {
            rc = EXIT_CLEAR;
        }
        ko_sites_close(s);
    } else {
        fprintf(stderr, "keepout sites: unknown action '%s' (try 'keepout sites --help')\n",
                action);
    }
    ko_context_destroy(ctx);
    return rc;
}
