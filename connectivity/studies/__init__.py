"""Studies: whole runs that combine analyses and write their outputs.

The demo on the embedded data and the scenario-file run. A study reads its inputs,
calls the public functions of the stages before it, and writes files; the command-line
tool calls one study or one public function per subcommand.
"""
