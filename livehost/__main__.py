import sys

from livehost.main import main

sys.exit(main())
