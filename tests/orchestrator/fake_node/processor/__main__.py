import sys

from tests.orchestrator.fake_processor import main

sys.exit(main(sys.argv[1:]))
