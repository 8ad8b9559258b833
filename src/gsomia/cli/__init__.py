"""The ``gsomia`` command line: a thin face over the core (see ``gsomia --help``)."""
