"""The leaf layer: the document record, character classes, text primitives, the step
protocol and the run parameters. It imports nothing else from zhclean."""
