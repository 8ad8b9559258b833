"""gsomia: exchange classified military information under a GSOMIA, and prove every rule was kept.

The package is layered (see ``docs/architecture.md``): a pure core (markings, labels, agreements,
policy) that does no I/O and never reads a clock, the catalog that loads data files, and the faces
(CLI) on top.
"""

__version__ = "0.1.0"
