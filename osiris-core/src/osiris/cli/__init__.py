"""The ``osiris`` command line. Subcommands live in their own modules and are imported lazily."""
