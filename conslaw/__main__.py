"""``python -m conslaw`` runs the command-line interface."""
from conslaw.cli import main

if __name__ == "__main__":
    main()
