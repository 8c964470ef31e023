import sys

if sys.argv[1:2] == ["query"]:  # needs no Azure SDK: runs from `make demo`'s venv
    from ops.query import main as query_main

    raise SystemExit(query_main(sys.argv[2:]))

from ops.cli import main

raise SystemExit(main())
