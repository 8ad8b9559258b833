"""Unit tests of gsomia.audit."""
