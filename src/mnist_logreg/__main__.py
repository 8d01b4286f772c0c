"""``python -m mnist_logreg`` runs the command-line tool."""

from mnist_logreg.cli.app import main

if __name__ == "__main__":
    main()
