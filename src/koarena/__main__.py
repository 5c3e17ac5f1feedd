import sys

from koarena.cli import main

sys.exit(main())
