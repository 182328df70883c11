#!/usr/bin/env bash
# The one dependency list of keepout. README, .ci/run and users all call this.
# Debian 12 (bookworm); needs root (or sudo). Safe to re-run.
set -euo pipefail

PACKAGES=(
    # toolchain
    build-essential cmake pkg-config clang clang-format clang-tidy libclang-rt-14-dev
    # libraries libkeepout links
    libgdal-dev libgeos-dev libproj-dev libsqlite3-dev libspatialite-dev
    libsqlite3-mod-spatialite libexpat1-dev libjson-c-dev
    # runtime data: PROJ grids (egm96_15.gtx) and the GDAL tools the tests drive
    proj-data proj-bin gdal-bin gdal-data python3-gdal python3-rasterio sqlite3
    # GIS clients the driver is tested with
    python3-fiona python3-geopandas python3-qgis qgis-providers
    # tests and benchmarks
    check libimage-exiftool-perl hyperfine postgresql-15 postgresql-15-postgis-3
    # the OSM import tests count the preset's tags independently with osmium
    osmium-tool
    # the distributed test (tests/cli/test_tag_slurm.py) starts its own single-node Slurm
    # cluster: slurmctld, slurmd, the client commands and munge (their Debian services are not
    # used: the test runs its own daemons with its own configuration, key, sockets and ports)
    slurm-wlm munge
    # the sidecar test checks fsync before rename in the system calls; the release test stops
    # keepout between reading a photo and writing it (gdb) to swap the photo there
    strace gdb
    # the route map test renders the SVG in a headless browser
    chromium fonts-dejavu-core
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
