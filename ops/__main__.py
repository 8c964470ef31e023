import sys

if sys.argv[1:2] == ["query"]:  # needs no Azure SDK: runs from `make demo`'s venv
    from ops.query import main as query_main

    raise SystemExit(query_main(sys.argv[2:]))

try:
    from ops.cli import main
except ModuleNotFoundError as missing:  # `make demo`'s venv has the apps, not the Azure SDKs
    raise SystemExit(
        f"python -m ops: {missing.name} is not installed here (`make demo` installs the apps "
        "alone): run `make setup`, then .venv/bin/python -m ops ..."
    ) from None

raise SystemExit(main())
