"""``python -m naheo_spec ...``: the ``naheo-spec`` command line (:func:`naheo_spec.cli.main.main`)."""
import sys

from naheo_spec.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
