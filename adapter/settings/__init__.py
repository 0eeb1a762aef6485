"""The local machine: the environment (the only reader of it), the practice's
configuration file, and private files and folders."""
