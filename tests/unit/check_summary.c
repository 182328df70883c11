/* Result summaries and records (ko_result_summarize, ko_result_json, ko_result_findings_json)
 * and the footprint's WKT, on the hand-worked scene of test_scene.h: from 100 m at nadir over
 * the origin the 100 x 75 camera sees R2 bridge (nearest point (-20, -10), too coarse for a
 * bridge's 1 m), R1 plant (nearest (24.3, 14.85), wholly in view, disclosed) and R3 plant
 * (nearest (70, 0), half in view, disclosed), in that order of distance (check_check proves
 * those verdicts). The JSON is parsed back with json-c, strictly and as UTF-8, and each field
 * compared with the scene and with the store read through plain SQLite. */
#include <json-c/json.h>

#include "test_scene.h"

#define A 0.015
#define CORNER (1 / (1 + 0.75 * 0.75 + 0.5625 * 0.5625))

/* A name built to break a hand-made writer: a quote, a backslash, C0 controls, valid
 * multi-byte characters (e-acute, U+2028) and bytes that are not UTF-8 (a lone 0xff, 0xc3
 * before an ASCII byte). */
static const char hostile[] = "Q\"uote\\back\001ctl\nnl \xff\xc3( \xc3\xa9 \xe2\x80\xa8 end";
/* ... as every keepout output writes it: each byte that is not UTF-8 as the text \xHH */
static const char hostile_out[] = "Q\"uote\\back\001ctl\nnl \\xff\\xc3( \xc3\xa9 \xe2\x80\xa8 end";

/* Runs one statement on the store file (plain SQLite, beside the open handle). */
static void sql_exec(const char *db, const char *sql, const char *text) {
    sqlite3 *h = NULL;
    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    if (text) sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(h);
}

/* A site's id or source_id, by the name it was imported with, from the store file. */
static long long site_id(const char *name) {
    char q[200];
    snprintf(q, sizeof q, "SELECT id FROM sites WHERE name = '%s'", name);
    return sql_int(scene.db, q);
}

/* The check of the 100 x 75 camera (w x h: 0 x 0 for an unknown image size) at (e, n), 100 m
 * up, nadir; *shot is the shot checked. */
static ko_result *check_at(ko_shot *shot, ko_camera *cam, double e, double n) {
    *shot = scene_shot(cam, e, n, 100, 0, -90);
    return scene_check(shot, NULL);
}

/* The JSON text parsed strictly (RFC 8259, UTF-8 validated); fails the test if it is not. */
static json_object *parse(const char *text) {
    json_tokener *tok = json_tokener_new();
    ck_assert_ptr_nonnull(tok);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, text, (int)strlen(text) + 1);
    ck_assert_msg(o && json_tokener_get_error(tok) == json_tokener_success, "not JSON: %s (%s)",
                  text, json_tokener_error_desc(json_tokener_get_error(tok)));
    json_tokener_free(tok);
    return o;
}

/* ko_result_json() (or with shot NULL ko_result_findings_json()) of r, parsed. */
static json_object *record(const ko_shot *shot, const ko_result *r) {
    char *text = NULL;
    ck_assert_int_eq(shot ? ko_result_json(scene.ctx, shot, r, &text)
                          : ko_result_findings_json(scene.ctx, r, &text),
                     KO_OK);
    json_object *o = parse(text);
    ko_free(text);
    return o;
}

static json_object *get(json_object *o, const char *key) {
    json_object *v = NULL;
    ck_assert_msg(json_object_object_get_ex(o, key, &v), "no field %s in %s", key,
                  json_object_to_json_string(o));
    return v;
}

static const char *get_str(json_object *o, const char *key) {
    json_object *v = get(o, key);
    ck_assert_msg(json_object_is_type(v, json_type_string), "%s is not a string", key);
    return json_object_get_string(v);
}

static double get_num(json_object *o, const char *key) {
    json_object *v = get(o, key);
    ck_assert_msg(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int),
                  "%s is not a number", key);
    return json_object_get_double(v);
}

static void is_null(json_object *o, const char *key) {
    ck_assert_msg(json_object_is_type(get(o, key), json_type_null), "%s is not null", key);
}

/* Asserts a finding object against the scene: site, category, distance to 0.1 m, fraction to
 * 10^-4, GSD within the bounds of check_check (0.9 x the finest pixel to the nadir pixel, at
 * the slant distance), the category's min_gsd_m, disclosed and its rule. */
static void finding_is(json_object *f, const char *name, const char *name_out, const char *cat,
                       double dist, double fraction, double min_gsd, int disclosed) {
    ck_assert_int_eq((long long)get_num(f, "site_id"), site_id(name));
    ck_assert_str_eq(get_str(f, "name"), name_out);
    ck_assert_str_eq(get_str(f, "category"), cat);
    char q[200];
    snprintf(q, sizeof q, "SELECT source_id = '%s' FROM sites WHERE id = %lld",
             get_str(f, "source_id"), site_id(name));
    ck_assert_int_eq(sql_int(scene.db, q), 1);
    ck_assert_double_eq(get_num(f, "distance_m"), round(dist * 10) / 10);
    ck_assert_double_eq_tol(get_num(f, "fraction_in_view"), fraction, 1e-3);
    double g = get_num(f, "fraction_in_view") * 1e4;
    ck_assert_double_eq_tol(g, round(g), 1e-6); /* rounded to 10^-4 */
    double slant = hypot(100, dist), gsd = get_num(f, "gsd_m");
    ck_assert_msg(gsd >= 0.9 * slant * A * CORNER && gsd <= slant * A + 1e-6, "%s: GSD %g", name,
                  gsd);
    ck_assert_double_eq(get_num(f, "min_gsd_m"), min_gsd);
    ck_assert_int_eq(json_object_get_boolean(get(f, "disclosed")), disclosed);
    ck_assert_ptr_nonnull(
        strstr(get_str(f, "rule"), disclosed ? "disclosed" : "too coarse to disclose"));
    ck_assert_int_eq(json_object_object_length(f), 10); /* nothing else */
}

/* The flagged record at nadir: every field, in the order `keepout check` writes them, with
 * R1's name replaced by the hostile one in the store. */
START_TEST(test_summary_flagged_record_fields) {
    sql_exec(scene.db, "UPDATE sites SET name = ?1 WHERE name = 'R1 plant'", hostile);
    long long r1 = sql_int(scene.db, "SELECT id FROM sites WHERE name LIKE 'Q%'");
    ko_camera cam = scene_camera(100, 75);
    ko_shot shot;
    ko_result *r = check_at(&shot, &cam, 0, 0);
    shot.source = "/flights/a \"b\".jpg";
    shot.id = "a \"b\".jpg";
    shot.time = "2026-12-05T11:00:00Z";
    const char *keys[] = {"camera", "verdict", "camera", "gimbal"};
    const char *values[] = {"FC300S", "clear", "other", "tilt\x01\xfe"};
    shot.n_extra = 4, shot.extra_keys = keys, shot.extra_values = values;
    json_object *o = record(&shot, r);
    /* the field set and its order (then the pass-through columns not already there) */
    static const char *const order[] = {
        "id",         "source",     "time",       "verdict",   "reason", "hit_count",
        "site_ids",   "site_names", "categories", "min_gsd_m", "hits",   "in_view_unresolved",
        "camera_lat", "camera_lon", "camera",     "gimbal"};
    size_t k = 0;
    json_object_object_foreach(o, key, val) {
        (void)val;
        ck_assert_uint_lt(k, sizeof order / sizeof *order);
        ck_assert_str_eq(key, order[k++]);
    }
    ck_assert_uint_eq(k, sizeof order / sizeof *order);
    ck_assert_str_eq(get_str(o, "id"), "a \"b\".jpg");
    ck_assert_str_eq(get_str(o, "source"), "/flights/a \"b\".jpg");
    ck_assert_str_eq(get_str(o, "time"), "2026-12-05T11:00:00Z");
    ck_assert_str_eq(get_str(o, "verdict"), "flagged");
    ck_assert_str_eq(get_str(o, "reason"), "2 site(s) in view and resolved");
    ck_assert_int_eq(json_object_get_int(get(o, "hit_count")), 2);
    ck_assert(json_object_is_type(get(o, "hit_count"), json_type_int));
    char ids[64];
    snprintf(ids, sizeof ids, "%lld;%lld", r1, site_id("R3 plant"));
    ck_assert_str_eq(get_str(o, "site_ids"), ids);
    char names[200];
    snprintf(names, sizeof names, "%s;R3 plant", hostile_out);
    ck_assert_str_eq(get_str(o, "site_names"), names);
    ck_assert_str_eq(get_str(o, "categories"), "power_plant;power_plant");
    /* the finest GSD of the two disclosed */
    json_object *hits = get(o, "hits"), *seen = get(o, "in_view_unresolved");
    ck_assert_uint_eq(json_object_array_length(hits), 2);
    ck_assert_uint_eq(json_object_array_length(seen), 1);
    double g1 = get_num(json_object_array_get_idx(hits, 0), "gsd_m");
    double g3 = get_num(json_object_array_get_idx(hits, 1), "gsd_m");
    ck_assert_double_eq(get_num(o, "min_gsd_m"), fmin(g1, g3));
    /* findings: R1 under its hostile name, R3, then the unresolved R2 */
    json_object *f1 = json_object_array_get_idx(hits, 0);
    sql_exec(scene.db, "UPDATE sites SET name = 'R1 plant' WHERE name LIKE 'Q%'", NULL);
    finding_is(f1, "R1 plant", hostile_out, "power_plant", hypot(24.3, 14.85), 1.0, 2, 1);
    finding_is(json_object_array_get_idx(hits, 1), "R3 plant", "R3 plant", "power_plant", 70, 0.5,
               2, 1);
    finding_is(json_object_array_get_idx(seen, 0), "R2 bridge", "R2 bridge", "bridge",
               hypot(20, 10), 1.0, 1, 0);
    ck_assert_double_eq_tol(get_num(o, "camera_lat"), SCENE_LAT, 1e-9);
    ck_assert_double_eq_tol(get_num(o, "camera_lon"), SCENE_LON, 1e-9);
    /* pass-through: the first "camera"; "verdict" is the result's, never the column's */
    ck_assert_str_eq(get_str(o, "camera"), "FC300S");
    ck_assert_str_eq(get_str(o, "gimbal"), "tilt\001\\xfe");
    json_object_put(o);
    /* the findings on their own: all three, in the result's order */
    o = record(NULL, r);
    ck_assert_uint_eq(json_object_array_length(o), 3);
    const char *want[] = {"R2 bridge", "R1 plant", "R3 plant"};
    for (size_t i = 0; i < 3; i++) {
        json_object *f = json_object_array_get_idx(o, i);
        ck_assert_str_eq(get_str(f, "name"), i == 1 ? hostile_out : want[i]);
        ck_assert_int_eq(json_object_get_boolean(get(f, "disclosed")), i > 0);
    }
    json_object_put(o);
    ko_result_destroy(r);
}
END_TEST

/* The summary struct: the same numbers as the record, its strings owned by it. */
START_TEST(test_summary_struct) {
    ko_camera cam = scene_camera(100, 75);
    ko_shot shot;
    ko_result *r = check_at(&shot, &cam, 0, 0);
    ko_result_summary s;
    ko_result_summary_init(&s);
    ck_assert_uint_eq(s.size, sizeof s);
    ck_assert(isnan(s.min_gsd_m));
    ck_assert_int_eq(ko_result_summarize(scene.ctx, r, &s), KO_OK);
    ck_assert_int_eq(s.verdict, KO_FLAGGED);
    ck_assert_int_eq(s.checked, 1);
    ck_assert_ptr_eq(s.reason, ko_result_reason(r));
    ck_assert_uint_eq(s.hit_count, 2);
    char ids[64];
    snprintf(ids, sizeof ids, "%lld;%lld", site_id("R1 plant"), site_id("R3 plant"));
    ck_assert_str_eq(s.site_ids, ids);
    ck_assert_str_eq(s.site_names, "R1 plant;R3 plant");
    ck_assert_str_eq(s.categories, "power_plant;power_plant");
    double slant = hypot(100, hypot(24.3, 14.85));
    ck_assert(s.min_gsd_m >= 0.9 * slant * A * CORNER && s.min_gsd_m <= slant * A + 1e-6);
    /* summarising again replaces the strings (no leak under ASan) */
    ck_assert_int_eq(ko_result_summarize(scene.ctx, r, &s), KO_OK);
    ko_result_summary_clear(&s);
    ck_assert_ptr_null(s.site_ids);
    ck_assert_uint_eq(s.size, sizeof s);
    ko_result_summary_clear(NULL);
    /* a summary not set up by its init function is refused, naming the struct */
    ko_result_summary bad;
    memset(&bad, 0, sizeof bad);
    ck_assert_int_eq(ko_result_summarize(scene.ctx, r, &bad), KO_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ko_errmsg(scene.ctx), "ko_result_summary"));
    ck_assert_int_eq(ko_result_summarize(scene.ctx, NULL, &s), KO_ERR_ARG);
    ko_result_destroy(r);
}
END_TEST

/* Clear with an unresolved site, clear with nothing in view, and unknown (no GPS): the flat
 * fields empty, min_gsd_m null, no camera position where there is none. */
START_TEST(test_summary_clear_and_unknown_records) {
    ko_camera cam = scene_camera(100, 75);
    ko_shot shot;
    ko_result *r = check_at(&shot, &cam, -60, 0);
    json_object *o = record(&shot, r);
    ck_assert_str_eq(get_str(o, "verdict"), "clear");
    ck_assert_str_eq(get_str(o, "id"), "shot");
    ck_assert_str_eq(get_str(o, "source"), "scene");
    is_null(o, "time");
    ck_assert_int_eq(json_object_get_int(get(o, "hit_count")), 0);
    ck_assert_str_eq(get_str(o, "site_ids"), "");
    ck_assert_str_eq(get_str(o, "site_names"), "");
    ck_assert_str_eq(get_str(o, "categories"), "");
    is_null(o, "min_gsd_m");
    ck_assert_uint_eq(json_object_array_length(get(o, "hits")), 0);
    ck_assert_uint_eq(json_object_array_length(get(o, "in_view_unresolved")), 1);
    finding_is(json_object_array_get_idx(get(o, "in_view_unresolved"), 0), "R2 bridge", "R2 bridge",
               "bridge", hypot(30, 10), 1.0, 1, 0);
    double lon, lat;
    scene_ll(-60, 0, &lon, &lat);
    ck_assert_double_eq_tol(get_num(o, "camera_lon"), lon, 1e-9);
    json_object_put(o);
    ko_result_destroy(r);

    shot = scene_shot(&cam, 0, 0, 100, 0, -90);
    shot.pose.lat = shot.pose.lon = NAN;
    r = scene_check(&shot, NULL);
    o = record(&shot, r);
    ck_assert_str_eq(get_str(o, "verdict"), "unknown");
    ck_assert_str_eq(get_str(o, "reason"), ko_result_reason(r));
    ck_assert_int_eq(json_object_get_int(get(o, "hit_count")), 0);
    is_null(o, "min_gsd_m");
    ck_assert(!json_object_object_get_ex(o, "camera_lat", NULL));
    ck_assert(!json_object_object_get_ex(o, "camera_lon", NULL));
    json_object_put(o);
    char *text = NULL;
    ck_assert_int_eq(ko_result_json(scene.ctx, NULL, r, &text), KO_ERR_ARG);
    ko_result_destroy(r);
}
END_TEST

/* Without an image size no GSD is known: all three sites in view are disclosed (check_check),
 * every gsd_m is null and so is the finest. */
START_TEST(test_summary_unknown_gsd_is_null) {
    ko_camera cam = scene_camera(0, 0);
    ko_shot shot;
    ko_result *r = check_at(&shot, &cam, 0, 0);
    ko_result_summary s;
    ko_result_summary_init(&s);
    ck_assert_int_eq(ko_result_summarize(scene.ctx, r, &s), KO_OK);
    ck_assert_uint_eq(s.hit_count, 3);
    ck_assert(isnan(s.min_gsd_m));
    ck_assert_str_eq(s.site_names, "R2 bridge;R1 plant;R3 plant");
    ko_result_summary_clear(&s);
    json_object *o = record(&shot, r);
    is_null(o, "min_gsd_m");
    json_object *hits = get(o, "hits");
    ck_assert_uint_eq(json_object_array_length(hits), 3);
    for (size_t i = 0; i < 3; i++)
        is_null(json_object_array_get_idx(hits, i), "gsd_m");
    json_object_put(o);
    ko_result_destroy(r);
}
END_TEST

/* The footprint's WKT: POLYGON of the 150 x 112.5 m nadir rectangle, each number with 9
 * decimals, the ring closed and counterclockwise (OGC simple features and RFC 7946's
 * right-hand rule for exterior rings), its vertices those of ko_footprint_ring(). */
START_TEST(test_summary_footprint_wkt) {
    ko_camera cam = scene_camera(100, 75);
    ko_shot shot;
    ko_result *r = check_at(&shot, &cam, 0, 0);
    const ko_footprint *fp = ko_result_footprint(r);
    char *wkt = NULL;
    ck_assert_int_eq(ko_footprint_wkt(scene.ctx, fp, &wkt), KO_OK);
    ck_assert_msg(!strncmp(wkt, "POLYGON ((", 10), "%s", wkt);
    ck_assert_str_eq(wkt + strlen(wkt) - 2, "))");
    double xy[2 * 64];
    size_t n = 0;
    for (const char *p = wkt + 10; *p != ')'; n++) {
        ck_assert_uint_lt(n, 64);
        for (int c = 0; c < 2; c++) {
            char *end;
            xy[2 * n + c] = strtod(p, &end);
            const char *dot = strchr(p, '.');
            ck_assert_msg(dot && dot < end && end - dot - 1 == 9, "not 9 decimals: %.20s", p);
            p = end + (c == 0 ? 1 : 0);
        }
        ck_assert_msg(*p == ',' || *p == ')', "%s", p);
        if (*p == ',') p += 2;
    }
    size_t m;
    const double *ring = ko_footprint_ring(fp, &m);
    ck_assert_uint_eq(n, m);
    ck_assert_uint_ge(n, 5);
    ck_assert(xy[0] == xy[2 * n - 2] && xy[1] == xy[2 * n - 1]); /* closed */
    double area2 = 0, lo[2] = {1e9, 1e9}, hi[2] = {-1e9, -1e9};
    for (size_t i = 0; i < n; i++) {
        ck_assert_double_eq_tol(xy[2 * i], ring[2 * i], 1e-9);
        ck_assert_double_eq_tol(xy[2 * i + 1], ring[2 * i + 1], 1e-9);
        if (i + 1 < n) area2 += xy[2 * i] * xy[2 * i + 3] - xy[2 * i + 2] * xy[2 * i + 1];
        for (int c = 0; c < 2; c++)
            lo[c] = fmin(lo[c], xy[2 * i + c]), hi[c] = fmax(hi[c], xy[2 * i + c]);
    }
    ck_assert_double_gt(area2, 0); /* counterclockwise in (lon, lat) */
    double w[2], e[2];
    scene_ll(-75, -56.25, &w[0], &w[1]);
    scene_ll(75, 56.25, &e[0], &e[1]);
    for (int c = 0; c < 2; c++) { /* within 2 cm of the rectangle */
        ck_assert_double_eq_tol(lo[c], w[c], 3e-7);
        ck_assert_double_eq_tol(hi[c], e[c], 3e-7);
    }
    ko_free(wkt);
    ko_result_destroy(r);
}
END_TEST

/* Text to show: C0/DEL and bytes that are not UTF-8 as \xHH, C1, bidirectional controls and
 * line separators as \uHHHH; quotes, backslashes, other non-ASCII characters kept as they are. */
START_TEST(test_summary_text_clean) {
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {NULL, ""},
        {"Q\"uote\\back", "Q\"uote\\back"},
        {"a\nb\tc\x1b[2J\x7f", "a\\x0ab\\x09c\\x1b[2J\\x7f"},
        {"\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80", "\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80"},
        {"\xc2\x85 \xe2\x80\xae \xe2\x80\xa8 \xd8\x9c", "\\u0085 \\u202e \\u2028 \\u061c"},
        {"\xff\xc3( \xed\xa0\x80 \xe2\x80", "\\xff\\xc3( \\xed\\xa0\\x80 \\xe2\\x80"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *t = NULL;
        ck_assert_int_eq(ko_text_clean(NULL, cases[i].in, &t), KO_OK);
        ck_assert_str_eq(t, cases[i].out);
        ko_free(t);
    }
    ck_assert_int_eq(ko_text_clean(scene.ctx, "x", NULL), KO_ERR_ARG);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_summary_flagged_record_fields,
                            test_summary_struct,
                            test_summary_clear_and_unknown_records,
                            test_summary_unknown_gsd_is_null,
                            test_summary_footprint_wkt,
                            test_summary_text_clean};
    return unit_run(&SCENE_SUITE("summary", scene_setup), tests, UNIT_COUNT(tests));
}
