"""Run wing: the chain builder, the executors and their transport, the one job (guards, lock,
resume, commit), checkpoints, accounts and the report."""
