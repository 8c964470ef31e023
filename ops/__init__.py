"""Operations tool: run and verify the `extract-bags` pipeline of a deployed stack, and keep the
README's configuration reference in sync with Pulumi.yaml. Run it as `python -m ops --help`."""
