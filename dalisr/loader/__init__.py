"""Loader: the PyTorch-facing end of the flow.

`build` turns options into a source and a pipeline, `dali_loader` iterates it
through DALIGenericIterator, `lifecycle` and `watchdog` stop it cleanly, and
`explain` turns DALI's failures into messages that name the sample and fix.
"""
