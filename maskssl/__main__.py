"""``python -m maskssl`` (and ``torchrun -m maskssl``) run the CLI."""

import sys

from maskssl.cli.main import main

sys.exit(main())
