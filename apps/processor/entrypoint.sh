#!/bin/sh
# Image entry point. Azure Batch may hand a container task's command line to the
# entry point as arguments, or run it in place of the entry point (UNCONFIRMED which),
# so both forms work:
#   docker run IMAGE extract BAG OUTDIR ...          -> python -m processor extract ...
#   docker run IMAGE python -m processor extract ... -> run as given
set -eu
PYTHON="${PROCESSOR_PYTHON:-python}"
case "${1:-}" in
    extract | merge | info | -h | --help | "")
        exec "$PYTHON" -m processor "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
