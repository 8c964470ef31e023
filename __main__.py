"""Pulumi entry point (`pulumi up` runs this file): the program itself is infra.program."""

from infra.program import main

main()
