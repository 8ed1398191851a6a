import sys

from sgam.cli import main

sys.exit(main())
