import sys

from scgru_core.cli.main import main

if __name__ == "__main__":  # a spawned worker process imports this module too; only the command runs main
    sys.exit(main())
