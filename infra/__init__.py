"""The Pulumi program (entry point: __main__.py -> infra.program.main) and its offline tools."""
