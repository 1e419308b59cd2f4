"""`python -m iopkit` is the same as the `iopkit` command."""

from iopkit.cli import main

if __name__ == "__main__":
    main()
