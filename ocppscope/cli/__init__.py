"""The `ocppscope` command line, one module per command or command group."""
