"""Names inside an output folder's state directory, shared by the writers and the guards."""

STATE_DIR = ".cleaner"
SUCCESS = "_SUCCESS"
CHECKPOINT = "checkpoint.pkl"
