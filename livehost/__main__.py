import sys

from livehost.cli import main

sys.exit(main())
