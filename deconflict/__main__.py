"""`python -m deconflict`: the same command line as `deconflict`."""

from deconflict.cli.main import main

if __name__ == "__main__":
    main()
