"""The ``voxguard`` command line: one module per command group."""
