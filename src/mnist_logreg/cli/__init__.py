"""Command-line interface: one module per command, each a thin wrapper over one library function.

Only this layer parses arguments, prints, and writes files.
"""
