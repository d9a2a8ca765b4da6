import sys

from pde2gnn.cli.commands import main

sys.exit(main())
