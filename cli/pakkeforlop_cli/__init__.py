"""The ``pakkeforlop`` command-line application (Typer); all domain logic lives in the library."""
