// gdal_KEEPOUT: the KEEPOUT driver. A thin C++ shim over libkeepout: GDAL's driver ABI is C++,
// so this file holds registration, a dataset whose bands proxy the image's bands (blanking
// redacted pixels), a mask band and an OGR layer. Every decision is libkeepout's; every
// callback catches everything, so no C++ exception crosses into GDAL's C callers.
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "cpl_conv.h"
#include "cpl_error.h"
#include "cpl_json.h"
#include "cpl_string.h"
#include "cpl_vsi.h"
#include "gdal_priv.h"
#include "keepout/keepout.h"
#include "ogrsf_frmts.h"

namespace {

constexpr const char *kPrefix = "KEEPOUT:";

// One open dataset's libkeepout state: its own context (a dataset is used from one thread at
// a time), the site store, an optional DEM, and the caller's release policy.
struct Session {
    ko_context *ctx = nullptr;
    ko_sites *sites = nullptr;
    ko_dem *dem = nullptr;
    ko_check_options opts{};  // opts.footprint points at fopts: a Session is never copied
    ko_footprint_options fopts{};
    ko_release_policy policy{};
    ko_reader_options ropts{};  // its include/exclude point into globs_
    std::string store;

    Session() = default;
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;
    ~Session() {
        ko_sites_close(sites);
        ko_dem_close(dem);
        ko_context_destroy(ctx);
    }

    // false: an error already reported with CPLError. A store that is missing or cannot be
    // used is an error here, in every mode and for raster and vector alike: nothing opens
    // that could not be checked.
    bool Init(CSLConstList oo) {
        if (ko_context_create(&ctx) != KO_OK) {
            CPLError(CE_Failure, CPLE_OutOfMemory, "KEEPOUT: cannot create a keepout context");
            return false;
        }
        ko_check_options_init(&opts);
        ko_footprint_options_init(&fopts);
        opts.footprint = &fopts;
        ko_release_policy_init(&policy);
        const char *mode = CSLFetchNameValueDef(oo, "MODE", "tag");
        if (EQUAL(mode, "tag")) {
            policy.mode = KO_MODE_TAG;
        } else if (EQUAL(mode, "redact")) {
            policy.mode = KO_MODE_REDACT;
        } else if (EQUAL(mode, "strict")) {
            policy.mode = KO_MODE_STRICT;
        } else {
            CPLError(CE_Failure, CPLE_IllegalArg, "KEEPOUT: MODE=%s: must be tag, redact or strict",
                     mode);
            return false;
        }
        const char *range = CSLFetchNameValue(oo, "MAX_RANGE");
        if (range) {
            char *end = nullptr;
            double v = CPLStrtod(range, &end);
            if (!end || *end || !(v > 0)) {
                CPLError(CE_Failure, CPLE_IllegalArg,
                         "KEEPOUT: MAX_RANGE=%s is not a positive "
                         "number of metres",
                         range);
                return false;
            }
            fopts.max_range_m = v;
        }
        const char *unk = CSLFetchNameValueDef(oo, "UNKNOWN_IS", "flagged");
        if (!EQUAL(unk, "flagged") && !EQUAL(unk, "clear")) {
            CPLError(CE_Failure, CPLE_IllegalArg,
                     "KEEPOUT: UNKNOWN_IS=%s: must be flagged or clear", unk);
            return false;
        }
        policy.unknown_is = EQUAL(unk, "clear") ? KO_CLEAR : KO_FLAGGED;
        const char *dem_path = CSLFetchNameValue(oo, "DEM");
        if (dem_path && ko_dem_open(ctx, dem_path, &dem) != KO_OK) {
            CPLError(CE_Failure, CPLE_OpenFailed, "KEEPOUT: DEM=%s: %s", dem_path, ko_errmsg(ctx));
            return false;
        }
        fopts.dem = dem;
        if (!ReaderOptions(oo)) return false;
        const char *s = CSLFetchNameValue(oo, "SITES");
        if (!s) s = ko_sites_default(0);
        if (!s || !*s) {
            CPLError(CE_Failure, CPLE_OpenFailed,
                     "KEEPOUT: no site store, so nothing can be checked: give the open option "
                     "SITES=FILE or the configuration option KEEPOUT_SITES (a store built with "
                     "'keepout sites import')");
            return false;
        }
        store = s;
        double limit = 0;
        // the library's one index-loading rule: the store's index file (written again if it
        // is not current), for a photo as for a folder
        if (ko_sites_open(ctx, s, KO_SITES_READONLY, &sites) != KO_OK ||
            ko_sites_prepare(sites, 0, nullptr) != KO_OK ||
            ko_sites_gsd_limit(sites, &limit) != KO_OK) {
            CPLError(CE_Failure, CPLE_OpenFailed,
                     "KEEPOUT: site store %s cannot be used, so nothing can be checked: %s", s,
                     ko_errmsg(ctx));
            return false;
        }
        fopts.gsd_limit_m = limit;
        return true;
    }

   private:
    std::vector<std::string> globs_;
    std::vector<const char *> include_, exclude_;
    std::string camera_;  // CAMERA=NAME, kept for ropts.camera

    // A number option within [lo, hi]: true and *v set, or absent (true, *v untouched), or an
    // error reported.
    static bool Number(CSLConstList oo, const char *name, double lo, double hi, double *v) {
        const char *text = CSLFetchNameValue(oo, name);
        if (!text) return true;
        char *end = nullptr;
        double x = CPLStrtod(text, &end);
        if (!end || end == text || *end || !(x >= lo && x <= hi)) {
            CPLError(CE_Failure, CPLE_IllegalArg, "KEEPOUT: %s=%s: must be a number in [%g, %g]",
                     name, text, lo, hi);
            return false;
        }
        *v = x;
        return true;
    }

    // Comma-separated globs as a NULL-terminated list (empty: none given).
    void Globs(CSLConstList oo, const char *name, std::vector<const char *> &out) {
        const char *text = CSLFetchNameValue(oo, name);
        if (!text) return;
        CPLStringList parts(
            CSLTokenizeString2(text, ",", CSLT_STRIPLEADSPACES | CSLT_STRIPENDSPACES));
        if (parts.size() == 0) return;
        for (int i = 0; i < parts.size(); i++)
            globs_.emplace_back(parts[i]);
        out.assign(parts.size() + 1, nullptr);
    }

    // The readers' options, as the command line's --assume-nadir, --every, --interval,
    // --focal35, --camera, --include and --exclude set them.
    bool ReaderOptions(CSLConstList oo) {
        ko_reader_options_init(&ropts);
        ropts.assume_nadir = CPLFetchBool(oo, "ASSUME_NADIR", false);
        ropts.below_takeoff = dem != nullptr;  // the DEM places such cameras, as in the CLI
        double every = 1, interval = 0, focal35 = 0;
        if (!Number(oo, "EVERY_N", 1, 1e9, &every) || !Number(oo, "INTERVAL", 0, 1e9, &interval) ||
            !Number(oo, "FOCAL35", 1, 2000, &focal35))
            return false;
        if (every != std::floor(every)) {
            CPLError(CE_Failure, CPLE_IllegalArg, "KEEPOUT: EVERY_N=%g: must be a whole number",
                     every);
            return false;
        }
        ropts.every_n = static_cast<uint32_t>(every);
        ropts.interval_s = interval;
        ropts.focal35_mm = focal35;
        if (const char *cam = CSLFetchNameValue(oo, "CAMERA")) {
            camera_ = cam;
            ropts.camera = camera_.c_str();
        }
        Globs(oo, "INCLUDE", include_);
        size_t n_include = globs_.size();
        Globs(oo, "EXCLUDE", exclude_);
        // the strings are all in place now: point at them
        for (size_t i = 0; i + 1 < include_.size(); i++)
            include_[i] = globs_[i].c_str();
        for (size_t i = 0; i + 1 < exclude_.size(); i++)
            exclude_[i] = globs_[n_include + i].c_str();
        ropts.include = include_.empty() ? nullptr : include_.data();
        ropts.exclude = exclude_.empty() ? nullptr : exclude_.data();
        return true;
    }
};

// The verdict on one shot as plain values (the ko_result is freed right after): the library's
// summary (ko_result_summarize), findings (ko_result_findings_json) and footprint WKT
// (ko_footprint_wkt), in the vocabulary of every keepout face.
struct Verdict {
    ko_verdict verdict = KO_UNKNOWN;
    std::string reason, wkt, hits_json, site_ids, site_names, categories;
    size_t hit_count = 0;
    double min_gsd_m = NAN;
};

// A string the library allocated, as std::string; freed here.
std::string Take(char *s) {
    std::string out = s ? s : "";
    ko_free(s);
    return out;
}

// Text from outside (site names, categories, reasons, paths) as metadata or a message shows
// it: ko_text_clean's escapes, so no name can forge a gdalinfo line or drive the terminal.
std::string Shown(ko_context *ctx, const std::string &s) {
    char *t = nullptr;
    if (ko_text_clean(ctx, s.c_str(), &t) != KO_OK) throw std::bad_alloc();
    return Take(t);
}

bool Describe(ko_context *ctx, const ko_result *res, Verdict &v) {
    ko_result_summary sum;
    ko_result_summary_init(&sum);
    char *hits = nullptr, *wkt = nullptr;
    const ko_footprint *fp = ko_result_footprint(res);
    if (ko_result_summarize(ctx, res, &sum) != KO_OK ||
        ko_result_findings_json(ctx, res, &hits) != KO_OK ||
        (fp && ko_footprint_wkt(ctx, fp, &wkt) != KO_OK)) {
        ko_result_summary_clear(&sum);
        ko_free(hits);
        return false;
    }
    v.verdict = sum.verdict;
    v.reason = sum.reason;
    v.hit_count = sum.hit_count;
    v.min_gsd_m = sum.min_gsd_m;
    v.site_ids = sum.site_ids;
    v.site_names = sum.site_names;
    v.categories = sum.categories;
    v.hits_json = Take(hits);
    v.wkt = Take(wkt);
    ko_result_summary_clear(&sum);
    return true;
}

// Checks one shot. A failure of the store (or of memory) gives no result (the image was not
// checked) and the verdict unknown with the reason, never clear.
std::unique_ptr<ko_result, void (*)(ko_result *)> Check(Session &s, const ko_shot &shot,
                                                        Verdict &v) {
    std::unique_ptr<ko_result, void (*)(ko_result *)> res(nullptr, ko_result_destroy);
    ko_result *r = nullptr;
    if (ko_check_shot(s.ctx, s.sites, &shot, &s.opts, &r) != KO_OK) {
        v.verdict = KO_UNKNOWN;
        v.reason = std::string("site store ") + s.store + " failed: " + ko_errmsg(s.ctx);
        return res;
    }
    res.reset(r);
    if (!Describe(s.ctx, r, v)) {
        v = Verdict();
        v.reason = std::string("cannot describe the result: ") + ko_errmsg(s.ctx);
        res.reset();
    }
    return res;
}

/* ---------------------------------------------------------------------------------------- */
/* Raster: KEEPOUT:<image>                                                                  */

class KeepoutRasterDataset;

class KeepoutMaskBand final : public GDALRasterBand {
   public:
    KeepoutMaskBand(KeepoutRasterDataset *ds, int w, int h) {
        poDS = reinterpret_cast<GDALDataset *>(ds);
        nBand = 0;
        nRasterXSize = w;
        nRasterYSize = h;
        eDataType = GDT_Byte;
        nBlockXSize = w;
        nBlockYSize = 1;
    }
    CPLErr IReadBlock(int, int y, void *data) override;
};

class KeepoutBand final : public GDALRasterBand {
   public:
    KeepoutBand(KeepoutRasterDataset *ds, int band, GDALRasterBand *src, bool redact);
    CPLErr IReadBlock(int, int y, void *data) override;
    GDALColorInterp GetColorInterpretation() override {
        return src_->GetColorInterpretation();
    }
    int GetMaskFlags() override {
        return redact_ ? GMF_PER_DATASET : GMF_ALL_VALID;
    }
    GDALRasterBand *GetMaskBand() override;
    CPLErr IRasterIO(GDALRWFlag rw, int x, int y, int w, int h, void *data, int bw, int bh,
                     GDALDataType type, GSpacing ps, GSpacing ls,
                     GDALRasterIOExtraArg *extra) override;

   private:
    GDALRasterBand *src_;
    bool redact_;
};

class KeepoutRasterDataset final : public GDALDataset {
   public:
    ~KeepoutRasterDataset() override {
        delete mask_band_;
        if (src_) GDALClose(src_);
    }
    static GDALDataset *Open(GDALOpenInfo *info, const char *path);
    const uint8_t *Mask() const {
        return mask_.empty() ? nullptr : mask_.data();
    }
    GDALRasterBand *MaskBand() {
        return mask_band_;
    }
    CPLErr IRasterIO(GDALRWFlag rw, int x, int y, int w, int h, void *data, int bw, int bh,
                     GDALDataType type, int nbands, int *bands, GSpacing ps, GSpacing ls,
                     GSpacing bs, GDALRasterIOExtraArg *extra) override;
    // Blanks the pixels of a read window (w x h of the image, delivered as bw x bh) that the
    // mask marks: nearest source pixel of each delivered pixel.
    void Blank(int x, int y, int w, int h, void *data, int bw, int bh, GDALDataType type,
               int nbands, GSpacing ps, GSpacing ls, GSpacing bs) const {
        if (mask_.empty()) return;
        const int size = GDALGetDataTypeSizeBytes(type);
        for (int j = 0; j < bh; j++) {
            const int sy = y + static_cast<int>((j + 0.5) * h / bh);
            const uint8_t *row = mask_.data() + static_cast<size_t>(sy) * nRasterXSize;
            for (int i = 0; i < bw; i++) {
                if (!row[x + static_cast<int>((i + 0.5) * w / bw)]) continue;
                for (int b = 0; b < nbands; b++)
                    memset(static_cast<uint8_t *>(data) + b * bs + j * ls + i * ps, 0, size);
            }
        }
    }
    int GetGCPCount() override {
        return static_cast<int>(gcps_.size());
    }
    const GDAL_GCP *GetGCPs() override {
        return gcps_.empty() ? nullptr : gcps_.data();
    }
    const OGRSpatialReference *GetGCPSpatialRef() const override {
        return gcps_.empty() ? nullptr : &wgs84_;
    }
    CPLErr GetGeoTransform(double *gt) override {
        if (!has_gt_) return CE_Failure;
        memcpy(gt, gt_, sizeof gt_);
        return CE_None;
    }
    const OGRSpatialReference *GetSpatialRef() const override {
        return has_gt_ ? &wgs84_ : nullptr;
    }
    void Georeference(Session &s, const ko_shot &shot);
    GDALDataset *src_ = nullptr;
    std::vector<uint8_t> mask_;
    KeepoutMaskBand *mask_band_ = nullptr;

   private:
    std::vector<GDAL_GCP> gcps_;
    std::vector<std::string> gcp_ids_;
    OGRSpatialReference wgs84_;
    double gt_[6] = {0, 1, 0, 0, 0, 1};
    bool has_gt_ = false;
};

// Ground control points in EPSG:4326 from the camera model: a 7 x 7 grid over the image
// (corners and edges included), each pixel's ray cast as the footprint's are (the DEM when
// one is given, else flat ground at take-off level), kept where it meets the ground within
// range. gdalwarp, and QGIS, then place the photo on the map. Where GDAL itself finds the grid
// affine to a quarter pixel (GDALGCPsToGeoTransform, not approximate: a straight-down photo of
// flat ground), the geotransform too, which gdalbuildvrt needs.
void KeepoutRasterDataset::Georeference(Session &s, const ko_shot &shot) {
    constexpr int kGrid = 7;
    const double w = nRasterXSize, h = nRasterYSize;
    // The camera's pixels may be another size than the raster's (a preview, a resampled copy).
    const double sx = shot.camera.width_px ? shot.camera.width_px / w : 1.0;
    const double sy = shot.camera.height_px ? shot.camera.height_px / h : 1.0;
    double uv[2 * kGrid * kGrid], out[3 * kGrid * kGrid];
    unsigned char hit[kGrid * kGrid];
    for (int j = 0; j < kGrid; j++)
        for (int i = 0; i < kGrid; i++) {
            uv[2 * (j * kGrid + i)] = i * w / (kGrid - 1) * sx;
            uv[2 * (j * kGrid + i) + 1] = j * h / (kGrid - 1) * sy;
        }
    if (ko_footprint_ground_points(s.ctx, &shot.camera, &shot.pose, &s.fopts, kGrid * kGrid, uv,
                                   out, hit) != KO_OK)
        return;
    for (int k = 0; k < kGrid * kGrid; k++)
        if (hit[k]) gcp_ids_.push_back(std::to_string(gcp_ids_.size() + 1));
    if (gcp_ids_.size() < 3) {  // no plane to place the photo by
        gcp_ids_.clear();
        return;
    }
    gcps_.resize(gcp_ids_.size());
    for (int k = 0, g = 0; k < kGrid * kGrid; k++) {
        if (!hit[k]) continue;
        GDAL_GCP &p = gcps_[g];
        p.pszId = const_cast<char *>(gcp_ids_[g].c_str());
        p.pszInfo = const_cast<char *>("");
        p.dfGCPPixel = uv[2 * k] / sx;
        p.dfGCPLine = uv[2 * k + 1] / sy;
        p.dfGCPX = out[3 * k];
        p.dfGCPY = out[3 * k + 1];
        p.dfGCPZ = out[3 * k + 2];
        g++;
    }
    wgs84_.SetWellKnownGeogCS("WGS84");
    wgs84_.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    has_gt_ = GDALGCPsToGeoTransform(static_cast<int>(gcps_.size()), gcps_.data(), gt_, FALSE);
}

KeepoutBand::KeepoutBand(KeepoutRasterDataset *ds, int band, GDALRasterBand *src, bool redact)
    : src_(src), redact_(redact) {
    poDS = ds;
    nBand = band;
    nRasterXSize = ds->GetRasterXSize();
    nRasterYSize = ds->GetRasterYSize();
    eDataType = src->GetRasterDataType();
    nBlockXSize = nRasterXSize;
    nBlockYSize = 1;
}

CPLErr KeepoutBand::IReadBlock(int, int y, void *data) {
    try {
        CPLErr err = src_->RasterIO(GF_Read, 0, y, nRasterXSize, 1, data, nRasterXSize, 1,
                                    eDataType, 0, 0, nullptr);
        const uint8_t *mask = static_cast<KeepoutRasterDataset *>(poDS)->Mask();
        if (err != CE_None || !redact_ || !mask) return err;
        // Overwrite, not just mask: a mask band alone is advisory and gdal_translate keeps
        // the pixels.
        const int size = GDALGetDataTypeSizeBytes(eDataType);
        const uint8_t *row = mask + static_cast<size_t>(y) * nRasterXSize;
        for (int x = 0; x < nRasterXSize; x++)
            if (row[x])
                memset(static_cast<uint8_t *>(data) + static_cast<size_t>(x) * size, 0, size);
        return CE_None;
    } catch (...) {
        CPLError(CE_Failure, CPLE_AppDefined, "KEEPOUT: unexpected error reading a block");
        return CE_Failure;
    }
}

// Reads go straight to the image's own RasterIO (no second block cache): MODE=tag must cost
// about what a plain copy costs.
CPLErr KeepoutBand::IRasterIO(GDALRWFlag rw, int x, int y, int w, int h, void *data, int bw, int bh,
                              GDALDataType type, GSpacing ps, GSpacing ls,
                              GDALRasterIOExtraArg *extra) {
    try {
        if (rw != GF_Read) return CE_Failure;
        CPLErr err = src_->RasterIO(GF_Read, x, y, w, h, data, bw, bh, type, ps, ls, extra);
        if (err == CE_None && redact_)
            static_cast<KeepoutRasterDataset *>(poDS)->Blank(x, y, w, h, data, bw, bh, type, 1, ps,
                                                             ls, 0);
        return err;
    } catch (...) {
        CPLError(CE_Failure, CPLE_AppDefined, "KEEPOUT: unexpected error reading pixels");
        return CE_Failure;
    }
}

CPLErr KeepoutRasterDataset::IRasterIO(GDALRWFlag rw, int x, int y, int w, int h, void *data,
                                       int bw, int bh, GDALDataType type, int nbands, int *bands,
                                       GSpacing ps, GSpacing ls, GSpacing bs,
                                       GDALRasterIOExtraArg *extra) {
    try {
        if (rw != GF_Read) return CE_Failure;
        CPLErr err = src_->RasterIO(GF_Read, x, y, w, h, data, bw, bh, type, nbands, bands, ps, ls,
                                    bs, extra);
        if (err == CE_None) Blank(x, y, w, h, data, bw, bh, type, nbands, ps, ls, bs);
        return err;
    } catch (...) {
        CPLError(CE_Failure, CPLE_AppDefined, "KEEPOUT: unexpected error reading pixels");
        return CE_Failure;
    }
}

GDALRasterBand *KeepoutBand::GetMaskBand() {
    if (!redact_) return GDALRasterBand::GetMaskBand();
    return static_cast<KeepoutRasterDataset *>(poDS)->MaskBand();
}

CPLErr KeepoutMaskBand::IReadBlock(int, int y, void *data) {
    const uint8_t *mask = reinterpret_cast<KeepoutRasterDataset *>(poDS)->Mask();
    auto *out = static_cast<uint8_t *>(data);
    for (int x = 0; x < nRasterXSize; x++)
        out[x] = mask && mask[static_cast<size_t>(y) * nRasterXSize + x] ? 0 : 255;
    return CE_None;
}

GDALDataset *KeepoutRasterDataset::Open(GDALOpenInfo *info, const char *path) {
    CSLConstList oo = info->papszOpenOptions;
    Session s;
    if (!s.Init(oo)) return nullptr;
    const char *mode = CSLFetchNameValueDef(oo, "MODE", "tag");
    ko_reader *reader = nullptr;
    ko_shot shot{};
    Verdict v;
    std::unique_ptr<ko_result, void (*)(ko_result *)> res(nullptr, ko_result_destroy);
    if (ko_reader_open(s.ctx, path, &s.ropts, &reader) != KO_OK) {
        v.reason = ko_errmsg(s.ctx);
    } else if (ko_reader_next(reader, &shot) != KO_OK) {
        v.reason = std::string(path) + ": no photo metadata";
    } else {
        res = Check(s, shot, v);
    }
    // The library decides: release, redact or refuse. The driver has no rule of its own.
    const char *why = nullptr;
    const ko_decision decision = ko_release_decide(&s.policy, res.get(), &why);
    const std::string reason = Shown(s.ctx, v.reason), sites = Shown(s.ctx, v.site_names);
    if (decision == KO_REFUSE) {
        CPLError(CE_Failure, CPLE_AppDefined, "KEEPOUT: MODE=%s refuses %s (%s): %s: %s%s%s", mode,
                 path, ko_verdict_str(v.verdict), why, reason.c_str(),
                 sites.empty() ? "" : "; sites: ", sites.c_str());
        ko_reader_close(reader);
        return nullptr;
    }
    // A photo needs no sidecar lookup: listing a directory of 10,000 JPEGs for each open
    // would dominate the cost.
    CPLConfigOptionSetter no_readdir("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR", true);
    // Only a regular file's pixels are opened: a FIFO named *.jpg would block here forever.
    VSIStatBufL st;
    if (VSIStatL(path, &st) == 0 && !VSI_ISREG(st.st_mode)) {
        CPLError(CE_Failure, CPLE_OpenFailed, "KEEPOUT: %s", reason.c_str());
        ko_reader_close(reader);
        return nullptr;
    }
    GDALDataset *src = GDALDataset::Open(path, GDAL_OF_RASTER | GDAL_OF_VERBOSE_ERROR);
    if (!src) {
        ko_reader_close(reader);
        return nullptr;
    }
    auto ds = std::make_unique<KeepoutRasterDataset>();
    ds->src_ = src;
    ds->nRasterXSize = src->GetRasterXSize();
    ds->nRasterYSize = src->GetRasterYSize();
    const bool redact = s.policy.mode == KO_MODE_REDACT;
    if (redact) {
        size_t n = static_cast<size_t>(ds->nRasterXSize) * ds->nRasterYSize;
        ds->mask_.assign(n, 0);
        // The library's margin: the footprint's own sampling and the GPS/attitude error of a
        // few pixels at the image's scale (keepout release uses the same).
        double margin = ko_redact_margin_px(static_cast<uint32_t>(ds->nRasterXSize),
                                            static_cast<uint32_t>(ds->nRasterYSize));
        size_t redacted = 0;
        ko_status rst = KO_OK;
        // A flagged image whose site lands on no pixel cannot be shown redacted: refused.
        if (decision == KO_REDACT &&
            ((rst = ko_redact_mask(s.ctx, s.sites, s.dem, &shot, res.get(), ds->nRasterXSize,
                                   ds->nRasterYSize, margin, ds->mask_.data(), &redacted)) !=
                 KO_OK ||
             redacted == 0)) {
            CPLError(CE_Failure, CPLE_AppDefined,
                     "KEEPOUT: MODE=redact refuses %s: it is flagged and cannot be redacted: %s",
                     path, rst ? ko_errmsg(s.ctx) : "no pixel of the site could be placed");
            ko_reader_close(reader);
            return nullptr;
        }
        ds->SetMetadataItem("REDACTED_PIXELS", CPLSPrintf("%zu", redacted), "KEEPOUT");
        ds->mask_band_ = new KeepoutMaskBand(ds.get(), ds->nRasterXSize, ds->nRasterYSize);
    }
    for (int b = 1; b <= src->GetRasterCount(); b++)
        ds->SetBand(b, new KeepoutBand(ds.get(), b, src->GetRasterBand(b), redact));
    const char *verdict = ko_verdict_str(v.verdict);
    ds->SetMetadataItem("KEEPOUT_VERDICT", verdict);  // the one item gdal_translate carries
    ds->SetMetadataItem("VERDICT", verdict, "KEEPOUT");
    ds->SetMetadataItem("REASON", reason.c_str(), "KEEPOUT");
    ds->SetMetadataItem("MODE", mode, "KEEPOUT");
    ds->SetMetadataItem("DECISION", ko_decision_str(decision), "KEEPOUT");
    ds->SetMetadataItem("HIT_COUNT", CPLSPrintf("%zu", v.hit_count), "KEEPOUT");
    // SITES, CATEGORIES and REASON as text to show; the exact names are in HITS (JSON).
    ds->SetMetadataItem("SITES", sites.c_str(), "KEEPOUT");
    ds->SetMetadataItem("SITE_IDS", v.site_ids.c_str(), "KEEPOUT");
    ds->SetMetadataItem("CATEGORIES", Shown(s.ctx, v.categories).c_str(), "KEEPOUT");
    ds->SetMetadataItem("HITS", v.hits_json.c_str(), "KEEPOUT");
    ds->SetMetadataItem("FOOTPRINT", v.wkt.c_str(), "KEEPOUT");
    ds->SetMetadataItem("SITE_STORE", Shown(s.ctx, s.store).c_str(), "KEEPOUT");
    ds->SetDescription(info->pszFilename);
    // Releases (MODE=redact, strict) carry no position unless asked: gdal_translate copies
    // GCPs into every output, and a georeferenced redacted copy shows where the site is.
    if (res && CPLFetchBool(oo, "GEOREF", s.policy.mode == KO_MODE_TAG)) ds->Georeference(s, shot);
    ko_reader_close(reader);
    return ds.release();
}

/* ---------------------------------------------------------------------------------------- */
/* Vector: KEEPOUT:<directory | telemetry CSV | SRT>, layer "footprints"                     */

class KeepoutLayer final : public OGRLayer {
   public:
    KeepoutLayer(std::unique_ptr<Session> s, std::string path) : s_(std::move(s)), path_(path) {
        defn_ = new OGRFeatureDefn("footprints");
        defn_->Reference();
        defn_->SetGeomType(wkbPolygon);
        OGRSpatialReference *srs = new OGRSpatialReference();
        srs->SetWellKnownGeogCS("WGS84");
        srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        defn_->GetGeomFieldDefn(0)->SetSpatialRef(srs);
        srs->Release();
        const struct {
            const char *name;
            OGRFieldType type;
        } fields[] = {{"id", OFTString},       {"source", OFTString},     {"time", OFTString},
                      {"verdict", OFTString},  {"reason", OFTString},     {"hit_count", OFTInteger},
                      {"site_ids", OFTString}, {"site_names", OFTString}, {"categories", OFTString},
                      {"min_gsd_m", OFTReal}};
        for (const auto &f : fields) {
            OGRFieldDefn fd(f.name, f.type);
            defn_->AddFieldDefn(&fd);
        }
        SetDescription("footprints");
    }
    ~KeepoutLayer() override {
        ko_reader_close(reader_);
        defn_->Release();
    }
    OGRFeatureDefn *GetLayerDefn() override {
        return defn_;
    }
    void ResetReading() override {
        ko_reader_close(reader_);
        reader_ = nullptr;
        fid_ = 1;
        done_ = false;
    }
    int TestCapability(const char *cap) override {
        return EQUAL(cap, OLCStringsAsUTF8);
    }
    // The number of shots without checking them: the reader alone (metadata, no site query).
    // fiona and geopandas ask for it without force, which OGR's default answers with -1.
    GIntBig GetFeatureCount(int force) override {
        if (m_poFilterGeom || m_poAttrQuery) return OGRLayer::GetFeatureCount(force);
        if (count_ >= 0) return count_;
        try {
            ko_reader *r = nullptr;
            if (ko_reader_open(s_->ctx, path_.c_str(), &s_->ropts, &r) != KO_OK) {
                CPLError(CE_Failure, CPLE_OpenFailed, "KEEPOUT: %s", ko_errmsg(s_->ctx));
                return -1;
            }
            ko_shot shot;
            GIntBig n = 0;
            ko_status st;
            while ((st = ko_reader_next(r, &shot)) == KO_OK)
                n++;
            if (st != KO_DONE) {
                CPLError(CE_Failure, CPLE_FileIO, "KEEPOUT: %s", ko_errmsg(s_->ctx));
                n = -1;
            }
            ko_reader_close(r);
            count_ = n;
            return n;
        } catch (...) {
            CPLError(CE_Failure, CPLE_AppDefined, "KEEPOUT: unexpected error counting %s",
                     path_.c_str());
            return -1;
        }
    }
    OGRFeature *GetNextFeature() override {
        try {
            for (;;) {
                OGRFeature *f = Next();
                if (!f) return nullptr;
                if ((!m_poFilterGeom || FilterGeometry(f->GetGeometryRef())) &&
                    (!m_poAttrQuery || m_poAttrQuery->Evaluate(f)))
                    return f;
                delete f;
            }
        } catch (...) {
            CPLError(CE_Failure, CPLE_AppDefined, "KEEPOUT: unexpected error reading %s",
                     path_.c_str());
            return nullptr;
        }
    }

   private:
    OGRFeature *Next() {
        if (done_) return nullptr;
        if (!reader_ && ko_reader_open(s_->ctx, path_.c_str(), &s_->ropts, &reader_) != KO_OK) {
            CPLError(CE_Failure, CPLE_OpenFailed, "KEEPOUT: %s", ko_errmsg(s_->ctx));
            done_ = true;
            return nullptr;
        }
        ko_shot shot;
        ko_status st = ko_reader_next(reader_, &shot);
        if (st != KO_OK) {
            if (st != KO_DONE) CPLError(CE_Failure, CPLE_FileIO, "KEEPOUT: %s", ko_errmsg(s_->ctx));
            done_ = true;
            return nullptr;
        }
        Verdict v;
        auto res = Check(*s_, shot, v);
        auto *f = new OGRFeature(defn_);
        f->SetFID(fid_++);
        f->SetField("id", shot.id ? shot.id : "");
        f->SetField("source", shot.source ? shot.source : "");
        if (shot.time) f->SetField("time", shot.time);
        f->SetField("verdict", ko_verdict_str(v.verdict));
        f->SetField("reason", v.reason.c_str());
        f->SetField("hit_count", static_cast<int>(v.hit_count));
        f->SetField("site_ids", v.site_ids.c_str());
        f->SetField("site_names", v.site_names.c_str());
        f->SetField("categories", v.categories.c_str());
        if (!std::isnan(v.min_gsd_m)) f->SetField("min_gsd_m", v.min_gsd_m);
        OGRGeometry *g = nullptr;
        if (!v.wkt.empty() &&
            OGRGeometryFactory::createFromWkt(
                v.wkt.c_str(), defn_->GetGeomFieldDefn(0)->GetSpatialRef(), &g) == OGRERR_NONE)
            f->SetGeometryDirectly(g);
        return f;
    }

    std::unique_ptr<Session> s_;
    std::string path_;
    OGRFeatureDefn *defn_;
    ko_reader *reader_ = nullptr;
    GIntBig fid_ = 1;  // OGR's convention: feature ids from 1
    bool done_ = false;
    GIntBig count_ = -1;  // the shots of the input, once counted
};

class KeepoutVectorDataset final : public GDALDataset {
   public:
    explicit KeepoutVectorDataset(KeepoutLayer *layer) : layer_(layer) {}
    ~KeepoutVectorDataset() override {
        delete layer_;
    }
    int GetLayerCount() override {
        return 1;
    }
    OGRLayer *GetLayer(int i) override {
        return i == 0 ? layer_ : nullptr;
    }

   private:
    KeepoutLayer *layer_;
};

/* ---------------------------------------------------------------------------------------- */
/* Vector: KEEPOUT:<mission plan>, layers route, legs, exposures, conflicts                   */

// One layer of a checked plan: the library's records (ko_plan_record), held in memory (a plan
// is checked whole at open), so counts, extents and random reads are immediate.
class KeepoutPlanLayer final : public OGRLayer {
   public:
    KeepoutPlanLayer(ko_plan_layer kind, OGRwkbGeometryType geom) {
        defn_ = new OGRFeatureDefn(ko_plan_layer_name(kind));
        defn_->Reference();
        defn_->SetGeomType(geom);
        OGRSpatialReference *srs = new OGRSpatialReference();
        srs->SetWellKnownGeogCS("WGS84");
        srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
        defn_->GetGeomFieldDefn(0)->SetSpatialRef(srs);
        srs->Release();
        size_t n = 0;
        const ko_field *fields = ko_plan_fields(kind, &n);
        for (size_t i = 0; i < n; i++) {
            OGRFieldDefn fd(fields[i].name, fields[i].type == KO_FIELD_INTEGER ? OFTInteger64
                                            : fields[i].type == KO_FIELD_REAL  ? OFTReal
                                                                               : OFTString);
            defn_->AddFieldDefn(&fd);
        }
        SetDescription(defn_->GetName());
    }
    ~KeepoutPlanLayer() override {
        defn_->Release();
    }
    OGRFeatureDefn *GetLayerDefn() override {
        return defn_;
    }
    void ResetReading() override {
        next_ = 0;
    }
    int TestCapability(const char *cap) override {
        return EQUAL(cap, OLCStringsAsUTF8) || EQUAL(cap, OLCRandomRead) ||
               EQUAL(cap, OLCFastGetExtent) ||
               (EQUAL(cap, OLCFastFeatureCount) && !m_poFilterGeom && !m_poAttrQuery);
    }
    GIntBig GetFeatureCount(int force) override {
        if (m_poFilterGeom || m_poAttrQuery) return OGRLayer::GetFeatureCount(force);
        return static_cast<GIntBig>(features_.size());
    }
    OGRErr GetExtent(OGREnvelope *env, int) override {
        if (!has_extent_) return OGRERR_FAILURE;
        *env = extent_;
        return OGRERR_NONE;
    }
    OGRErr GetExtent(int geom_field, OGREnvelope *env, int force) override {
        if (geom_field != 0) return OGRERR_FAILURE;
        return GetExtent(env, force);
    }
    OGRFeature *GetFeature(GIntBig fid) override {
        if (fid < 1 || fid > static_cast<GIntBig>(features_.size())) return nullptr;
        return features_[static_cast<size_t>(fid - 1)]->Clone();
    }
    OGRFeature *GetNextFeature() override {
        while (next_ < features_.size()) {
            OGRFeature *f = features_[next_++].get();
            if ((!m_poFilterGeom || FilterGeometry(f->GetGeometryRef())) &&
                (!m_poAttrQuery || m_poAttrQuery->Evaluate(f)))
                return f->Clone();
        }
        return nullptr;
    }
    // Adds record i of the plan's layer (FID i + 1). false: reported with CPLError.
    bool Add(ko_context *ctx, const ko_plan *plan, ko_plan_layer kind, size_t i) {
        char *json = nullptr, *wkt = nullptr;
        if (ko_plan_record(ctx, plan, kind, i, &json, &wkt) != KO_OK) {
            CPLError(CE_Failure, CPLE_AppDefined, "KEEPOUT: %s", ko_errmsg(ctx));
            return false;
        }
        std::string props = Take(json), geom = Take(wkt);
        CPLJSONDocument doc;
        if (!doc.LoadMemory(props)) {
            CPLError(CE_Failure, CPLE_AppDefined, "KEEPOUT: record %zu of layer %s is not JSON",
                     i + 1, defn_->GetName());
            return false;
        }
        CPLJSONObject root = doc.GetRoot();
        auto f = std::make_unique<OGRFeature>(defn_);
        f->SetFID(static_cast<GIntBig>(i) + 1);  // OGR's convention: feature ids from 1
        for (int k = 0; k < defn_->GetFieldCount(); k++) {
            const char *name = defn_->GetFieldDefn(k)->GetNameRef();
            CPLJSONObject v = root.GetObj(name);
            if (!v.IsValid() || v.GetType() == CPLJSONObject::Type::Null) {
                f->SetFieldNull(k);
            } else if (v.GetType() == CPLJSONObject::Type::String) {
                f->SetField(k, v.ToString().c_str());
            } else if (defn_->GetFieldDefn(k)->GetType() == OFTInteger64) {
                f->SetField(k, static_cast<GIntBig>(v.ToLong()));
            } else {
                f->SetField(k, v.ToDouble());
            }
        }
        OGRGeometry *g = nullptr;
        if (!geom.empty() &&
            OGRGeometryFactory::createFromWkt(
                geom.c_str(), defn_->GetGeomFieldDefn(0)->GetSpatialRef(), &g) == OGRERR_NONE &&
            g) {
            if (defn_->GetGeomType() == wkbMultiPolygon)
                g = OGRGeometryFactory::forceToMultiPolygon(g);
            OGREnvelope e;
            g->getEnvelope(&e);
            if (has_extent_)
                extent_.Merge(e);
            else
                extent_ = e;
            has_extent_ = true;
            f->SetGeometryDirectly(g);
        }
        features_.push_back(std::move(f));
        return true;
    }

   private:
    OGRFeatureDefn *defn_;
    std::vector<std::unique_ptr<OGRFeature>> features_;
    size_t next_ = 0;
    OGREnvelope extent_;
    bool has_extent_ = false;
};

class KeepoutPlanDataset final : public GDALDataset {
   public:
    // Reads, samples and checks the plan at path with the open options; nullptr: reported.
    static GDALDataset *Open(GDALOpenInfo *info, const char *path) {
        CSLConstList oo = info->papszOpenOptions;
        auto s = std::make_unique<Session>();
        if (!s->Init(oo)) return nullptr;
        ko_route_options ropts;
        ko_route_options_init(&ropts);
        ko_camera camera;
        const char *spec = CSLFetchNameValue(oo, "CAMERA");
        if (spec) {
            if (ko_camera_from_spec(s->ctx, spec, &camera) != KO_OK) {
                CPLError(CE_Failure, CPLE_IllegalArg, "KEEPOUT: CAMERA=%s: %s", spec,
                         ko_errmsg(s->ctx));
                return nullptr;
            }
            ropts.camera = &camera;
        }
        double buffer = 0;
        if (!PlanNumber(oo, "GIMBAL_PITCH", -90, 30, &ropts.gimbal_pitch_deg) ||
            !PlanNumber(oo, "HEIGHT", 0.5, 10000, &ropts.height_m) ||
            !PlanNumber(oo, "TAKEOFF_ALT", -500, 9000, &ropts.takeoff_alt_m) ||
            !PlanNumber(oo, "SPACING", 0.5, 10000, &ropts.spacing_m) ||
            !PlanNumber(oo, "BUFFER", 0, 10000, &buffer))
            return nullptr;
        ropts.continuous = CPLFetchBool(oo, "CONTINUOUS", false);
        s->opts.margin_m = buffer;
        ko_route *rt = nullptr;
        if (ko_route_open(s->ctx, path, &rt) != KO_OK) {
            CPLError(CE_Failure, CPLE_OpenFailed, "KEEPOUT: %s", ko_errmsg(s->ctx));
            return nullptr;
        }
        std::unique_ptr<ko_route, void (*)(ko_route *)> route(rt, ko_route_destroy);
        ko_exposures *ex = nullptr;
        ko_status st = ko_route_exposures(s->ctx, rt, &ropts, &ex);
        if (st != KO_OK) {
            CPLError(CE_Failure, CPLE_OpenFailed, "KEEPOUT: %s%s", ko_errmsg(s->ctx),
                     st == KO_ERR_ARG ? "; give the open option CAMERA=focal35=MM (or "
                                        "CAMERA=MAKE/MODEL,focal=MM)"
                                      : "");
            return nullptr;
        }
        std::unique_ptr<ko_exposures, void (*)(ko_exposures *)> exposures(ex, ko_exposures_destroy);
        ko_plan *plan = nullptr;
        if (ko_plan_check(s->ctx, s->sites, rt, ex, &s->opts, nullptr, nullptr, &plan) != KO_OK) {
            CPLError(CE_Failure, CPLE_AppDefined, "KEEPOUT: site store %s failed: %s",
                     s->store.c_str(), ko_errmsg(s->ctx));
            return nullptr;
        }
        std::unique_ptr<ko_plan, void (*)(ko_plan *)> checked(plan, ko_plan_destroy);
        auto ds = std::make_unique<KeepoutPlanDataset>();
        const struct {
            ko_plan_layer kind;
            OGRwkbGeometryType geom;
        } layers[] = {{KO_PLAN_ROUTE, wkbLineString},
                      {KO_PLAN_LEGS, wkbMultiPolygon},
                      {KO_PLAN_EXPOSURES, wkbPolygon},
                      {KO_PLAN_CONFLICTS, wkbPoint}};
        for (const auto &l : layers) {
            ds->layers_.push_back(std::make_unique<KeepoutPlanLayer>(l.kind, l.geom));
            for (size_t i = 0; i < ko_plan_record_count(plan, l.kind); i++)
                if (!ds->layers_.back()->Add(s->ctx, plan, l.kind, i)) return nullptr;
        }
        ds->SetDescription(info->pszFilename);
        return ds.release();
    }
    int GetLayerCount() override {
        return static_cast<int>(layers_.size());
    }
    OGRLayer *GetLayer(int i) override {
        return i >= 0 && i < GetLayerCount() ? layers_[static_cast<size_t>(i)].get() : nullptr;
    }

   private:
    // A number option within [lo, hi] into *v (absent: *v untouched); false: reported.
    static bool PlanNumber(CSLConstList oo, const char *name, double lo, double hi, double *v) {
        const char *text = CSLFetchNameValue(oo, name);
        if (!text) return true;
        char *end = nullptr;
        double x = CPLStrtod(text, &end);
        if (!end || end == text || *end || !(x >= lo && x <= hi)) {
            CPLError(CE_Failure, CPLE_IllegalArg, "KEEPOUT: %s=%s: must be a number in [%g, %g]",
                     name, text, lo, hi);
            return false;
        }
        *v = x;
        return true;
    }
    std::vector<std::unique_ptr<KeepoutPlanLayer>> layers_;
};

int Identify(GDALOpenInfo *info) {
    return STARTS_WITH_CI(info->pszFilename, kPrefix);
}

GDALDataset *Open(GDALOpenInfo *info) {
    try {
        if (!Identify(info)) return nullptr;
        const char *path = info->pszFilename + strlen(kPrefix);
        const bool want_raster = (info->nOpenFlags & GDAL_OF_RASTER) != 0;
        const bool want_vector = (info->nOpenFlags & GDAL_OF_VECTOR) != 0;
        // Nothing below may stat or open a FIFO, even one beneath /vsizip/ (GDAL would open
        // the archive to stat inside it, and block): refused in every mode.
        if (ko_path_check(nullptr, path) != KO_OK) {
            CPLError(CE_Failure, CPLE_OpenFailed,
                     "KEEPOUT: nothing checked: %s is not a regular file, or the file beneath "
                     "its /vsi prefixes is not (a FIFO, device or socket): only regular files "
                     "are read",
                     path);
            return nullptr;
        }
        // A mission plan (DJI WPML, Litchi CSV, QGC .plan / WPL) is its route, legs, exposures
        // and conflicts layers; a series of shots (directory, telemetry table, SRT) the
        // footprints layer; anything else an image.
        if (ko_input_is_route(path)) {
            if (!want_vector) {
                CPLError(CE_Failure, CPLE_OpenFailed,
                         "KEEPOUT: %s is a mission plan: open it as vector (ogrinfo, ogr2ogr) to "
                         "get its route, legs, exposures and conflicts layers",
                         path);
                return nullptr;
            }
            return KeepoutPlanDataset::Open(info, path);
        }
        if (ko_input_is_series(path)) {
            if (!want_vector) {
                CPLError(CE_Failure, CPLE_OpenFailed,
                         "KEEPOUT: %s is a directory, telemetry CSV or SRT: open it as vector "
                         "(ogrinfo, ogr2ogr) to get its footprints layer",
                         path);
                return nullptr;
            }
            auto s = std::make_unique<Session>();
            if (!s->Init(info->papszOpenOptions)) return nullptr;
            return new KeepoutVectorDataset(new KeepoutLayer(std::move(s), path));
        }
        if (!want_raster) return nullptr;
        // Rasters are not opened for writing (pixels written to a KEEPOUT: dataset would go
        // nowhere). Vector opens in update mode are served read-only, as ogrinfo -sql and QGIS
        // ask for update first and take what they get: its layer has no write capability.
        if (info->eAccess == GA_Update) {
            CPLError(CE_Failure, CPLE_NotSupported,
                     "KEEPOUT: %s: a KEEPOUT: raster is read-only; write to a copy "
                     "(gdal_translate KEEPOUT:%s out.tif)",
                     path, path);
            return nullptr;
        }
        return KeepoutRasterDataset::Open(info, path);
    } catch (...) {
        CPLError(CE_Failure, CPLE_AppDefined, "KEEPOUT: unexpected error opening %s",
                 info->pszFilename);
        return nullptr;
    }
}

}  // namespace

extern "C" __attribute__((visibility("default"))) void GDALRegister_KEEPOUT();

extern "C" void GDALRegister_KEEPOUT() {
    try {
        if (!GDAL_CHECK_VERSION("KEEPOUT")) return;
        if (GDALGetDriverByName("KEEPOUT")) return;
        auto *d = new GDALDriver();
        d->SetDescription("KEEPOUT");
        d->SetMetadataItem(GDAL_DCAP_RASTER, "YES");
        d->SetMetadataItem(GDAL_DCAP_VECTOR, "YES");
        d->SetMetadataItem(GDAL_DCAP_VIRTUALIO, "YES");
        d->SetMetadataItem(GDAL_DMD_LONGNAME,
                           "keepout: drone imagery checked against protected sites");
        d->SetMetadataItem(GDAL_DMD_CONNECTION_PREFIX, kPrefix);
        d->SetMetadataItem(GDAL_DMD_HELPTOPIC, "docs/DESIGN.md (GDAL driver KEEPOUT)");
        d->SetMetadataItem(
            GDAL_DMD_OPENOPTIONLIST,
            "<OpenOptionList>"
            "  <Option name='SITES' type='string' description='keepout site store (SpatiaLite); "
            "default: config option / environment KEEPOUT_SITES'/>"
            "  <Option name='MODE' type='string-select' default='tag' description='tag: pass "
            "pixels, write the verdict in the KEEPOUT metadata domain; redact: also blank the "
            "pixels that show a site and refuse images that could not be checked or are "
            "unknown; strict: refuse flagged or unknown images'>"
            "    <Value>tag</Value><Value>redact</Value><Value>strict</Value>"
            "  </Option>"
            "  <Option name='DEM' type='string' description='elevation raster for terrain "
            "footprints'/>"
            "  <Option name='MAX_RANGE' type='float' description='ground range in metres at "
            "which rays are cut (default 2000)'/>"
            "  <Option name='UNKNOWN_IS' type='string-select' default='flagged' "
            "description='how MODE=strict treats images checked as unknown (never those "
            "that could not be checked)'>"
            "    <Value>flagged</Value><Value>clear</Value>"
            "  </Option>"
            "  <Option name='ASSUME_NADIR' type='boolean' default='NO' description='frames "
            "without gimbal attitude looked straight down'/>"
            "  <Option name='EVERY_N' type='int' default='1' description='only every N-th video "
            "frame'/>"
            "  <Option name='INTERVAL' type='float' default='0' description='at most one video "
            "frame per this many seconds'/>"
            "  <Option name='FOCAL35' type='float' description='35 mm-equivalent focal length "
            "of the video camera where the .SRT does not say'/>"
            "  <Option name='INCLUDE' type='string' description='in directories, only files "
            "matching these comma-separated globs'/>"
            "  <Option name='EXCLUDE' type='string' description='in directories, skip files "
            "matching these comma-separated globs'/>"
            "  <Option name='CAMERA' type='string' description='mission plans: the camera where "
            "the plan does not describe it: focal35=MM[,size=WxH], MAKE/MODEL,focal=MM, "
            "focal=MM,sensor=WxH or a camera by name such as Mavic 3E (as keepout route "
            "--camera); photos whose files do not describe their camera: a camera by name "
            "(e.g. Zenmuse H20T wide; docs/DESIGN.md)'/>"
            "  <Option name='GIMBAL_PITCH' type='float' description='mission plans: every "
            "exposure at this gimbal pitch (-90 nadir)'/>"
            "  <Option name='HEIGHT' type='float' description='mission plans: every waypoint "
            "this many metres above take-off'/>"
            "  <Option name='TAKEOFF_ALT' type='float' description='mission plans: ground "
            "altitude at take-off (EGM96 m) for absolute heights'/>"
            "  <Option name='SPACING' type='float' default='10' description='mission plans: "
            "sample video every this many metres'/>"
            "  <Option name='CONTINUOUS' type='boolean' default='NO' description='mission "
            "plans: the camera records video over the whole route'/>"
            "  <Option name='BUFFER' type='float' default='0' description='mission plans: widen "
            "every footprint by this many metres'/>"
            "  <Option name='GEOREF' type='boolean' description='ground control points "
            "(EPSG:4326) from the camera model, so gdalwarp and QGIS place the photo; default "
            "YES with MODE=tag, NO with redact and strict (a released copy would carry the "
            "position)'/>"
            "</OpenOptionList>");
        d->pfnIdentify = Identify;
        d->pfnOpen = Open;
        GetGDALDriverManager()->RegisterDriver(d);
    } catch (...) {
        CPLError(CE_Failure, CPLE_AppDefined, "KEEPOUT: driver registration failed");
    }
}
