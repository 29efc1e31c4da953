"""The ``iqx`` command line, built from small subcommand modules."""
