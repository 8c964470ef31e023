#!/bin/sh
# Image entry point. Azure Batch may hand a container task's command line to the
# entry point as arguments, or run it in place of the entry point (UNCONFIRMED which),
# so both forms work:
#   docker run IMAGE extract BAG OUTDIR ...          -> python -m processor extract ...
#   docker run IMAGE python -m processor extract ... -> run as given
set -eu

# Batch runs container command lines without a shell, so it expands no variables in them
# (azure-batch models BatchTaskCreateOptions.command_line), and the orchestrator cannot know
# this node's mounts folder. It writes data lake paths as '$AZ_BATCH_NODE_MOUNTS_DIR/...',
# literally: they are resolved here, on the node that runs the task, from the variable Batch
# sets for every task (docs/contracts.md §2).
for arg do
    shift
    case $arg in
        '$AZ_BATCH_NODE_MOUNTS_DIR'/*)
            if [ -z "${AZ_BATCH_NODE_MOUNTS_DIR:-}" ]; then
                echo "processor-entrypoint: AZ_BATCH_NODE_MOUNTS_DIR is not set, so $arg names no" \
                    "folder: run the task on a Batch pool whose mountConfiguration mounts the data lake" >&2
                exit 1
            fi
            arg="$AZ_BATCH_NODE_MOUNTS_DIR/${arg#'$AZ_BATCH_NODE_MOUNTS_DIR/'}"
            ;;
    esac
    set -- "$@" "$arg"
done

PYTHON="${PROCESSOR_PYTHON:-python}"
case "${1:-}" in
    extract | merge | info | -h | --help | "")
        exec "$PYTHON" -m processor "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
